/**
 * Coalesces the log's changes into batches for the editor: at most one publish per interval however
 * busy the flows are, the first change after a quiet spell out at once, nothing when nothing changed.
 */
import type { CommandBatch } from './log';

/** ≤ 4 publishes a second. */
export const BATCH_INTERVAL_MS = 250;

export interface BatcherOptions {
  take(): CommandBatch | undefined;
  publish(batch: CommandBatch): void;
  intervalMs?: number;
  now?: () => number;
}

export class Batcher {
  readonly #options: BatcherOptions;
  readonly #intervalMs: number;
  readonly #now: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastPublish = -Infinity;

  constructor(options: BatcherOptions) {
    this.#options = options;
    this.#intervalMs = options.intervalMs ?? BATCH_INTERVAL_MS;
    this.#now = options.now ?? Date.now;
  }

  /** Something changed: a batch goes out once the interval since the last one has passed. Cheap when one is due already. */
  changed(): void {
    if (this.#timer !== undefined) return;
    const wait = Math.max(0, this.#lastPublish + this.#intervalMs - this.#now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#publish();
    }, wait);
    // A batch due is no reason to keep Node-RED (or a test) running.
    this.#timer.unref?.();
  }

  /**
   * The last node closed: what is pending goes out now, and no timer is left. Unless a batch went out
   * less than an interval ago: then the timer due for it (unref'd) is the last, within the interval.
   */
  flush(): void {
    if (this.#timer === undefined || this.#now() - this.#lastPublish < this.#intervalMs) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#publish();
  }

  get scheduled(): boolean {
    return this.#timer !== undefined;
  }

  #publish(): void {
    const batch = this.#options.take();
    if (batch === undefined) return;
    this.#lastPublish = this.#now();
    this.#options.publish(batch);
  }
}
