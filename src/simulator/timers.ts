/**
 * Every timer the simulator starts goes through here, so close() can cancel them all and the
 * process is free to exit.
 */
export class Timers {
  readonly #pending = new Map<NodeJS.Timeout, (() => void) | null>();
  #closed = false;

  get closed(): boolean {
    return this.#closed;
  }

  /** The returned function cancels this one timer (a no-op once it ran or the timers were cleared). */
  set(fn: () => void, ms: number): () => void {
    if (this.#closed) return () => undefined;
    const timer = setTimeout(() => {
      this.#pending.delete(timer);
      fn();
    }, ms);
    this.#pending.set(timer, null);
    return () => {
      if (this.#pending.delete(timer)) clearTimeout(timer);
    };
  }

  /** Resolves true after ms, or false as soon as the timers are cleared, so no awaiting code is stranded. */
  sleep(ms: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(timer);
        resolve(true);
      }, ms);
      this.#pending.set(timer, () => resolve(false));
    });
  }

  clear(): void {
    this.#closed = true;
    for (const [timer, cancel] of this.#pending) {
      clearTimeout(timer);
      cancel?.();
    }
    this.#pending.clear();
  }
}
