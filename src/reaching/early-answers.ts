import type { CommandEvent } from '../callbacks';
import { OldestFirstMap } from '../shared';

/**
 * Wins the right to hand an answer over, where other instances may hold the same answer (it was
 * routed between them): true when this instance may hand it, false when another one took it.
 */
export type AnswerClaim = () => Promise<boolean>;

/** A command from a SIM that no waiter took (yet). */
export interface EarlyAnswer {
  /** The (API, SIM) line it belongs to. */
  readonly key: string;
  readonly event: CommandEvent;
  readonly arrivedAt: number;
  /** Set while other instances may hold it too: whoever hands it over wins this first. */
  readonly claim?: AnswerClaim;
}

/**
 * The desk's answers that came before their waiter (a create still on the wire): kept a while,
 * bounded, the oldest dropped first; by command SID and by (API, SIM) line.
 */
export class EarlyAnswers {
  /** By command SID, in arrival order. */
  readonly #bySid = new OldestFirstMap<string, EarlyAnswer>();
  readonly #byKey = new Map<string, Map<string, EarlyAnswer>>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.#bySid.size;
  }

  keep(early: EarlyAnswer): void {
    if (this.max === 0) return;
    this.forgetExpired();
    this.drop(early.event.sid);
    while (this.#bySid.size >= this.max) {
      const oldest = this.#bySid.oldest();
      if (oldest === undefined) break;
      this.drop(oldest[0]);
    }
    this.#bySid.set(early.event.sid, early);
    let ofKey = this.#byKey.get(early.key);
    if (ofKey === undefined) {
      ofKey = new Map();
      this.#byKey.set(early.key, ofKey);
    }
    ofKey.set(early.event.sid, early);
  }

  /** The first kept answer of this (API, SIM) that arrived at or after `sentAt`. */
  firstFor(key: string, sentAt: number): EarlyAnswer | undefined {
    const ofKey = this.#byKey.get(key);
    if (ofKey === undefined) return undefined;
    for (const early of ofKey.values()) if (early.arrivedAt >= sentAt) return early;
    return undefined;
  }

  forgetExpired(): void {
    const limit = this.now() - this.ttlMs;
    for (let oldest = this.#bySid.oldest(); oldest !== undefined && oldest[1].arrivedAt < limit; oldest = this.#bySid.oldest()) this.drop(oldest[0]);
  }

  drop(sid: string): void {
    const early = this.#bySid.get(sid);
    if (early === undefined) return;
    this.#bySid.delete(sid);
    const ofKey = this.#byKey.get(early.key);
    ofKey?.delete(sid);
    if (ofKey?.size === 0) this.#byKey.delete(early.key);
  }

  clear(): void {
    this.#bySid.clear();
    this.#byKey.clear();
  }
}
