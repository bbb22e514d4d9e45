import type { Application, Request, Response } from 'express';
import { receiveOnce } from '../src/callbacks';
import type { AcceptedCallback, RefusalKind, RefusalStatus } from '../src/callbacks';
import {
  FleetSetupError,
  IdempotencyShelf,
  adminRouteAt,
  messageOf,
  outputsOf,
  pointFleet,
  pointWirelessSims,
  readFleetQuery,
  readFleetUpdate,
  readWirelessSimsUpdate,
  showFleet,
  simLabelOf,
  webhookPathProblem,
  webhookServerPath,
} from '../src/receiving';
import type { AppLike, FleetAccount, FleetAnswer, WirelessSimsAnswer } from '../src/receiving';
import { installCommandLog } from './lib/command-log';
import { RouteConflictError, WebhookRoutes, httpNodeRootOf } from './lib/http-routes';
import type { Node, NodeAPI, NodeDefinition } from './lib/red';
import { redisAwareStatus } from './lib/redis-status';
import { claimStoreFor } from './lib/shared-claims';
import { ThrottledStatus } from './lib/status';
import { timeOfDay } from './lib/time-of-day';
import type { AccountNode } from './supersim-account';

interface CommandInConfig extends NodeDefinition {
  account?: string;
  url?: string;
}

const REFUSAL_KEYS: Readonly<Record<RefusalStatus, string>> = {
  400: 'supersim-command-in.refusal.malformed',
  403: 'supersim-command-in.refusal.forbidden',
  405: 'supersim-command-in.refusal.method',
  413: 'supersim-command-in.refusal.too-large',
  // Never shown: receive() answers what is neither form nor JSON 400, as any other body that is no callback.
  415: 'supersim-command-in.refusal.malformed',
};

/** Refusals whose status says what to change, rather than only what was refused. */
const ADVICE_KEYS: Readonly<Record<RefusalKind, string>> = {
  'unsigned-get': 'supersim-command-in.refusal.unsigned-get',
};

/** One shelf per Node-RED (its httpNode app): the helper in tests starts many in one process. */
const shelves = new WeakMap<Application, IdempotencyShelf>();

function shelfOf(RED: NodeAPI): IdempotencyShelf {
  let shelf = shelves.get(RED.httpNode);
  if (!shelf) {
    shelf = new IdempotencyShelf();
    shelves.set(RED.httpNode, shelf);
  }
  return shelf;
}

/** The deployed account node behind an id, if it is one. */
function deployedAccount(RED: NodeAPI, id: unknown): AccountNode | undefined {
  if (typeof id !== 'string' || id === '') return undefined;
  const node = RED.nodes.getNode(id) as AccountNode | null;
  return node && node.type === 'supersim-account' && node.account ? node : undefined;
}

