/**
 * Reads a list ahead of its consumer, up to a bound: while a flow is handed one page, the request for
 * the next one is already on its way, so the node's own work overlaps the API's instead of adding to it.
 */

/**
 * Yields what `source` yields, in order, in batches: each batch is everything read since the last
 * one, at most `max` items, so a consumer handles a page at once rather than item by item. A failure
 * of the source is thrown after the items read before it. Stopping early (return(), or a throw in the
 * consumer) lets a request on the wire finish, then closes the source.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, max: number): AsyncIterableIterator<T[]> {
  const iterator = source[Symbol.asyncIterator]();
  let buffer: T[] = [];
  let sourceDone = false;
  let ended = false;
  let failure: { error: unknown } | undefined;
  let stopped = false;
  let itemsArrived: (() => void) | undefined;
  let roomMade: (() => void) | undefined;
  let wakeScheduled = false;
  // Woken after the microtasks have run: by then the pump has read whatever the page still had, so the
  // consumer gets the page as one batch rather than item by item.
  const wakeConsumer = (): void => {
    if (wakeScheduled || itemsArrived === undefined) return;
    wakeScheduled = true;
    setImmediate(() => {
      wakeScheduled = false;
      const wake = itemsArrived;
      itemsArrived = undefined;
      wake?.();
    });
  };

  const pump = (async () => {
    try {
      while (!stopped) {
        if (buffer.length >= max) {
          await new Promise<void>((resolve) => (roomMade = resolve));
          continue;
        }
        const step = await iterator.next();
        if (step.done === true) {
          sourceDone = true;
          break;
        }
        buffer.push(step.value);
        wakeConsumer();
      }
    } catch (error) {
      sourceDone = true;
      failure = { error };
    } finally {
      ended = true;
      wakeConsumer();
    }
  })();

  try {
    for (;;) {
      if (buffer.length > 0) {
        const batch = buffer;
        buffer = [];
        const wake = roomMade;
        roomMade = undefined;
        wake?.();
        yield batch;
        continue;
      }
      if (failure !== undefined) throw failure.error;
      if (ended) return;
      await new Promise<void>((resolve) => (itemsArrived = resolve));
    }
  } finally {
    stopped = true;
    roomMade?.();
    await pump;
    if (!sourceDone) await iterator.return?.();
  }
}
