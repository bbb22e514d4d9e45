import type { CommandStatus } from '../shared';
import { OldestFirstMap } from '../shared';

/** What the hub needs of a status callback; the callback receiver's richer event fits it. */
export interface StatusEventLike {
  sid: string;
  status: CommandStatus;
  errorCode: number | null;
  errorMessage: string | null;
}

export interface CallbackHubOptions {
  /** How long an event nobody tracks (yet) is kept for a late subscriber; default 60 s. */
  earlyEventTtlMs?: number;
  /** At most this many such events are kept, the oldest dropped first; default 1000. */
  maxEarlyEvents?: number;
  now?: () => number;
}

interface EarlyEvent<E> {
  seq: number;
  sid: string;
  event: E;
  at: number;
}

function nonNegative(name: string, value: number): number {
  if (!(value >= 0)) throw new RangeError(`${name} must be a number >= 0, got ${value}`);
  return value;
}

/**
 * One per account: the callback route hands every status event here, and each tracker subscribes to
 * the CommandSid it follows. A fast device can make the API call back before the create request has
 * answered, that is before anyone knows the SID to subscribe to; such events are kept for a while and
 * replayed to the first subscriber, so that tracking does not miss the command's first steps.
 */
export class CallbackHub<E extends StatusEventLike = StatusEventLike> {
  readonly #ttlMs: number;
  readonly #maxEarly: number;
  readonly #now: () => number;
  readonly #listeners = new Map<string, Set<(event: E) => void>>();
  #listenerCount = 0;
  /** By arrival number, in arrival order across all SIDs, so the oldest can be dropped or expired in O(1). */
  readonly #early = new OldestFirstMap<number, EarlyEvent<E>>();
  #seq = 0;
  #onUntracked: ((event: E) => void) | undefined;
  /** The same events by SID, each list in arrival order. */
  readonly #earlyBySid = new Map<string, EarlyEvent<E>[]>();

  constructor(options: CallbackHubOptions = {}) {
    this.#ttlMs = nonNegative('earlyEventTtlMs', options.earlyEventTtlMs ?? 60_000);
    this.#maxEarly = nonNegative('maxEarlyEvents', options.maxEarlyEvents ?? 1000);
    this.#now = options.now ?? Date.now;
  }

  /**
   * Hands the event to the SID's subscribers; true when there was one, else it is kept for a while
   * and the untracked hook (if set) is told.
   */
  deliver(event: E): boolean {
    if (this.deliverRouted(event)) return true;
    try {
      this.#onUntracked?.(event);
    } catch {
      // Passing it on to other instances failed: it is still kept here, as without them.
    }
    return false;
  }

  /** deliver() for an event another instance passed on: never passed on again. */
  deliverRouted(event: E): boolean {
    const listeners = this.#listeners.get(event.sid);
    if (listeners !== undefined) {
      // A listener may unsubscribe while being called (its command reached a final status).
      for (const listener of [...listeners]) listener(event);
      return true;
    }
    this.#keep(event);
    return false;
  }

  /** Where several instances share this account's callbacks: told of every event nobody here tracks. */
  setUntrackedHook(hook: ((event: E) => void) | undefined): void {
    this.#onUntracked = hook;
  }

  hasSubscriber(sid: string): boolean {
    return this.#listeners.has(sid);
  }

  /** Replays the SID's kept events (in arrival order) before returning, then passes on new ones. */
  subscribe(sid: string, listener: (event: E) => void): () => void {
    let listeners = this.#listeners.get(sid);
    if (listeners === undefined) {
      listeners = new Set();
      this.#listeners.set(sid, listeners);
    }
    // The same function twice would be called once but counted twice.
    const wrapped = (event: E): void => listener(event);
    listeners.add(wrapped);
    this.#listenerCount++;
    const unsubscribe = (): void => {
      const current = this.#listeners.get(sid);
      // Unsubscribing twice, or after clear(), finds nothing to remove.
      if (current?.delete(wrapped) !== true) return;
      this.#listenerCount--;
      if (current.size === 0) this.#listeners.delete(sid);
    };
    this.#prune();
    const kept = this.#earlyBySid.get(sid);
    if (kept !== undefined) {
      this.#earlyBySid.delete(sid);
      for (const early of kept) this.#early.delete(early.seq);
      for (const early of kept) wrapped(early.event);
    }
    return unsubscribe;
  }

  /** Listeners currently subscribed. */
  get subscribers(): number {
    return this.#listenerCount;
  }

  /** Events kept for a subscriber that has not come (yet), expired ones not counted. */
  get earlyEvents(): number {
    this.#prune();
    return this.#early.size;
  }

  /** Forgets every listener and every kept event (the account is going away). */
  clear(): void {
    this.#listeners.clear();
    this.#listenerCount = 0;
    this.#early.clear();
    this.#earlyBySid.clear();
  }

  #keep(event: E): void {
    this.#prune();
    if (this.#maxEarly === 0) return;
    while (this.#early.size >= this.#maxEarly) this.#dropOldest();
    const early: EarlyEvent<E> = { seq: this.#seq++, sid: event.sid, event, at: this.#now() };
    this.#early.set(early.seq, early);
    const list = this.#earlyBySid.get(event.sid);
    if (list === undefined) this.#earlyBySid.set(event.sid, [early]);
    else list.push(early);
  }

  /** Arrival order is time order, so expired events are all at the front: each is looked at once. */
  #prune(): void {
    const limit = this.#now() - this.#ttlMs;
    while ((this.#early.oldest()?.[1].at ?? limit) < limit) this.#dropOldest();
  }

  #dropOldest(): void {
    const oldest = this.#early.oldest();
    if (oldest === undefined) return;
    const [seq, { sid }] = oldest;
    this.#early.delete(seq);
    // The oldest event overall is also the oldest of its SID, so it is at the front of that list.
    const list = this.#earlyBySid.get(sid);
    list?.shift();
    if (list?.length === 0) this.#earlyBySid.delete(sid);
  }
}
