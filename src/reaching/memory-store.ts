import type { PendingStoreLike, StoredRecord } from './types';

/**
 * A store that keeps nothing across a restart: for a Node-RED without a user directory, and for
 * tests of what uses a store. Its promises resolve at once, as a write that cannot fail.
 */
export class MemoryPendingStore<R extends StoredRecord> implements PendingStoreLike<R> {
  readonly #records = new Map<string, R>();

  get size(): number {
    return this.#records.size;
  }

  values(): IterableIterator<R> {
    return this.#records.values();
  }

  put(record: R): Promise<void> {
    this.#records.set(record.id, record);
    return Promise.resolve();
  }

  delete(id: string): Promise<void> {
    this.#records.delete(id);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  destroy(): Promise<void> {
    this.#records.clear();
    return Promise.resolve();
  }
}
