import { createHash } from 'node:crypto';
import { OldestFirstMap } from '../shared';
import type { CommandEvent } from './event';

export interface IdempotencyCacheOptions {
  /** Default 10 000; past this the oldest token (and, separately, the oldest event) is forgotten. */
  maxEntries?: number;
  /** Default 24 h: providers retry a failed callback for hours. */
  ttlMs?: number;
  now?: () => number;
}

/** Longer tokens are kept as a hash, so a sender's header size cannot multiply the cache's memory. */
const MAX_STORED_TOKEN_CHARS = 128;

function keyOf(token: string): string {
  // Distinct prefixes: a short token can never collide with the hash of a long one.
  return token.length <= MAX_STORED_TOKEN_CHARS ? `=${token}` : `#${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

/**
 * Keys seen recently, oldest first (first to expire, first to evict). An OldestFirstMap rather than a
 * Map's own iterator: a new iterator steps over every hole that expired and evicted keys leave, which
 * made each callback cost O(size) once the cache was full.
 */
class RecentKeys {
  readonly #seenAt = new OldestFirstMap<string, number>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  seenBefore(key: string): boolean {
    const now = this.now();
    this.#expire(now);
    const seenAt = this.#seenAt.get(key);
    if (seenAt !== undefined && now - seenAt < this.ttlMs) return true;
    // set() moves a key seen again after expiry to the newest end, keeping the order by time.
    this.#seenAt.set(key, now);
    if (this.#seenAt.size > this.maxEntries) {
      const oldest = this.#seenAt.oldest();
      if (oldest !== undefined) this.#seenAt.delete(oldest[0]);
    }
    return false;
  }

  get size(): number {
    this.#expire(this.now());
    return this.#seenAt.size;
  }

  #expire(now: number): void {
    for (let oldest = this.#seenAt.oldest(); oldest !== undefined && now - oldest[1] >= this.ttlMs; oldest = this.#seenAt.oldest()) {
      this.#seenAt.delete(oldest[0]);
    }
  }
}

/**
 * What a receiver has already emitted: the idempotency tokens of deliveries, and the events
 * themselves, since a provider may deliver one event again under a new token. Both are bounded alike.
 */
export class IdempotencyCache {
  /** How long a token or event is remembered; the shared store keeps its keys as long. */
  readonly ttlMs: number;
  readonly #tokens: RecentKeys;
  readonly #events: RecentKeys;

  constructor(options: IdempotencyCacheOptions = {}) {
    const maxEntries = options.maxEntries ?? 10_000;
    const ttlMs = options.ttlMs ?? 24 * 60 * 60 * 1000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be an integer >= 1, got ${maxEntries}`);
    if (!(ttlMs > 0)) throw new RangeError(`ttlMs must be a number > 0, got ${ttlMs}`);
    const now = options.now ?? Date.now;
    this.ttlMs = ttlMs;
    this.#tokens = new RecentKeys(maxEntries, ttlMs, now);
    this.#events = new RecentKeys(maxEntries, ttlMs, now);
  }

  /** Records the token; true when it was already seen within the TTL (counted from its first sighting). */
  seenBefore(token: string): boolean {
    return this.#tokens.seenBefore(keyOf(token));
  }

  /**
   * Records the event; true when the same one was seen within the TTL. An event is its command, status
   * and direction: every command from a device has a CommandSid of its own, and each status a command
   * sent to a device goes through is another event, so only a repeat is ever held back.
   */
  eventSeenBefore(event: Pick<CommandEvent, 'sid' | 'status' | 'direction'>): boolean {
    // The parts are a validated SID, status and direction: none contains a space.
    return this.#events.seenBefore(`${event.sid} ${event.status} ${event.direction}`);
  }

  /** Tokens remembered. */
  get size(): number {
    return this.#tokens.size;
  }

  /** Events remembered. */
  get eventCount(): number {
    return this.#events.size;
  }
}
