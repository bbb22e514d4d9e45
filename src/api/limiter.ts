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

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class ConcurrencyLimiter {
  readonly maxInFlight: number;
  readonly maxQueue: number;
  #inFlight = 0;
  // An array with a moving head: O(1) dequeue without Array#shift's copying under deep queues.
  #queue: (Waiter | undefined)[] = [];
  #head = 0;
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
    return this.#queue.length - this.#head;
  }

  /** Resolves when a slot is held; the caller must call `release()` exactly once afterwards. */
  acquire(): Promise<void> | undefined {
    if (this.#closed) return Promise.reject(new LimiterClosedError('closed'));
    if (this.#inFlight < this.maxInFlight) {
      this.#inFlight++;
      // No promise on the fast path: most calls never wait.
      return undefined;
    }
    if (this.queued >= this.maxQueue) return Promise.reject(new QueueFullError('queue full'));
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ resolve, reject });
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
    if (this.#head >= this.#queue.length) return undefined;
    const waiter = this.#queue[this.#head];
    this.#queue[this.#head] = undefined;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return waiter;
  }
}
