import { setMaxListeners } from 'node:events';
import { ApiError } from '../../src/api';
import type { SuperSimClient } from '../../src/api';
import { CommandValidationError, fieldLabel, isCommandStatus } from '../../src/commands';
import { ReachRefusal } from '../../src/reaching';
import type { CommandResource } from '../../src/reaching';
import { createCommand } from '../../src/sending';
import type { CreateRequest } from '../../src/sending';
import { DeliveryTracker, clientFetcher } from '../../src/tracking';
import type { TrackedKind } from '../../src/tracking';
import type { AccountNode } from '../supersim-account';
import { installCommandLog } from './command-log';
import { FollowUps, hasPendingFile } from './follow-ups';
import type { DoneFunction, Node, NodeAPI, NodeDefinition, NodeMessage, NodeStatus, SendFunction } from './red';
import { useSharedRedis } from './shared-state';
import { ThrottledStatus, withSuffix } from './status';
import { timeOfDay } from './time-of-day';

/** What a send node does with one message, once checked: the request, and what kind of command it creates. */
export interface PreparedSend {
  kind: TrackedKind;
  /** The checked create parameters, as the user asked (a CallbackUrl of theirs included). */
  request: CreateRequest;
  deliveryReceipt?: boolean;
  /** The SIM as the user gave it (unique name or SID): the outputs' msg.topic when the message has none. */
  sim?: string;
}

export interface SendNodeConfig extends NodeDefinition {
  account?: string;
  track?: boolean | string;
  trackTimeout?: number | string;
  waitAnswer?: boolean | string;
  answerTimeout?: number | string;
  retryFor?: number | string;
}

export const MAX_TRACKED_PER_NODE = 1000;

