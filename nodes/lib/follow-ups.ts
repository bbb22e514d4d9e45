import { setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SuperSimClient } from '../../src/api';
import type { Account } from '../../src/account';
import { MemoryPendingStore, PendingCommands, PendingStore, RETRY_BASE_MS, RedisPendingStore, RETRY_MAX_MS, findAdoptable, findAdoptableAll, retryDelayMs } from '../../src/reaching';
import type { CommandResource, ListCommands, OpenedPendingStore, OpenedRedisPendingStore, PendingAttempt, PendingEvents, PendingStoreLike, ReachErrorCode, ReachRefusalCode } from '../../src/reaching';
import { summaryOf } from '../../src/receiving';
import { createCommand } from '../../src/sending';
import type { CreateRequest } from '../../src/sending';
import { DeliveryTracker, clientFetcher } from '../../src/tracking';
import { installCommandLog } from './command-log';
import type { Node, NodeAPI } from './red';
import { retainSharedRedis, sharedRedisOf } from './shared-state';

/** Answers awaited at once by one node without keeping trying (memory stays bounded). */
export const MAX_WAITING_PER_NODE = 1000;
/** Messages one node keeps trying at once: each is a small record in its store. */
export const MAX_PENDING_PER_NODE = 10_000;

export interface FollowUpsOptions {
  RED: NodeAPI;
  node: Node;
  account: Account;
  /** The account node's tracking CallbackUrl, when status callbacks reach this Node-RED. */
  trackingCallbackUrl(): string | undefined;
  /** Whether output 2 reports status changes of messages that only wait for an answer. */
  track: boolean;
  /** The node keeps trying (retryFor > 0), or a store from an earlier run waits to be resumed. */
  durable: boolean;
  /** Shown after every change of the counts. */
  changed(): void;
  /** A Catch error or an output's message went out: the node shows it. */
  outcome(kind: 'answered' | 'failed', detail: string): void;
  /** The latest status of a message still under way (output 2): the node shows it, as tracking does. */
  statusChanged(resource: unknown): void;
}

/**
 * The backoff between attempts: about 30 s doubling to 15 min, unless settings.js says otherwise
 * (`supersim: { keepTrying: { firstRetryMs, maxRetryMs } }`, for a test rig or a patient operator).
 */
export function scaledRetryDelay(failedAttempts: number, settings: unknown): number {
  const tuning = (settings as { keepTrying?: { firstRetryMs?: unknown; maxRetryMs?: unknown } } | undefined)?.keepTrying;
  const first = typeof tuning?.firstRetryMs === 'number' && tuning.firstRetryMs > 0 ? tuning.firstRetryMs : RETRY_BASE_MS;
  const max = typeof tuning?.maxRetryMs === 'number' && tuning.maxRetryMs > 0 ? tuning.maxRetryMs : RETRY_MAX_MS;
  return Math.min(max, (retryDelayMs(failedAttempts) * first) / RETRY_BASE_MS);
}

