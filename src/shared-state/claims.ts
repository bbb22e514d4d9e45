/**
 * The Redis side of callback idempotency across instances (issue 15, item 2): one script claims a
 * callback's keys together, so two instances given the same callback at the same moment cannot both
 * win, and an event delivered again under a new token meets the event key its first delivery left.
 */
import type { SharedClaimStore } from '../callbacks';
import { OldestFirstMap } from '../shared';
import type { SharedRedis } from './connection';

/**
 * SET NX on every key, even after one was found taken: a retry under a new token then also knows
 * this token, and the event key of a token seen first elsewhere is recorded as well.
 */
const CLAIM = `
local claimed = 1
for i, key in ipairs(KEYS) do
  if not redis.call('SET', key, ARGV[1], 'NX', 'PX', ARGV[2]) then claimed = 0 end
end
return claimed
`;

/** Keys accepted while Redis was away, kept for the write-back at most; past it the oldest go. */
export const MAX_BACKLOG_KEYS = 10_000;
/** Keys written per round trip of the write-back, so that one outage's backlog never blocks Redis long. */
const WRITE_BACK_BATCH = 500;

export interface RedisClaimStoreOptions {
  maxBacklog?: number;
  now?: () => number;
}

export class RedisClaimStore implements SharedClaimStore {
  readonly #redis: SharedRedis;
  readonly #max: number;
  readonly #now: () => number;
  /** Unprefixed key → when its claim runs out (ms), oldest accepted first (evicted first). */
  readonly #backlog = new OldestFirstMap<string, number>();
  readonly #stopHealth: () => void;
  #writing: Promise<void> | undefined;
  #closed = false;

  constructor(redis: SharedRedis, options: RedisClaimStoreOptions = {}) {
    this.#redis = redis;
    this.#max = options.maxBacklog ?? MAX_BACKLOG_KEYS;
    if (!Number.isInteger(this.#max) || this.#max < 1) throw new RangeError(`maxBacklog must be an integer >= 1, got ${this.#max}`);
    this.#now = options.now ?? Date.now;
    this.#stopHealth = redis.onHealth((health) => {
      if (health === 'up') void this.writeBack();
    });
  }

  async claim(keys: readonly string[], ttlMs: number): Promise<boolean> {
    const redis = this.#redis;
    const prefixed = keys.map((key) => redis.key(key));
    const result = await redis.run((client) => client.eval(CLAIM, { keys: prefixed, arguments: [redis.instanceId, String(Math.max(1, Math.ceil(ttlMs)))] }));
    // Redis answered, so it is back even if no health change said so (a timeout without a disconnect).
    if (this.#backlog.size > 0) void this.writeBack();
    return Number(result) === 1;
  }

  claimedLocally(keys: readonly string[], ttlMs: number): void {
    if (this.#closed) return;
    const until = this.#now() + ttlMs;
    // set() moves a key accepted again to the newest end: the newest claim is the last one dropped.
    for (const key of keys) this.#backlog.set(key, until);
    for (let oldest = this.#backlog.oldest(); this.#backlog.size > this.#max && oldest !== undefined; oldest = this.#backlog.oldest()) {
      this.#backlog.delete(oldest[0]);
    }
  }

  /** Keys waiting for the write-back. */
  get backlog(): number {
    return this.#backlog.size;
  }

  /**
   * Writes the backlog with SET NX PX for what is left of each claim; a key already there (taken by
   * another instance meanwhile) is left as it is. Stops at the first failure and keeps what is unwritten.
   */
  writeBack(): Promise<void> {
    this.#writing ??= this.#writeBack().finally(() => {
      this.#writing = undefined;
    });
    return this.#writing;
  }

  close(): void {
    this.#closed = true;
    this.#stopHealth();
    this.#backlog.clear();
  }

  async #writeBack(): Promise<void> {
    const redis = this.#redis;
    while (!this.#closed && this.#backlog.size > 0) {
      const now = this.#now();
      const batch: [string, number][] = [];
      for (const entry of this.#backlog.entries()) {
        if (entry[1] > now) batch.push(entry);
        if (batch.length >= WRITE_BACK_BATCH) break;
      }
      if (batch.length === 0) {
        this.#backlog.clear();
        return;
      }
      try {
        await redis.run(async (client) => {
          const multi = client.multi();
          for (const [key, until] of batch) multi.set(redis.key(key), redis.instanceId, { condition: 'NX', expiration: { type: 'PX', value: Math.max(1, until - now) } });
          await multi.exec();
        });
      } catch {
        // Down again: the next 'up' resumes from here.
        return;
      }
      for (const [key, until] of batch) if (this.#backlog.get(key) === until) this.#backlog.delete(key);
      // Expired keys met before the batch filled: nothing to write for them.
      for (const [key, until] of this.#backlog.entries()) {
        if (until > now) break;
        this.#backlog.delete(key);
      }
    }
  }
}
