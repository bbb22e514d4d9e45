import { applyMessage, commandOf, resetOf } from './message';
import type { FilterMessage, MessageOutcome } from './message';
import { SaveScheduler } from './persistence';
import type { Store } from './persistence';
import { SharedFilter } from './shared';
import type { SharedFilterStore } from './shared';
import { DEFAULT_TTL_MS, StatusFilterState } from './state';
import type { StatusFilterOptions } from './state';

/** Messages held while the state loads from its store; a store that never answers must not hold them all. */
export const MAX_WAITING = 1000;
/** Messages waiting for the shared store's answer: bounded as its commands time out, and bounded again here. */
export const MAX_SHARED_IN_FLIGHT = 10_000;

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
  /** Several instances: where each command's status is judged; the local state decides while it cannot answer. */
  shared?: {
    store: SharedFilterStore;
    /** Once per outage of the store. */
    onFallback: (err: unknown) => void;
    onResumed: () => void;
  };
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
  readonly #shared: SharedFilter | undefined;
  /** Decisions of the shared store are finished in the order their messages came. */
  #tail: Promise<void> = Promise.resolve();
  #inFlight = 0;

  constructor(options: FilterSessionOptions<T>) {
    this.#options = options;
    this.#state = new StatusFilterState(options.filter);
    this.#persist = options.store !== undefined;
    const store = options.store;
    this.#saver = store && new SaveScheduler({ store, snapshot: () => this.#state.toJSON(), onFailure: options.onSaveFailed });
    const shared = options.shared;
    this.#shared =
      shared &&
      new SharedFilter({
        store: shared.store,
        ttlMs: options.filter.ttlMs ?? DEFAULT_TTL_MS,
        statuses: new Set(options.filter.statuses ?? []),
        onFallback: shared.onFallback,
        onResumed: shared.onResumed,
      });
  }

  /** The shared store is configured but failed last: the local state decides. */
  get fallingBack(): boolean {
    return this.#shared?.fallingBack ?? false;
  }

  /** Too many messages wait for the shared store's answer to take another. */
  get sharedBusy(): boolean {
    return this.#inFlight >= MAX_SHARED_IN_FLIGHT;
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
    if (this.sharedBusy) return false;
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
    return this.#counted(applyMessage(this.#state, msg));
  }

  /**
   * `apply`, with the shared store's decision when there is one: `finish` runs at once without it,
   * else once the store answered (or failed and the local state decided), in the order of the messages.
   */
  judge(msg: FilterMessage, finish: (decision: MessageOutcome['decision']) => void): void {
    const shared = this.#shared;
    if (shared === undefined) {
      finish(this.apply(msg));
      return;
    }
    // Asked now, so that the store sees the messages in their order; only the finishing waits.
    const decided = this.#applyShared(shared, msg);
    this.#inFlight++;
    this.#tail = this.#tail
      .then(() => decided)
      .then((outcome) => {
        this.#inFlight--;
        finish(this.#counted(outcome));
      })
      .catch(() => undefined);
  }

  async #applyShared(shared: SharedFilter, msg: FilterMessage): Promise<MessageOutcome> {
    const command = commandOf(msg);
    const reset = resetOf(msg, command);
    if (reset !== undefined) {
      const outcome = applyMessage(this.#state, msg);
      await shared.reset(reset.all ? undefined : reset.sid);
      return { decision: 'reset', changed: outcome.changed };
    }
    const decision = await shared.decide(this.#state, command?.sid, command?.status);
    return { decision, changed: decision === 'pass' || decision === 'not-selected' };
  }

  #counted({ decision, changed }: MessageOutcome): MessageOutcome['decision'] {
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
    const closeSaver = (): Promise<void> => this.#saver?.close(flush) ?? Promise.resolve();
    // The shared store's answers still due finish first (its commands time out), so the save holds them.
    const saved = this.#shared === undefined ? closeSaver() : this.#tail.then(closeSaver);
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
