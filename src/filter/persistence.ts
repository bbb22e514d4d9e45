import type { StatusFilterSnapshot } from './state';

/** Node context is per node, so one fixed key is enough. */
export const STATE_KEY = 'statusFilter';
/** A snapshot holds up to maxCommands entries (MBs at the default), so it is written at most this often. */
export const SAVE_INTERVAL_MS = 1000;

/** Where the filter's state outlives a deploy or a restart: in Node-RED, a context store. */
export interface Store {
  get(callback: (err: unknown, value: unknown) => void): void;
  set(snapshot: StatusFilterSnapshot, callback: (err: unknown) => void): void;
}

export interface SaveSchedulerOptions {
  store: Store;
  /** The state to save, taken when the write starts. */
  snapshot: () => StatusFilterSnapshot;
  /** Called once per failing streak: the first failure after a success (or the start). */
  onFailure: (err: unknown) => void;
}

/**
 * Writes the state after changes, at most once a SAVE_INTERVAL_MS and never two writes at a time, so
 * that thousands of messages a second cost one write a second.
 */
export class SaveScheduler {
  readonly #options: SaveSchedulerOptions;
  #dirty = false;
  #lastSaveAt = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  #saving: Promise<void> | undefined;
  #failing = false;
  #closed = false;

  constructor(options: SaveSchedulerOptions) {
    this.#options = options;
  }

  /** The last write failed. */
  get failing(): boolean {
    return this.#failing;
  }

  /** The state has news that is not written yet. */
  get dirty(): boolean {
    return this.#dirty;
  }

  changed(): void {
    this.#dirty = true;
    this.#schedule();
  }

  /** Stops scheduling; waits for a write under way, then writes what is left when `flush`. */
  close(flush: boolean): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return (this.#saving ?? Promise.resolve()).then(() => (flush && this.#dirty ? this.#write() : undefined));
  }

  #schedule(): void {
    if (this.#saving !== undefined || this.#timer !== undefined || this.#closed) return;
    // Even with no wait left, a timer lets a synchronous burst of messages share one write.
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#saving = this.#write().then(() => {
          this.#saving = undefined;
          if (this.#dirty) this.#schedule();
        });
      },
      Math.max(0, this.#lastSaveAt + SAVE_INTERVAL_MS - Date.now()),
    );
  }

  #write(): Promise<void> {
    this.#dirty = false;
    this.#lastSaveAt = Date.now();
    return new Promise((resolve) => {
      const finished = (err: unknown): void => {
        if (err) {
          // Kept dirty so the next change (or close) tries again.
          this.#dirty = true;
          if (!this.#failing) this.#options.onFailure(err);
          this.#failing = true;
        } else {
          this.#failing = false;
        }
        resolve();
      };
      try {
        this.#options.store.set(this.#options.snapshot(), finished);
      } catch (err) {
        finished(err);
      }
    });
  }
}