export default function register(RED: NodeAPI): void {
  const httpNodeRoot = httpNodeRootOf(RED);

  function start(node: Node, config: CommandInConfig): void {
    const path = config.url ?? '';

    const fail = (statusKey: string, message: string): void => {
      node.status({ fill: 'red', shape: 'ring', text: RED._(statusKey) });
      node.error(message);
    };

    if (httpNodeRoot === false) {
      // As core http in: a Node-RED without HTTP nodes is a choice in settings.js, not a fault of this node.
      node.status({ fill: 'grey', shape: 'ring', text: RED._('supersim-command-in.status.no-http') });
      node.warn(RED._('supersim-command-in.errors.no-http'));
      return;
    }
    const accountNode = deployedAccount(RED, config.account);
    if (!accountNode) return fail('supersim-command-in.status.no-account', RED._('supersim-command-in.errors.no-account'));
    const account = accountNode.account;
    if (account.configError) {
      return fail('supersim-command-in.status.account-error', RED._('supersim-command-in.errors.account-error', { message: account.configError }));
    }
    const pathProblem = webhookPathProblem(path);
    if (pathProblem !== undefined) return fail('supersim-command-in.status.bad-path', RED._('supersim-command-in.errors.bad-path', { reason: pathProblem }));
    // The editor's logins and deploys would reach this node instead of Node-RED: refuse before anything is registered.
    const adminRoute = adminRouteAt({ httpAdmin: RED.httpAdmin as unknown as AppLike, httpNode: RED.httpNode as unknown as AppLike }, path);
    if (adminRoute !== undefined) {
      return fail('supersim-command-in.status.admin-path', RED._('supersim-command-in.errors.admin-path', { path: webhookServerPath(httpNodeRoot, path), what: adminRoute }));
    }

    const shelf = shelfOf(RED);
    // A burst of callbacks would otherwise send the editor one status update per request.
    const shown = new ThrottledStatus(node);
    // Several instances: a callback is emitted only once Redis says no other instance emitted it.
    const shownStatus = redisAwareStatus(RED, node, shown, 'supersim-command-in');
    const store = shownStatus.redis && claimStoreFor(shownStatus.redis);
    const receiver = account.createReceiver({ idempotency: shelf.take(node.id), shared: store && { store, scope: node.id } });
    const rows = installCommandLog(RED).forNode(node);

    const refused = (status: RefusalStatus, advice?: RefusalKind): void => {
      const time = timeOfDay(new Date());
      shownStatus.show(() => ({
        fill: 'red',
        shape: 'ring',
        text: RED._('supersim-command-in.status.refused', { status, reason: RED._(advice ? ADVICE_KEYS[advice] : REFUSAL_KEYS[status]), time }),
      }));
    };

    const accepted = ({ event, verified }: AcceptedCallback): void => {
      const routed = messageOf(event, verified);
      const sim = simLabelOf(event) ?? '?';
      const time = timeOfDay(new Date());
      node.send(outputsOf(routed));
      rows.received(event);
      // Offered after command-in's own output was sent, so that output goes out first.
      if (event.direction === 'from_sim') account.answers.offer(event);
      shownStatus.show(() =>
        routed.output === 0
          ? { fill: 'green', shape: 'dot', text: RED._('supersim-command-in.status.from-sim', { sim, status: event.status, time }) }
          : { fill: 'blue', shape: 'dot', text: RED._('supersim-command-in.status.to-sim', { sim, status: event.status, time }) },
      );
    };

    let release: (() => void) | undefined;
    try {
      release = WebhookRoutes.for(RED).add({
        path,
        owner: `supersim-command-in node ${node.name ? `"${node.name}" ` : ''}(${node.id})`,
        receive: (request) => receiveOnce(receiver, request),
        onAccepted: accepted,
        onRefused: (status, _reason, advice) => refused(status, advice),
        warn: (report) => {
          const line = RED._('supersim-command-in.errors.refused', { status: report.status, reason: report.reason });
          node.warn(report.unreported > 0 ? `${line} ${RED._('supersim-command-in.errors.refused-more', { count: report.unreported })}` : line);
        },
      });
    } catch (err) {
      if (!(err instanceof RouteConflictError)) throw err;
      return fail('supersim-command-in.status.path-taken', RED._('supersim-command-in.errors.path-taken', { path: webhookServerPath(httpNodeRoot, path), message: err.message }));
    }
    node.status(shownStatus.initial());
    const releaseFeeder = account.addAnswerFeeder();
    const verifies = account.provider === 'twilio' || Boolean(accountNode.credentials?.webhookSecret?.trim());
    if (!verifies) {
      node.warn(RED._('supersim-command-in.errors.unverified', { path: webhookServerPath(httpNodeRoot, path) }));
    } else if (account.callbackBaseUrl === undefined) {
      // Signatures cover the URL the provider called, which without a Public URL is guessed from the request.
      node.warn(RED._('supersim-command-in.errors.no-public-url', { path: webhookServerPath(httpNodeRoot, path) }));
    }

    node.on('close', (removed, done) => {
      release?.();
      releaseFeeder();
      // A redeploy keeps the memory of callbacks already emitted; only a node deleted for good forgets.
      if (removed) shelf.drop(node.id);
      shown.close();
      done();
    });
  }

  function SupersimCommandInNode(this: Node, config: CommandInConfig): void {
    RED.nodes.createNode(this, config);
    start(this, config);
  }

  RED.nodes.registerType('supersim-command-in', SupersimCommandInNode);

  const answer = (res: Response, work: () => Promise<FleetAnswer | WirelessSimsAnswer>): void => {
    work().then(
      (result) => res.json(result),
      (err: unknown) => {
        if (err instanceof FleetSetupError) res.status(400).json(err.toJSON());
        else res.status(500).json({ message: err instanceof Error ? err.message : String(err) });
      },
    );
  };
  const accountFor = (id: string): FleetAccount | undefined => deployedAccount(RED, id)?.account;

  // The deployed account, not the dialog's: the API credentials never travel through the editor.
  RED.httpAdmin.get('/supersim-command-in/fleet', RED.auth.needsPermission('supersim-command-in.write'), (req: Request, res: Response) => {
    answer(res, async () => {
      const query = readFleetQuery(req.query as Record<string, unknown>);
      return showFleet(accountFor(query.account), httpNodeRoot, query);
    });
  });

  RED.httpAdmin.post('/supersim-command-in/fleet', RED.auth.needsPermission('supersim-command-in.write'), (req: Request, res: Response) => {
    answer(res, async () => {
      const update = readFleetUpdate(req.body);
      return pointFleet(accountFor(update.account), httpNodeRoot, update);
    });
  });

  // A Wireless SIM reports its own Commands to its Commands Callback URL: point one, or all of the account's, here.
  RED.httpAdmin.post('/supersim-command-in/wireless-sims', RED.auth.needsPermission('supersim-command-in.write'), (req: Request, res: Response) => {
    answer(res, async () => {
      const update = readWirelessSimsUpdate(req.body);
      return pointWirelessSims(deployedAccount(RED, update.account)?.account, httpNodeRoot, update);
    });
  });
}
