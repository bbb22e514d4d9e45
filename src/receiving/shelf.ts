import { IdempotencyCache } from '../callbacks';
import type { IdempotencyCacheOptions } from '../callbacks';

/**
 * Idempotency memory by node id that outlives a redeploy: a provider retrying a callback whose answer
 * it missed must not have it emitted twice because the flow was deployed in between. It is dropped
 * when its node is removed for good, so the shelf holds no more than the nodes that exist.
 */
export class IdempotencyShelf {
  readonly #caches = new Map<string, IdempotencyCache>();

  constructor(private readonly options: IdempotencyCacheOptions = {}) {}

  take(id: string): IdempotencyCache {
    let cache = this.#caches.get(id);
    if (!cache) {
      cache = new IdempotencyCache(this.options);
      this.#caches.set(id, cache);
    }
    return cache;
  }

  drop(id: string): void {
    this.#caches.delete(id);
  }

  get size(): number {
    return this.#caches.size;
  }
}