/** A short reason for the node's status: the full message goes to the Catch node. */
export function shortReason(err: unknown): string {
  if (err instanceof CommandValidationError) {
    const field = fieldLabel(err.field);
    return err.limit !== undefined ? `${field} (limit ${err.limit})` : field;
  }
  if (err instanceof ApiError) {
    // A 2xx that could not be read is no refusal: "HTTP 201" in red would read as one.
    if (err.status !== undefined && err.status >= 300) return err.code !== undefined ? `HTTP ${err.status} (${err.code})` : `HTTP ${err.status}`;
    return err.networkCode ? `${err.kind} ${err.networkCode}` : err.kind;
  }
  return err instanceof Error ? err.name : 'error';
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** The API's schema makes every field nullable: only a non-empty string is a status to show. */
interface CommandState {
  status?: unknown;
  error_code?: unknown;
}

function hasTopic(msg: NodeMessage): boolean {
  return msg.topic !== undefined && msg.topic !== null && msg.topic !== '';
}

/**
 * The runtime shared by the two send nodes: check locally, send through the account's client, output
 * the created resource, then follow its status when asked. Every message ends in an output or in
 * done(err), a redeploy included: messages still waiting for a slot are given up (never sent) and
 * requests already on the wire are waited for.
 */
export function setUpSendNode(
  RED: NodeAPI,
  node: Node,
  config: SendNodeConfig,
  prepare: (msg: NodeMessage) => PreparedSend,
): void {
  const type = node.type;
  const accountNode = (config.account ? RED.nodes.getNode(config.account) : null) as AccountNode | null;
  const usable = accountNode !== null && !accountNode.account.configError;
  const track = config.track === true || config.track === 'true';
  const trackTimeoutMs = Math.max(1, Number(config.trackTimeout) || 300) * 1000;
  const waitAnswer = config.waitAnswer === true || config.waitAnswer === 'true';
  const answerTimeoutMs = Math.max(1, Number(config.answerTimeout) || 60) * 1000;
  const retryForMs = Math.max(0, Math.floor(Number(config.retryFor) || 0)) * 1000;
  const stopping = new AbortController();
  // Every queued message listens for the stop: thousands of listeners are expected, not a leak.
  setMaxListeners(0, stopping.signal);
  const inFlight = new Set<Promise<void>>();
  let tracker: DeliveryTracker | undefined;
  let followUps: FollowUps | undefined;
  const status = new ThrottledStatus(node);
  const rows = installCommandLog(RED).forNode(node);

  if (!accountNode) status.show({ fill: 'red', shape: 'ring', text: RED._(`${type}.status.no-account`) });
  else if (accountNode.account.configError) status.show({ fill: 'red', shape: 'ring', text: RED._(`${type}.status.account-error`) });

  // While any message is on its way the node says so; once idle it shows the last one's outcome.
  // Outcomes are kept as functions: the text (i18n, time of day) is built only for what is shown.
  let lastOutcome: () => NodeStatus = () => ({});
  // Redis away: the node says it goes on with local state until Redis is back (refreshed on each change).
  const shared = useSharedRedis(RED, node, () => status.show(current));
  const current = (): NodeStatus => withSuffix(currentWithoutRedis(), shared.redis?.health === 'down' ? RED._(`${type}.status.redis-down`) : '');
  const currentWithoutRedis = (): NodeStatus => {
    if (inFlight.size > 0) return { fill: 'blue', shape: 'dot', text: RED._(`${type}.status.sending`, { count: inFlight.size }) };
    const shown = lastOutcome();
    const counts = followUps?.pending.counts;
    const parts: string[] = [];
    if (counts && counts.waiting > 0) parts.push(RED._(`${type}.status.waiting`, { count: counts.waiting }));
    if (counts && counts.retrying > 0) parts.push(RED._(`${type}.status.retrying`, { count: counts.retrying }));
    if (parts.length === 0) return shown;
    const text = shown.text ? `${String(shown.text)} · ${parts.join(', ')}` : parts.join(', ');
    return { fill: shown.fill ?? 'blue', shape: shown.shape ?? 'ring', text };
  };
  const showOutcome = (outcome: () => NodeStatus): void => {
    lastOutcome = outcome;
    status.show(current);
  };

  /** What the node shows for a command's latest known state: created, a status and when, or why it failed. */
  const outcomeOf = (resource: unknown, at: Date): NodeStatus => {
    const state: CommandState = typeof resource === 'object' && resource !== null ? resource : {};
    const time = timeOfDay(at);
    if (state.status === 'failed' && state.error_code !== undefined && state.error_code !== null && state.error_code !== '') {
      return { fill: 'red', shape: 'ring', text: RED._(`${type}.status.failed`, { reason: String(state.error_code) }) };
    }
    if (state.status === 'failed') return { fill: 'red', shape: 'ring', text: RED._(`${type}.status.ok`, { status: 'failed', time }) };
    if (typeof state.status !== 'string' || state.status === '') return { fill: 'green', shape: 'dot', text: RED._(`${type}.status.created`, { time }) };
    return { fill: 'green', shape: 'dot', text: RED._(`${type}.status.ok`, { status: state.status, time }) };
  };

  if (usable && track) {
    tracker = new DeliveryTracker({
      hub: accountNode.account.hub,
      maxTracked: MAX_TRACKED_PER_NODE,
      fetch: clientFetcher(accountNode.account.client, stopping.signal),
    });
  }
  const followingUp = waitAnswer || retryForMs > 0;
  if (usable && (followingUp || hasPendingFile(RED, node.id))) {
    followUps = new FollowUps({
      RED,
      node,
      account: accountNode.account,
      trackingCallbackUrl: () => accountNode.trackingCallbackUrl(),
      track,
      durable: retryForMs > 0 || hasPendingFile(RED, node.id),
      changed: () => status.show(current),
      outcome: (kind, code) => {
        const at = new Date();
        if (kind === 'answered') showOutcome(() => ({ fill: 'green', shape: 'dot', text: RED._(`${type}.status.answered`, { time: timeOfDay(at) }) }));
        else showOutcome(() => ({ fill: 'red', shape: 'ring', text: RED._(`${type}.status.failed`, { reason: RED._(`${type}.status.reason-${code}`) }) }));
      },
      statusChanged: (resource) => {
        const at = new Date();
        showOutcome(() => outcomeOf(resource, at));
      },
    });
  }

  if (usable && shared.redis?.health === 'down') status.show(current);

  /** Sends one checked message through the follow-up engine: recorded first when kept trying. */
  async function sendFollowedUp(
    prepared: PreparedSend,
    msg: NodeMessage,
  ): Promise<{ resource: CommandResource; follow: () => void; announce: boolean }> {
    const engine = followUps as FollowUps;
    await engine.ready;
    return engine.pending.send({
      kind: prepared.kind,
      sim: prepared.sim ?? '?',
      request: prepared.request as unknown as Record<string, unknown>,
      deliveryReceipt: prepared.deliveryReceipt,
      message: RED.util.cloneMessage(msg) as Record<string, unknown>,
      retryForMs,
      answerTimeoutMs: waitAnswer ? answerTimeoutMs : undefined,
      reportStatus: track || retryForMs > 0,
      followMs: trackTimeoutMs,
    });
  }

  /** Resolves once the message is done; it rejects only for a failure after done(), never to be reported as the message's. */
  async function handle(msg: NodeMessage, send: SendFunction, done: DoneFunction): Promise<void> {
    let prepared: PreparedSend;
    let resource: CommandResource;
    let trackingTemplate: NodeMessage | undefined;
    let mode: 'callback' | 'poll' = 'poll';
    let follow: (() => void) | undefined;
    let announce = true;
    let row: string | undefined;
    try {
      if (!accountNode) throw new Error(RED._(`${type}.errors.no-account`));
      const client: SuperSimClient = accountNode.account.client;
      prepared = prepare(msg);
      // The collapsed Debug line shows the topic: whose command it is, unless the flow chose a topic.
      if (!hasTopic(msg) && prepared.sim !== undefined) msg.topic = prepared.sim;
      row = rows.begin(msg._msgid, prepared);
      if (followingUp && followUps) {
        ({ resource, follow, announce } = await sendFollowedUp(prepared, msg));
      } else {
        trackingTemplate = tracker ? RED.util.cloneMessage(msg) : undefined;
        const userCallbackUrl = (prepared.request as { callbackUrl?: string }).callbackUrl;
        mode = userCallbackUrl === undefined && accountNode.trackingCallbackUrl() !== undefined ? 'callback' : 'poll';
        const trackingUrl = tracker && mode === 'callback' ? accountNode.trackingCallbackUrl() : undefined;
        resource = (await createCommand(client, prepared.kind, prepared.request, trackingUrl, stopping.signal)) as unknown as CommandResource;
      }
    } catch (err) {
      const error = asError(err);
      if (row !== undefined) rows.failed(row, error);
      const reason = error instanceof ReachRefusal ? RED._(`${type}.status.reason-${error.code}`) : shortReason(error);
      showOutcome(() => ({ fill: 'red', shape: 'ring', text: RED._(`${type}.status.failed`, { reason }) }));
      done(error);
      return;
    }

    // The command exists from here on: the message is done exactly once and never as a failure, since
    // a Catch node that resends failed messages would send the command twice.
    try {
      rows.created(row, resource);
      msg.payload = resource;
      // The node closed while the create was on the wire: the node that resumes the message announces it.
      if (announce) send([msg, null]);
    } finally {
      const at = new Date();
      showOutcome(() => outcomeOf(resource, at));
      done();
    }
    if (follow) {
      follow();
      return;
    }

    if (tracker && trackingTemplate) {
      const template = trackingTemplate;
      const state = resource as { sid?: unknown; status?: unknown };
      if (typeof state.sid !== 'string' || state.sid === '' || !isCommandStatus(state.status)) {
        node.warn(RED._(`${type}.errors.tracking-unreadable`, { sid: typeof state.sid === 'string' && state.sid !== '' ? state.sid : '?' }));
        return;
      }
      const sid = state.sid;
      const started = tracker.track({
        kind: prepared.kind,
        resource: { ...resource, sid, status: state.status },
        mode,
        timeoutMs: trackTimeoutMs,
        deliveryReceipt: prepared.deliveryReceipt,
        onUpdate: (update) => {
          const out = RED.util.cloneMessage(template);
          out.payload = update.resource;
          send([null, out]);
          rows.status(row, update.resource);
          const at = new Date();
          showOutcome(() => outcomeOf(update.resource, at));
        },
        onEnd: (reason, error) => {
          if (reason === 'error') node.warn(RED._(`${type}.errors.tracking-failed`, { sid, message: error?.message ?? '' }));
          if (reason === 'timeout') node.log(RED._(`${type}.errors.tracking-timeout`, { sid }));
        },
      });
      if (!started) node.warn(RED._(`${type}.errors.tracking-skipped`, { sid, limit: MAX_TRACKED_PER_NODE }));
    }
  }

  node.on('input', (msg, send, done) => {
    const work = handle(msg, send, done).catch((err: unknown) => {
      node.warn(RED._(`${type}.errors.after-send`, { message: asError(err).message }));
    });
    const entry = work.finally(() => {
      inFlight.delete(entry);
      status.show(current);
    });
    inFlight.add(entry);
    status.show(current);
  });

  node.on('close', (removed, done) => {
    // Messages still queued are given up (never sent); those on the wire finish and report.
    stopping.abort();
    tracker?.close();
    const settled = Promise.allSettled([...inFlight]);
    const closing = followUps ? followUps.close(removed === true, settled) : settled;
    closing
      .catch((err: unknown) => node.warn(RED._(`${type}.errors.after-send`, { message: asError(err).message })))
      .then(() => {
        status.close();
        done();
      });
  });
}
