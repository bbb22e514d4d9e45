import { promises as fs } from 'node:fs';
import { RedisUnavailable } from '../shared-state';
import { MAX_CALL_CHARS, PendingKeys, sharedValueOf } from './pending-leases';
import type { WriteOp } from './pending-leases';

export type { OpenedRedisPendingStore, RedisPendingStoreOptions } from './redis-store-parts';
import { asError, refusedPut } from './pending-writes';
import { WriteBatches, leaseTimers, openLocalStore, sharedRecordOf } from './redis-store-parts';
import type { LocalStore, OpenedRedisPendingStore, RedisPendingStoreOptions } from './redis-store-parts';
import type { PendingStoreLike, StoredRecord } from './types';

const DEFAULT_MIN_INTERVAL_MS = 50;

/**
 * A node's pending attempts kept in Redis, owned by this instance through a lease that it renews;
 * records of an instance whose lease ran out are taken over (and resumed by the caller, with the
 * same lookup-before-create rule as after a restart). While Redis is unreachable every change goes to
 * the local file instead, and once Redis is back everything this instance holds is written there again
 * under its lease and the file removed. Writes are batched as in the file store; memory is bounded by
 * `maxRecords` (the changes waiting are a set of ids, never a queue).
 */
export class RedisPendingStore<R extends StoredRecord> implements PendingStoreLike<R> {
  readonly #options: RedisPendingStoreOptions<R>;
  readonly #keys: PendingKeys;
  readonly #now: () => number;
  readonly #records = new Map<string, R>();
  readonly #writes: WriteBatches;
  /** Ids changed since their last write to Redis (present: put, absent: delete). */
  readonly #dirty: Set<string>;
  /** Ids known to be in Redis: only their deletes need to reach it after an outage. */
  readonly #inRedis = new Set<string>();
  #mode: 'redis' | 'local' = 'local';
  #local: LocalStore<R> | undefined;
  #localOpening: Promise<LocalStore<R>> | undefined;
  #syncing: Promise<void> | undefined;
  #upSince: number | undefined;
  #stopTimers: () => void = () => undefined;
  #stopHealth: () => void = () => undefined;
  #closed = false;

