/**
 * Turns a list that arrives page by page into a message sequence a core `join` in automatic mode puts
 * back together, the way core `split` streams: `msg.parts` with `id`, `index`, `type: 'array'`, and
 * `count` on the last message, since no page says how many items follow it.
 */

export interface SequenceParts {
  id: string;
  index: number;
  /** Only on the last message: the list's length is known once its last page has been read. */
  count?: number;
  type: 'array';
  /** An enclosing sequence the input message was part of, as core split nests them. */
  parts?: unknown;
}

export interface EmitSequenceOptions {
  /** The sequence's msg.parts.id. */
  id: string;
  /** The input message's msg.parts, kept as the nested sequence. */
  enclosing?: unknown;
  /** Stops reading: nothing more is emitted once it is aborted. */
  signal?: AbortSignal;
  /** Called after each batch, with how many items have been read (for a node's status). */
  progress?: (read: number) => void;
}

/**
 * Emits each item as the next one arrives, holding back only the latest, so that memory holds at most
 * the batch at hand however long the list. Resolves with the number of items emitted; an empty list
 * emits nothing. A failure part way rejects, and the item held back is not emitted: a partial
 * sequence never claims a count.
 */
export async function emitSequence<T>(batches: AsyncIterable<readonly T[]>, emit: (item: T, parts: SequenceParts) => void, options: EmitSequenceOptions): Promise<number> {
  const { id, enclosing, signal, progress } = options;
  // One shape for every parts object: thousands are made per listing.
  const partsOf = (index: number, count: number | undefined): SequenceParts => {
    const parts: SequenceParts = count === undefined ? { id, index, type: 'array' } : { id, index, count, type: 'array' };
    if (enclosing !== undefined) parts.parts = enclosing;
    return parts;
  };
  let held: T | undefined;
  let read = 0;
  for await (const batch of batches) {
    for (const item of batch) {
      if (signal?.aborted) throw abortReason(signal);
      if (read > 0) emit(held as T, partsOf(read - 1, undefined));
      held = item;
      read++;
    }
    progress?.(read);
  }
  if (signal?.aborted) throw abortReason(signal);
  if (read > 0) emit(held as T, partsOf(read - 1, read));
  return read;
}

/** Reads the whole list into one array, for the `array` output (and for lists the user bounds). */
export async function collectAll<T>(batches: AsyncIterable<readonly T[]>, options: Pick<EmitSequenceOptions, 'signal' | 'progress'> = {}): Promise<T[]> {
  const all: T[] = [];
  for await (const batch of batches) {
    if (options.signal?.aborted) throw abortReason(options.signal);
    for (const item of batch) all.push(item);
    options.progress?.(all.length);
  }
  return all;
}

/** Items one at a time as batches of one, for a list read without reading ahead. */
export async function* oneByOne<T>(items: AsyncIterable<T>): AsyncIterableIterator<T[]> {
  for await (const item of items) yield [item];
}

/** At most `limit` items of a list; stops asking for pages once it has them. */
export async function* firstOf<T>(items: AsyncIterable<T>, limit: number): AsyncIterableIterator<T> {
  if (limit <= 0) return;
  let taken = 0;
  for await (const item of items) {
    yield item;
    if (++taken >= limit) return;
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('The listing was stopped before it finished');
}