/** Where a node's pending attempts live: one small file per node under Node-RED's user directory. */
export function pendingFileOf(userDir: string, nodeId: string): string {
  return join(userDir, 'supersim', 'pending', `${nodeId.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
}

function userDirOf(RED: NodeAPI): string | undefined {
  const dir = RED.settings.userDir;
  return typeof dir === 'string' && dir !== '' ? dir : undefined;
}

/** Whether a node left pending attempts behind (so it resumes them even if it no longer keeps trying). */
export function hasPendingFile(RED: NodeAPI, nodeId: string): boolean {
  const dir = userDirOf(RED);
  return dir !== undefined && existsSync(pendingFileOf(dir, nodeId));
}

/**
 * The send node's side of the answer desk and of keeping trying: its engine, its durable store, and
 * the outputs (2: statuses, 3: answers) and Catch errors the engine reports.
 */
export class FollowUps {
  readonly pending: PendingCommands;
  /** Resolves once the store is open and what it held is resumed; messages wait for it. */
  readonly ready: Promise<void>;
  readonly #options: FollowUpsOptions;
  readonly #tracker: DeliveryTracker;
  #store: PendingStoreLike<PendingAttempt> & { close(): Promise<void>; destroy(): Promise<void> } = new MemoryPendingStore<PendingAttempt>();
  #storeWarned = false;
  /** Records of the file that the node stopped before resuming. */
  #unresumed = 0;
  /** The node was deleted: its store is being removed. */
  #removing = false;
  /** Records taken over by another instance were reported (once per node). */
  #lostWarned = false;
  /** Whether an outage was reported, so that Redis back is said only after it. */
  #wentLocal = false;

  constructor(options: FollowUpsOptions) {
    this.#options = options;
    const { RED, node, account } = options;
    const type = node.type;
    const client: SuperSimClient = account.client;
    const stopping = new AbortController();
    // Every status fetch of every followed command listens for the stop: thousands are expected, not a leak.
    setMaxListeners(0, stopping.signal);
    this.#tracker = new DeliveryTracker({
      hub: account.hub,
      maxTracked: MAX_WAITING_PER_NODE + MAX_PENDING_PER_NODE,
      fetch: clientFetcher(client, stopping.signal),
    });
    const fetch = clientFetcher(client);
    const rows = installCommandLog(RED).forNode(node);
    const list: ListCommands = (kind, filter) => {
      const query = { sim: filter.sim, direction: filter.direction, pageSize: filter.pageSize };
      if (kind === 'ip') return client.listIpCommands(query) as AsyncIterable<unknown> as AsyncIterable<CommandResource>;
      if (kind === 'sms') return client.listSmsCommands(query) as AsyncIterable<unknown> as AsyncIterable<CommandResource>;
      return client.listWirelessCommands(query) as AsyncIterable<unknown> as AsyncIterable<CommandResource>;
    };
    const events: PendingEvents = {
      announced: (job, resource) => {
        const out = job.message();
        out.payload = resource;
        node.send([out, null, null]);
        rows.created(rows.followed(job.record), resource);
      },
      status: (job, update) => {
        const out = job.message();
        out.payload = update.resource;
        if (job.record.deadline > job.record.startedAt) out.attempt = job.record.attempt;
        node.send([null, out, null]);
        rows.status(rows.followed(job.record), update.resource);
        // Once the message has its outcome (answer, gave up), the node keeps showing that instead.
        if (!job.ended) options.statusChanged(update.resource);
      },
      answered: (job, answer, request) => {
        const out = job.message();
        out.payload = answer.payload ?? (answer.payloadType === 'binary' ? Buffer.alloc(0) : '');
        out.command = summaryOf(answer);
        out.request = request;
        node.send([null, null, out]);
        rows.answered(rows.followed(job.record), answer.payload);
        options.outcome('answered', '');
      },
      failed: (job, error) => {
        node.error(error, job.message());
        rows.failed(rows.followed(job.record), error);
        options.outcome('failed', error.code);
      },
      changed: () => options.changed(),
      storeFailed: (error) => this.#storeFailed(error),
      lookupFailed: (job, error) => {
        node.warn(RED._(`${type}.errors.lookup-failed`, { sim: job.record.sim, attempt: job.record.attempt, message: error instanceof Error ? error.message : String(error) }));
      },
    };
    this.pending = new PendingCommands({
      store: {
        get size() {
          return 0;
        },
        put: (record) => this.#store.put(record),
        delete: (id) => this.#store.delete(id),
      },
      create: async (kind, request, signal) => {
        const own = (request as { callbackUrl?: string }).callbackUrl;
        const url = own === undefined ? options.trackingCallbackUrl() : undefined;
        const resource = await createCommand(client, kind, request as unknown as CreateRequest, url, signal);
        return { resource: resource as unknown as CommandResource, mode: url !== undefined ? 'callback' : 'poll' };
      },
      reconcile: (attempt, taken, signal) => findAdoptable({ list, attempt, taken, signal }),
      reconcileAll: (attempts, taken, signal) => findAdoptableAll({ list, attempts, taken, signal }),
      fetch: async (kind, sid) => (await fetch(kind, sid)) as unknown as CommandResource,
      tracker: this.#tracker,
      answers: account.answers,
      answerSource: () => account.answerSource(),
      backoffMs: (failed) => scaledRetryDelay(failed, RED.settings.supersim),
      describe: (code: ReachErrorCode | ReachRefusalCode, values) => RED._(`${type}.errors.${code}`, { file: this.#fileText(), ...values }),
      events,
      cloneMessage: (msg) => RED.util.cloneMessage(msg),
      maxWaiting: MAX_WAITING_PER_NODE,
      maxPending: MAX_PENDING_PER_NODE,
    });
    this.ready = options.durable ? this.#open(stopping) : Promise.resolve();
    this.#stopping = stopping;
  }

  readonly #stopping: AbortController;
  #releaseRedis: () => void = () => undefined;

  async #open(stopping: AbortController): Promise<void> {
    const { RED, node } = this.#options;
    const dir = userDirOf(RED);
    const redis = sharedRedisOf(RED);
    if (dir === undefined && redis === undefined) {
      node.warn(RED._(`${node.type}.errors.no-user-dir`));
      return;
    }
    // Held until the store has written its last change (close() may wait for sends long after the node's close).
    const releaseRedis = redis && retainSharedRedis(RED, {});
    this.#releaseRedis = releaseRedis ?? ((): void => undefined);
    try {
      // With Redis the file only holds what changes while Redis is away; without a user directory, memory does.
      const file = dir === undefined ? undefined : pendingFileOf(dir, node.id);
      const opened: OpenedPendingStore<PendingAttempt> | OpenedRedisPendingStore<PendingAttempt> =
        redis === undefined
          ? await PendingStore.open<PendingAttempt>({ file: file as string, maxRecords: MAX_PENDING_PER_NODE })
          : await RedisPendingStore.open<PendingAttempt>({
              redis,
              nodeId: node.id,
              leaseMs: redis.settings.leaseMs,
              maxRecords: MAX_PENDING_PER_NODE,
              file,
              onWriteError: (error) => this.#storeFailed(error),
              onTakeOver: (records) => this.#takenOver(records, stopping.signal),
              onLost: (ids) => this.#lost(ids),
              onMode: (mode) => this.#modeChanged(mode),
            });
      this.#store = opened.store;
      // Closed before the file was read: close() keeps the file, or removes it and counts what it held.
      if (stopping.signal.aborted) {
        this.#unresumed = opened.records.length;
        return;
      }
      if (opened.problem !== undefined) node.warn(RED._(`${node.type}.errors.store-unreadable`, { problem: opened.problem }));
      if (opened.records.length > 0) {
        node.log(RED._(`${node.type}.errors.pending-resumed`, { count: opened.records.length }));
        this.pending.resume(opened.records);
      }
    } catch (error) {
      node.warn(RED._(`${node.type}.errors.store-failed`, { file: this.#fileText(), message: error instanceof Error ? error.message : String(error) }));
    }
  }

  #storeFailed(error: unknown): void {
    // Writes still pending when the node was deleted fail by design: the file is removed on purpose.
    if (this.#storeWarned || this.#removing) return;
    this.#storeWarned = true;
    const { RED, node } = this.#options;
    node.warn(RED._(`${node.type}.errors.store-write-failed`, { file: this.#fileText(), message: error instanceof Error ? error.message : String(error) }));
  }

  /** Another instance stopped renewing its lease: its attempts are resumed here, each 'creating' one looked up before any create. */
  #takenOver(records: PendingAttempt[], stopping: AbortSignal): void {
    // Stopping: they stay this instance's in Redis, for the next start of the node (or another instance) to resume.
    if (stopping.aborted) return;
    const { RED, node } = this.#options;
    node.log(RED._(`${node.type}.errors.pending-taken-over`, { count: records.length }));
    this.pending.resume(records);
  }

  /** Another live instance holds these now (this one could not renew its lease in time): it reports what becomes of them. */
  #lost(ids: string[]): void {
    const released = this.pending.release(ids);
    if (released === 0 || this.#lostWarned) return;
    this.#lostWarned = true;
    const { RED, node } = this.#options;
    node.warn(RED._(`${node.type}.errors.pending-lost`, { count: released }));
  }

  #modeChanged(mode: 'redis' | 'local'): void {
    const { RED, node } = this.#options;
    // Once per outage: the store changes mode only when Redis goes away or comes back. Its first
    // connection at start is no "back": nothing was said about an outage.
    if (mode === 'local') {
      this.#wentLocal = true;
      node.warn(RED._(`${node.type}.errors.pending-local`, { file: this.#localText() }));
    } else if (this.#wentLocal) {
      this.#wentLocal = false;
      node.log(RED._(`${node.type}.errors.pending-shared`));
    }
  }

  #localText(): string {
    const dir = userDirOf(this.#options.RED);
    return dir === undefined ? 'memory' : pendingFileOf(dir, this.#options.node.id);
  }

  #fileText(): string {
    const store = this.#store;
    if (store instanceof RedisPendingStore && store.mode === 'redis') return `Redis (${this.#options.node.id})`;
    return this.#localText();
  }

  /**
   * Stops following up. A redeploy or a stop keeps what is pending for the next start; a deleted node
   * drops it, and says how much. `settled` resolves once the messages still being sent have finished.
   */
  async close(removed: boolean, settled: Promise<unknown>): Promise<void> {
    const { RED, node } = this.#options;
    this.#removing = removed;
    this.#stopping.abort();
    this.#tracker.close();
    const resumed = this.pending.close();
    try {
      await this.ready;
      await settled;
      if (removed) {
        await this.#store.destroy();
        const dropped = resumed + this.#unresumed;
        if (dropped > 0) node.warn(RED._(`${node.type}.errors.pending-dropped`, { count: dropped }));
      } else {
        await this.#store.close();
      }
    } finally {
      // Even when the store failed to close: a connection nothing holds is closed, not kept for good.
      this.#releaseRedis();
    }
  }
}