  private constructor(options: RedisPendingStoreOptions<R>, local: LocalStore<R>, records: R[]) {
    this.#options = options;
    this.#keys = new PendingKeys(options.redis, options.nodeId);
    this.#now = options.now ?? Date.now;
    this.#local = local;
    this.#writes = new WriteBatches({
      active: () => !this.#closed && this.#mode === 'redis',
      write: (ids) => this.#writeIds(ids),
      unavailable: (err) => err instanceof RedisUnavailable,
      fallBack: () => this.#toLocal().then(() => this.#local?.flush?.()),
      report: (err) => this.#report(err),
      minIntervalMs: options.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS,
      now: this.#now,
    });
    this.#dirty = this.#writes.dirty;
    for (const record of records) {
      this.#records.set(record.id, record);
      this.#dirty.add(record.id);
    }
  }

  /**
   * Reads the local file (what was written while Redis was away), then, when Redis is up, this
   * instance's records there (a redeploy) and writes the file's back under its lease. With Redis
   * down it resumes from the file alone and catches up once Redis returns.
   */
  static async open<R extends StoredRecord>(options: RedisPendingStoreOptions<R>): Promise<OpenedRedisPendingStore<R>> {
    if (!Number.isInteger(options.maxRecords) || options.maxRecords < 1) throw new RangeError(`maxRecords must be a positive integer, got ${options.maxRecords}`);
    const { store: local, records, problem } = await openLocalStore<R>(options);
    const store = new RedisPendingStore<R>(options, local, records);
    store.#stopHealth = options.redis.onHealth((health) => store.#onHealth(health));
    if (options.redis.health === 'up') {
      store.#upSince = store.#now();
      await store.#sync(true);
    }
    store.#startTimers();
    return { store, records: [...store.#records.values()], problem };
  }

  get size(): number {
    return this.#records.size;
  }

  get mode(): 'redis' | 'local' {
    return this.#mode;
  }

  has(id: string): boolean {
    return this.#records.has(id);
  }

  values(): IterableIterator<R> {
    return this.#records.values();
  }

  put(record: R): Promise<void> {
    const refused = refusedPut(this.#closed, this.#records, record, this.#options.maxRecords);
    // As the file store: a closed store rejects, a bad or unwelcome record is thrown.
    if (refused !== undefined) {
      if (this.#closed) return Promise.reject(refused);
      throw refused;
    }
    this.#records.set(record.id, record);
    return this.#changed(record.id);
  }

  delete(id: string): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('The pending store is closed: the node was stopped'));
    if (!this.#records.delete(id) && !this.#dirty.has(id) && !this.#inRedis.has(id)) return Promise.resolve();
    return this.#changed(id);
  }

  /** Writes every change made so far now; rejects if that fails for another reason than Redis being away. */
  async flush(): Promise<void> {
    if (this.#mode === 'local') return this.#local?.flush?.();
    return this.#writes.flush();
  }

  /** Flushes and stops; the lease is left to run out, so a redeploy on this instance keeps its records. */
  async close(): Promise<void> {
    this.#stop();
    await this.#syncing;
    await this.flush().catch(() => undefined);
    await this.#writes.idle();
    await this.#local?.close();
  }

  /** The node was deleted: this instance's records leave Redis and the file. */
  async destroy(): Promise<void> {
    this.#stop();
    await this.#syncing;
    await this.#writes.idle();
    this.#writes.abandon(new Error('The pending store was removed: the node was deleted'));
    this.#records.clear();
    // Redis away: the records stay under a lease nobody renews, and an instance that still runs this node takes them.
    await this.#keys.dropMine().catch(() => undefined);
    await this.#local?.destroy();
    if (this.#options.file !== undefined) {
      await fs.rm(this.#options.file, { force: true });
      await fs.rm(`${this.#options.file}.tmp`, { force: true });
    }
  }

  /**
   * Renews this instance's lease; the renew timer calls it every third of the lease. A lease that had
   * run out (a long pause, a cut) may have let another instance take records: every one is written
   * again, and those another live instance holds now are reported lost.
   */
  async renewLease(): Promise<void> {
    const held = await this.#keys.renew(this.#options.leaseMs);
    if (held || this.#closed || this.#mode !== 'redis' || this.#inRedis.size === 0) return;
    for (const id of this.#records.keys()) this.#dirty.add(id);
    void this.#writes.mark();
  }

  /**
   * Takes the records of instances whose lease ran out, and hands them to onTakeOver. Only once
   * Redis has been up here for a whole lease: an instance that was cut off with it renews first.
   */
  async takeOver(): Promise<R[]> {
    if (this.#closed || this.#mode !== 'redis' || this.#upSince === undefined || this.#now() - this.#upSince < this.#options.leaseMs) return [];
    const room = this.#options.maxRecords - this.#records.size;
    if (room <= 0) return [];
    const claimed = await this.#keys.claim(room);
    const taken: R[] = [];
    const unusable: WriteOp[] = [];
    for (const [id, value] of claimed) {
      const record = sharedRecordOf(id, value, this.#options.validate);
      if (record === undefined) {
        unusable.push({ op: 'd', id, value: '' });
        continue;
      }
      this.#records.set(id, record);
      this.#inRedis.add(id);
      taken.push(record as R);
    }
    if (unusable.length > 0) {
      await this.#keys.write(unusable);
      this.#report(new Error(`${unusable.length} pending attempts taken over from another instance could not be read by this version of the package and were dropped`));
    }
    if (taken.length > 0) this.#options.onTakeOver?.(taken);
    return taken;
  }

  // ---- writing ------------------------------------------------------------------------------

  #changed(id: string): Promise<void> {
    this.#dirty.add(id);
    if (this.#mode === 'local') {
      // Deletes of ids never in Redis need no catching up later.
      if (!this.#records.has(id) && !this.#inRedis.has(id)) this.#dirty.delete(id);
      return this.#localStore().then((local) => {
        const record = this.#records.get(id);
        return record !== undefined ? local.put(record) : local.delete(id);
      });
    }
    return this.#writes.mark(id);
  }

  /** Writes what the ids hold now, in calls of bounded size. */
  async #writeIds(ids: readonly string[]): Promise<void> {
    let ops: WriteOp[] = [];
    let chars = 0;
    const send = async (): Promise<void> => {
      if (ops.length === 0) return;
      const sent = ops;
      ops = [];
      chars = 0;
      const lost = await this.#keys.write(sent);
      for (const op of sent) {
        if (op.op === 'p') this.#inRedis.add(op.id);
        else this.#inRedis.delete(op.id);
      }
      if (lost.length > 0) this.#lose(lost);
    };
    for (const id of ids) {
      const record = this.#records.get(id);
      const op: WriteOp = record !== undefined ? { op: 'p', id, value: sharedValueOf(this.#keys.me, record) } : { op: 'd', id, value: '' };
      ops.push(op);
      chars += op.value.length + id.length;
      if (chars >= MAX_CALL_CHARS) await send();
    }
    await send();
  }

  #lose(ids: readonly string[]): void {
    for (const id of ids) {
      this.#records.delete(id);
      this.#dirty.delete(id);
      this.#inRedis.delete(id);
    }
    this.#options.onLost?.([...ids]);
  }

  #report(err: Error): void {
    try {
      this.#options.onWriteError?.(err);
    } catch {
      // A failing reporter must not stop the store.
    }
  }

  // ---- Redis away and back ------------------------------------------------------------------

  #onHealth(health: string): void {
    if (this.#closed) return;
    if (health === 'up') {
      this.#upSince = this.#now();
      if (this.#mode === 'local') void this.#sync(false);
    } else {
      this.#upSince = undefined;
      void this.#toLocal();
    }
  }

  #localStore(): Promise<LocalStore<R>> {
    if (this.#local !== undefined) return Promise.resolve(this.#local);
    this.#localOpening ??= (async () => {
      const { store: local, records } = await openLocalStore<R>(this.#options);
      // A file left by an earlier outage was written back when Redis returned: only what is held now counts.
      for (const stale of records) if (!this.#records.has(stale.id)) void local.delete(stale.id).catch(() => undefined);
      this.#local = local;
      this.#localOpening = undefined;
      return local;
    })();
    return this.#localOpening;
  }

  /** From now on changes go to the local file, which gets everything held now. */
  async #toLocal(): Promise<void> {
    if (this.#mode === 'local') return;
    this.#mode = 'local';
    this.#writes.cancel();
    this.#options.onMode?.('local');
    const local = await this.#localStore();
    for (const record of this.#records.values()) {
      try {
        void local.put(record).catch(() => undefined);
      } catch {
        // Full: the file store says so on the engine's next put.
      }
    }
    // Changes that waited for a write to Redis are acknowledged once the file has them.
    this.#writes.settle(local.flush?.() ?? Promise.resolve());
  }

  /** Redis is up: renew the lease, pick up this instance's records (at open), write everything held back, drop the file. */
  #sync(opening: boolean): Promise<void> {
    this.#syncing ??= (async () => {
      try {
        await this.renewLease();
        if (opening) this.#adoptMine(await this.#keys.mine());
        this.#mode = 'redis';
        for (const id of this.#records.keys()) this.#dirty.add(id);
        await this.flush();
        if (this.#mode !== 'redis') return;
        const local = this.#local;
        this.#local = undefined;
        await local?.flush?.().catch(() => undefined);
        await local?.destroy();
        this.#options.onMode?.('redis');
      } catch (err) {
        if (!(err instanceof RedisUnavailable)) this.#report(asError(err));
        await this.#toLocal();
      } finally {
        this.#syncing = undefined;
      }
    })();
    return this.#syncing;
  }

  #adoptMine(stored: ReadonlyArray<[string, string]>): void {
    for (const [id, value] of stored) {
      this.#inRedis.add(id);
      // The file's version is newer: it was written while Redis was away.
      if (this.#records.has(id)) continue;
      const record = sharedRecordOf(id, value, this.#options.validate);
      if (record !== undefined) this.#records.set(id, record);
    }
  }

  // ---- timers -------------------------------------------------------------------------------

  #startTimers(): void {
    if (this.#options.timers === false || this.#closed) return;
    this.#stopTimers = leaseTimers({
      leaseMs: this.#options.leaseMs,
      random: this.#options.random ?? Math.random,
      renew: () => this.renewLease(),
      scan: () =>
        this.takeOver().then(
          () => undefined,
          (err: unknown) => {
            if (!(err instanceof RedisUnavailable)) this.#report(asError(err));
          },
        ),
    });
  }

  #stop(): void {
    this.#closed = true;
    this.#stopHealth();
    this.#stopTimers();
  }
}
