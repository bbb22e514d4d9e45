import { applyMessage } from './message';
import type { FilterMessage, MessageOutcome } from './message';
import { SaveScheduler } from './persistence';
import type { Store } from './persistence';
import { StatusFilterState } from './state';
import type { StatusFilterOptions } from './state';

/** Messages held while the state loads from its store; a store that never answers must not hold them all. */
export const MAX_WAITING = 1000;

export interface FilterSessionOptions<T> {
  filter: StatusFilterOptions;
  /** Where the state is kept; without one it lives in memory only. */
  store?: Store;
  /** Handles one waiting item once the state is ready (items given to submit() while loading). */
  run: (item: T) => void;
  /** The state is ready: loaded, or given up on after onLoadFailed. */
  onReady: () => void;
  onLoadFailed: (err: unknown) => void;
  onSaveFailed: (err: unknown) => void;
}

/**
 * One deployed status filter: its state, loaded from the store before any message is judged, saved
 * after changes, and the counts its status shows. `T` is whatever the caller needs to finish a message.
 */
export class FilterSession<T> {
  readonly counts = { passed: 0, dropped: 0, invalid: 0 };
  readonly #options: FilterSessionOptions<T>;
  readonly #saver: SaveScheduler | undefined;
  readonly #waiting: T[] = [];
  #state: StatusFilterState;
  #persist: boolean;
  #loading = false;
  #loadFailed = false;
  #closed = false;

  constructor(options: FilterSessionOptions<T>) {
    this.#options = options;
    this.#state = new StatusFilterState(options.filter);
    this.#persist = options.store !== undefined;
    const store = options.store;
    this.#saver = store && new SaveScheduler({ store, snapshot: () => this.#state.toJSON(), onFailure: options.onSaveFailed });
  }

  /** Commands remembered. */
  get tracked(): number {
    return this.#state.size;
  }

  /** Persistence is not working as configured. */
  get degraded(): boolean {
    return this.#loadFailed || (this.#saver?.failing ?? false);
  }

  /** Starts reading the saved state; until it is read, submitted items wait. */
  load(): void {
    const store = this.#options.store;
    if (store === undefined || this.#loading) return;
    this.#loading = true;
    const loaded = (err: unknown, value: unknown): void => this.#loaded(err, value);
    try {
      store.get(loaded);
    } catch (err) {
      loaded(err, undefined);
    }
  }

  /** Runs the item now, or holds it while the state loads; false when too many are held already. */
  submit(item: T): boolean {
    if (!this.#loading) {
      this.#options.run(item);
    } else if (this.#waiting.length < MAX_WAITING) {
      this.#waiting.push(item);
    } else {
      return false;
    }
    return true;
  }

  /** Judges a message (or applies its reset) and counts it; a 'pass' is the caller's to send. */
  apply(msg: FilterMessage): MessageOutcome['decision'] {
    const { decision, changed } = applyMessage(this.#state, msg);
    if (changed && this.#persist) this.#saver?.changed();
    if (decision === 'pass') this.counts.passed++;
    else if (decision === 'invalid') this.counts.invalid++;
    else if (decision !== 'reset') this.counts.dropped++;
    return decision;
  }

  /**
   * Stops: hands back the items still waiting (never run) and resolves once the state is saved. A
   * removed node's context is deleted by the runtime, and a state never loaded must not overwrite the
   * stored one, so neither is flushed.
   */
  close(removed: boolean): { waiting: T[]; saved: Promise<void> } {
    this.#closed = true;
    const flush = this.#persist && !removed && !this.#loading;
    const saved = this.#saver?.close(flush) ?? Promise.resolve();
    return { waiting: this.#waiting.splice(0), saved };
  }

  #loaded(err: unknown, value: unknown): void {
    if (this.#closed || !this.#loading) return;
    this.#loading = false;
    if (err) {
      // Writing now would replace what the store holds (perhaps only unreachable for a moment) with
      // what this node saw since: keep memory only until the next deploy instead.
      this.#persist = false;
      this.#loadFailed = true;
      this.#options.onLoadFailed(err);
    } else {
      this.#state = StatusFilterState.fromJSON(value, this.#options.filter);
    }
    this.#options.onReady();
    for (const item of this.#waiting.splice(0)) this.#options.run(item);
  }
}
