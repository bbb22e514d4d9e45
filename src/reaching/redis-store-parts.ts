/**
 * The parts of RedisPendingStore that need no Redis of their own: its options, batching the writes of
 * changed ids (a set, never a queue, so memory stays bounded by the records held), the local file used
 * while Redis is unreachable, and the lease timers.
 */
import { MemoryPendingStore } from './memory-store';
import { recordOfShared } from './pending-leases';
import type { LeaseRedis } from './pending-leases';
import { PendingStore } from './pending-store';
import { asError, newBatch } from './pending-writes';
import type { Batch } from './pending-writes';
import type { RedisPendingStore } from './redis-pending-store';
import type { PendingStoreLike, StoredRecord } from './types';

export interface RedisPendingStoreOptions<R extends StoredRecord> {
  redis: LeaseRedis;
  nodeId: string;
  /** How long a lease lasts without renewal; renewed and scanned every third of it. */
  leaseMs: number;
  maxRecords: number;
  /** The local file used while Redis is unreachable (and read at open); without it, memory. */
  file?: string;
  minIntervalMs?: number;
  validate?: (value: unknown) => value is R;
  onWriteError?: (err: Error) => void;
  /** Records taken from an instance whose lease ran out (or found again after an outage): now this one's, to resume. */
  onTakeOver?: (records: R[]) => void;
  /** Records another live instance holds now: this one must stop working on them. */
  onLost?: (ids: string[]) => void;
  /** Whether the store writes to Redis or, while it is unreachable, to the local file. */
  onMode?: (mode: 'redis' | 'local') => void;
  /** false: no renew / scan timers (tests call renewLease() and takeOver() themselves). */
  timers?: boolean;
  now?: () => number;
  random?: () => number;
}

export interface OpenedRedisPendingStore<R extends StoredRecord> {
  store: RedisPendingStore<R>;
  records: R[];
  problem?: string;
}

/** The record of a stored value when this version can use it and it is the field's: else undefined. */
export function sharedRecordOf<R extends StoredRecord>(id: string, value: string, validate?: (value: unknown) => value is R): R | undefined {
  const record = recordOfShared(value);
  if (typeof record !== 'object' || record === null || (record as StoredRecord).id !== id) return undefined;
  return (validate?.(record) ?? true) ? (record as R) : undefined;
}

/** Renews every third of the lease, and scans for leases run out about as often (jittered); returns the stop. */
export function leaseTimers(options: { leaseMs: number; random: () => number; renew(): Promise<void>; scan(): Promise<void> }): () => void {
  const every = Math.max(50, Math.floor(options.leaseMs / 3));
  let stopped = false;
  const renewTimer = setInterval(() => void options.renew().catch(() => undefined), every);
  // Node-RED runs anyway; a script or test that closes nothing must still be able to exit.
  renewTimer.unref();
  let scanTimer: NodeJS.Timeout | undefined;
  const scanLater = (): void => {
    // Jittered, so that instances started together do not scan in step.
    scanTimer = setTimeout(() => {
      void options.scan().finally(() => {
        if (!stopped) scanLater();
      });
    }, every * (0.75 + options.random() / 2));
    scanTimer.unref();
  };
  scanLater();
  return () => {
    stopped = true;
    clearInterval(renewTimer);
    clearTimeout(scanTimer);
  };
}

const MAX_FAILURE_BACKOFF_MS = 60_000;

export type LocalStore<R extends StoredRecord> = PendingStoreLike<R> & { flush?(): Promise<void>; close(): Promise<void>; destroy(): Promise<void> };

export interface LocalStoreOptions<R extends StoredRecord> {
  file?: string;
  maxRecords: number;
  validate?: (value: unknown) => value is R;
  onWriteError?: (err: Error) => void;
}

/** The file store of `file` and what it holds; without a file, memory. */
export async function openLocalStore<R extends StoredRecord>(options: LocalStoreOptions<R>): Promise<{ store: LocalStore<R>; records: R[]; problem?: string }> {
  if (options.file === undefined) return { store: new MemoryPendingStore<R>(), records: [] };
  return PendingStore.open<R>({ file: options.file, maxRecords: options.maxRecords, validate: options.validate, onWriteError: options.onWriteError });
}



