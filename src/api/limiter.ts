/**
 * Caps the requests one account has in flight and queues the rest, with a bound on the queue so a
 * flood of messages fails fast instead of growing memory without limit.
 */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
}

export class LimiterClosedError extends Error {
  override readonly name = 'LimiterClosedError';
}

export class AcquireAbortedError extends Error {
  override readonly name = 'AcquireAbortedError';
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  /** Set when the waiter gave up (aborted) while queued: skipped when its turn comes. */
  gone: boolean;
}

export class ConcurrencyLimiter {
  readonly maxInFlight: number;
  readonly maxQueue: number;
  #inFlight = 0;
  // An array with a moving head: O(1) dequeue without Array#shift's copying under deep queues.
  #queue: (Waiter | undefined)[] = [];
  #head = 0;
  #gone = 0;
  #closed = false;

  constructor(maxInFlight: number, maxQueue: number) {
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new RangeError('maxInFlight must be a whole number of at least 1');
    if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new RangeError('maxQueue must be a whole number of at least 0');
    this.maxInFlight = maxInFlight;
    this.maxQueue = maxQueue;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#queue.length - this.#head - this.#gone;
  }

  /**
   * Resolves when a slot is held; the caller must call `release()` exactly once afterwards. An abort
   * while waiting takes the caller out of the queue (rejecting with AcquireAbortedError).
   */
  acquire(signal?: AbortSignal): Promise<void> | undefined {
    if (this.#closed) return Promise.reject(new LimiterClosedError('closed'));
    if (signal?.aborted) return Promise.reject(new AcquireAbortedError('aborted'));
    if (this.#inFlight < this.maxInFlight) {
      this.#inFlight++;
      // No promise on the fast path: most calls never wait.
      return undefined;
    }
    if (this.queued >= this.maxQueue) return Promise.reject(new QueueFullError('queue full'));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, gone: false };
      if (signal) {
        const onAbort = (): void => {
          if (waiter.gone) return;
          waiter.gone = true;
          this.#gone++;
          reject(new AcquireAbortedError('aborted'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.resolve = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
      }
      this.#queue.push(waiter);
    });
  }

  release(): void {
    const next = this.#dequeue();
    if (next) {
      // The slot passes straight to the next waiter, so the count stays the same.
      next.resolve();
    } else {
      this.#inFlight--;
    }
  }

  /** Refuses new work and rejects everything still waiting; slots already held finish normally. */
  close(): void {
    this.#closed = true;
    let waiter = this.#dequeue();
    while (waiter) {
      waiter.reject(new LimiterClosedError('closed'));
      waiter = this.#dequeue();
    }
  }

  #dequeue(): Waiter | undefined {
    let waiter: Waiter | undefined;
    do {
      if (this.#head >= this.#queue.length) return undefined;
      waiter = this.#queue[this.#head];
      this.#queue[this.#head] = undefined;
      this.#head++;
      if (waiter?.gone) this.#gone--;
    } while (waiter === undefined || waiter.gone);
    waiter.gone = true;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return waiter;
  }
}
