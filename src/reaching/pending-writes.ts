/**
 * What the file store and the Redis store share about writes: the batch one flush resolves, and why a
 * put is refused, so that both refuse alike.
 */
import type { StoredRecord } from './types';

export class PendingStoreFullError extends Error {
  constructor(readonly limit: number) {
    super(`Too many pending attempts: this node keeps at most ${limit} at a time; wait for some to finish, or send fewer messages while devices are unreachable`);
    this.name = 'PendingStoreFullError';
  }
}

export const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/** The writes waiting for one flush: each put or delete resolves when the version holding it is stored. */
export interface Batch {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

export function newBatch(): Batch {
  const batch = {} as Batch;
  batch.promise = new Promise<void>((resolve, reject) => Object.assign(batch, { resolve, reject }));
  // Callers that ignore a put's promise must not crash Node-RED with an unhandled rejection: onWriteError reports it.
  batch.promise.catch(() => undefined);
  return batch;
}

/**
 * Why a put cannot be taken, as the error to throw or reject with (both stores refuse alike), or
 * undefined when it can.
 */
export function refusedPut<R extends StoredRecord>(closed: boolean, records: ReadonlyMap<string, R>, record: R, maxRecords: number): Error | undefined {
  if (closed) return new Error('The pending store is closed: the node was stopped');
  if (typeof record?.id !== 'string') return new TypeError('A pending record needs a string id');
  if (!records.has(record.id) && records.size >= maxRecords) return new PendingStoreFullError(maxRecords);
  return undefined;
}