export interface WriteBatchesOptions {
  /** Whether writes may go out now (the store is open and writes to Redis). */
  active(): boolean;
  /** Writes what the ids hold now. */
  write(ids: readonly string[]): Promise<void>;
  /** Whether a write's failure means Redis went away (the batch then waits for fallBack) rather than a refusal. */
  unavailable(err: unknown): boolean;
  /** Redis went away during a write: the batch is acknowledged once this resolves (the local file has it). */
  fallBack(): Promise<void>;
  report(err: Error): void;
  minIntervalMs: number;
  now(): number;
}

/**
 * Changed ids written in batches: at most one write on the way, the next one no sooner than
 * minIntervalMs after it started (longer after failures), and each change's promise settled by the
 * write that carried it.
 */
export class WriteBatches {
  /** Ids changed since their last write (the record present: put; absent: delete). */
  readonly dirty = new Set<string>();
  readonly #options: WriteBatchesOptions;
  #batch: Batch | undefined;
  #current: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastStartedAt = Number.NEGATIVE_INFINITY;
  #failures = 0;

  constructor(options: WriteBatchesOptions) {
    this.#options = options;
  }

  /** Marks the id (if any) changed; resolves once a write carried it. */
  mark(id?: string): Promise<void> {
    if (id !== undefined) this.dirty.add(id);
    const batch = (this.#batch ??= newBatch());
    this.schedule();
    return batch.promise;
  }

  /** Writes every change marked so far now. */
  async flush(): Promise<void> {
    await this.idle();
    if (this.dirty.size === 0) return;
    this.cancel();
    const batch = (this.#batch ??= newBatch());
    await this.#start();
    await batch.promise;
  }

  async idle(): Promise<void> {
    while (this.#current !== undefined) await this.#current;
  }

  schedule(): void {
    if (!this.#options.active() || this.dirty.size === 0 || this.#current !== undefined || this.#timer !== undefined) return;
    const backoff = this.#failures === 0 ? 0 : Math.min(MAX_FAILURE_BACKOFF_MS, 1_000 * 2 ** Math.min(this.#failures - 1, 16));
    const wait = Math.max(0, this.#lastStartedAt + Math.max(this.#options.minIntervalMs, backoff) - this.#options.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#start();
    }, wait);
    if (this.#failures > 0) this.#timer.unref();
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Writes stop (Redis went away) while changes wait for the next one: their promises settle with
   * `saved` (the local copy has them); the ids stay marked, for Redis once it is back.
   */
  settle(saved: Promise<void>): void {
    this.cancel();
    const batch = this.#batch;
    this.#batch = undefined;
    saved.then(
      () => batch?.resolve(),
      (failure: unknown) => batch?.reject(asError(failure)),
    );
  }

  /** Nothing marked will be written: their promises reject with `err`. */
  abandon(err: Error): void {
    this.cancel();
    this.#batch?.reject(err);
    this.#batch = undefined;
    this.dirty.clear();
  }

  #start(): Promise<void> {
    const write = this.#write().finally(() => {
      this.#current = undefined;
      this.schedule();
    });
    this.#current = write;
    return write;
  }

  async #write(): Promise<void> {
    const batch = this.#batch;
    this.#batch = undefined;
    const ids = [...this.dirty];
    this.dirty.clear();
    this.#lastStartedAt = this.#options.now();
    try {
      await this.#options.write(ids);
      this.#failures = 0;
      batch?.resolve();
    } catch (err) {
      for (const id of ids) this.dirty.add(id);
      if (this.#options.unavailable(err)) {
        // Acknowledged once the local file has it: nothing waits on Redis coming back.
        this.#options.fallBack().then(
          () => batch?.resolve(),
          (failure: unknown) => batch?.reject(asError(failure)),
        );
        return;
      }
      this.#failures++;
      batch?.reject(asError(err));
      this.#options.report(asError(err));
    }
  }
}
