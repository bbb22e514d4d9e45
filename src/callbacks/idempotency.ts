import { createHash } from 'node:crypto';

export interface IdempotencyCacheOptions {
  /** Default 10 000; the oldest token is forgotten past this. */
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
 * Tokens seen recently. The Map's insertion order is the order tokens were first seen, so the oldest
 * (first to expire, first to evict) is always at its head: each call is amortised O(1).
 */
export class IdempotencyCache {
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #seenAt = new Map<string, number>();

  constructor(options: IdempotencyCacheOptions = {}) {
    const maxEntries = options.maxEntries ?? 10_000;
    const ttlMs = options.ttlMs ?? 24 * 60 * 60 * 1000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be an integer >= 1, got ${maxEntries}`);
    if (!(ttlMs > 0)) throw new RangeError(`ttlMs must be a number > 0, got ${ttlMs}`);
    this.#maxEntries = maxEntries;
    this.#ttlMs = ttlMs;
    this.#now = options.now ?? Date.now;
  }

  /** Records the token; true when it was already seen within the TTL (counted from its first sighting). */
  seenBefore(token: string): boolean {
    const now = this.#now();
    this.#expire(now);
    const key = keyOf(token);
    const seenAt = this.#seenAt.get(key);
    if (seenAt !== undefined && now - seenAt < this.#ttlMs) return true;
    // Delete first so a token seen again after expiry moves to the tail, keeping the order by time.
    this.#seenAt.delete(key);
    this.#seenAt.set(key, now);
    if (this.#seenAt.size > this.#maxEntries) this.#seenAt.delete(this.#seenAt.keys().next().value as string);
    return false;
  }

  get size(): number {
    this.#expire(this.#now());
    return this.#seenAt.size;
  }

  #expire(now: number): void {
    for (const [key, seenAt] of this.#seenAt) {
      if (now - seenAt < this.#ttlMs) return;
      this.#seenAt.delete(key);
    }
  }
}
