import type { CommandEvent } from '../callbacks';
import type { CommandKind } from '../shared';
import { OldestFirstMap } from '../shared';
import { AnswerPoll } from './answer-poll';
import type { AnswerListCommands, AnswerPollHost, AnswerPollTiming, PolledAnswer } from './answer-poll';
import type { AnswerDeskLike, AnswerWaitOptions } from './types';
import { EarlyAnswers } from './early-answers';
import type { AnswerClaim, EarlyAnswer } from './early-answers';

/**
 * Told of a command from a SIM that no waiter here took (it is kept a while, as ever): where several
 * instances share an account, it passes the answer on to the others and returns the claim this desk
 * must then win before handing it over itself; undefined when nobody else can have it.
 */
export type UnmatchedAnswerHook = (event: CommandEvent) => AnswerClaim | undefined;

export interface AnswerDeskOptions {
  list: AnswerListCommands;
  poll?: Partial<AnswerPollTiming>;
  /** How long a command from a SIM nobody waits for is kept for a command whose create is still on the wire; default 30 000. */
  earlyTtlMs?: number;
  /** Such commands kept at most; default 1000. */
  maxEarly?: number;
  /** Commands waiting at once on the whole account; default 100 000. */
  maxWaiting?: number;
  now?: () => number;
  /** Polling a SIM keeps failing, or cannot work (credentials, unknown SIM): reported once per run of failures. */
  onPollError?: (error: Error, simSid: string) => void;
}

/** wait() when `maxWaiting` commands wait already: nothing was started. */
export class AnswerDeskFullError extends Error {
  override readonly name = 'AnswerDeskFullError';
  constructor(readonly maxWaiting: number) {
    super(`${maxWaiting} commands are already waiting for an answer on this account: lower the answer timeout, or send fewer commands that wait for one`);
  }
}

/** Answers handed out, remembered so that a callback and a poll bringing the same one hand it once. */
export const HANDED_MEMORY = 10_000;
/** The longest delay setTimeout honours; a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Waiter {
  readonly options: AnswerWaitOptions;
  readonly line: Line;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** The commands waiting on one (API, SIM), in the order they were sent. */
interface Line {
  readonly key: string;
  readonly kind: CommandKind;
  readonly simSid: string;
  readonly waiters: Waiter[];
  pollers: number;
  poll?: AnswerPoll;
}

function keyOf(kind: CommandKind, simSid: string): string {
  return `${kind}\u0000${simSid}`;
}

function atLeast(name: string, value: number, min: number): number {
  if (!(value >= min) || !Number.isFinite(value)) throw new RangeError(`${name} must be a finite number >= ${min}, got ${value}`);
  return value;
}

/**
 * One per account: commands waiting for their device's answer, matched FIFO per (API, SIM), fed by
 * command-in through offer() and, for SIMs whose answers cannot come that way, by one poll per SIM.
 */
export class AnswerDesk implements AnswerDeskLike {
  readonly #list: AnswerListCommands;
  readonly #timing: AnswerPollTiming;
  readonly #maxWaiting: number;
  readonly #now: () => number;
  readonly #onPollError: ((error: Error, simSid: string) => void) | undefined;
  readonly #lines = new Map<string, Line>();
  readonly #early: EarlyAnswers;
  /** Answers handed out here, or claimed by another instance. */
  readonly #handed = new OldestFirstMap<string, true>();
  /** Answers whose claim is on its way to Redis. */
  readonly #claiming = new Set<string>();
  #onUnmatched: UnmatchedAnswerHook | undefined;
  #waiting = 0;
  #closed = false;

  constructor(options: AnswerDeskOptions) {
    if (typeof options.list !== 'function') throw new TypeError('list must be a function');
    this.#list = options.list;
    const poll = options.poll ?? {};
    const initialMs = atLeast('poll.initialMs', poll.initialMs ?? 1000, 1);
    this.#timing = {
      initialMs,
      factor: atLeast('poll.factor', poll.factor ?? 2, 1),
      maxMs: atLeast('poll.maxMs', poll.maxMs ?? 15_000, initialMs),
      maxConsecutiveErrors: atLeast('poll.maxConsecutiveErrors', poll.maxConsecutiveErrors ?? 5, 1),
    };
    this.#early = new EarlyAnswers(atLeast('earlyTtlMs', options.earlyTtlMs ?? 30_000, 0), atLeast('maxEarly', options.maxEarly ?? 1000, 0), options.now ?? (() => Date.now()));
    this.#maxWaiting = atLeast('maxWaiting', options.maxWaiting ?? 100_000, 1);
    this.#now = options.now ?? (() => Date.now());
    this.#onPollError = options.onPollError;
  }

  get waiting(): number {
    return this.#waiting;
  }

  /** Commands from SIMs kept for a waiter that has not come yet. */
  get early(): number {
    return this.#early.size;
  }

  /** Polls running now, one per (API, SIM). */
  get polls(): number {
    let count = 0;
    for (const line of this.#lines.values()) if (line.poll !== undefined && !line.poll.stopped) count++;
    return count;
  }

  /**
   * Starts waiting. An answer that came before this call (and after `sentAt`) is handed over at
   * once, before this returns. Throws AnswerDeskFullError when `maxWaiting` commands wait already.
   * After close() nothing starts and nothing is called back.
   */
  wait(options: AnswerWaitOptions): () => void {
    if (typeof options.simSid !== 'string' || options.simSid === '') throw new TypeError('simSid must be a non-empty string');
    if (typeof options.onAnswer !== 'function' || typeof options.onTimeout !== 'function') throw new TypeError('onAnswer and onTimeout must be functions');
    atLeast('timeoutMs', options.timeoutMs, 0);
    if (this.#closed) return () => undefined;
    if (this.#waiting >= this.#maxWaiting) throw new AnswerDeskFullError(this.#maxWaiting);

    const key = keyOf(options.kind, options.simSid);
    this.#early.forgetExpired();
    const early = this.#early.firstFor(key, options.sentAt);
    if (early !== undefined && early.claim === undefined) {
      this.#remember(early.event.sid);
      this.#call(() => options.onAnswer(early.event));
      return () => undefined;
    }
    const line = this.#lines.get(key) ?? this.#openLine(key, options.kind, options.simSid);
    const waiter: Waiter = { options, line, timer: undefined };
    this.#join(waiter);
    waiter.timer = setTimeout(() => this.#expire(waiter), Math.min(options.timeoutMs, MAX_TIMER_MS));
    // Another instance may hold this answer too: it is this waiter's once the claim is won.
    if (early !== undefined) this.#claimThenHand(early);
    return () => this.#leave(waiter);
  }

  offer(event: CommandEvent): boolean {
    const early = this.#arrived(event);
    if (early === undefined) return false;
    const waiter = this.#firstWaiterFor(early);
    if (waiter !== undefined) {
      this.#hand(waiter, event);
      return true;
    }
    let claim: AnswerClaim | undefined;
    try {
      claim = this.#onUnmatched?.(event);
    } catch {
      // Passing it on failed: it stays this instance's own, as without other instances.
    }
    this.#early.keep({ ...early, claim });
    return false;
  }

  /**
   * An answer another instance passed on (nobody waited for it there): a waiter here gets it once
   * `claim` is won; with none, it is kept as an early answer, still to be claimed. True when a
   * waiter here is in line for it.
   */
  offerRouted(event: CommandEvent, claim: AnswerClaim): boolean {
    const arrived = this.#arrived(event);
    if (arrived === undefined) return false;
    const early = { ...arrived, claim };
    if (this.#firstWaiterFor(early) === undefined) {
      this.#early.keep(early);
      return false;
    }
    this.#claimThenHand(early);
    return true;
  }

  /** Where several instances share this account: told of every answer no waiter here took. */
  setUnmatchedHook(hook: UnmatchedAnswerHook | undefined): void {
    this.#onUnmatched = hook;
  }

  /** Stops every poll and timer; waiting commands get nothing more. */
  close(): void {
    this.#closed = true;
    for (const line of this.#lines.values()) {
      line.poll?.stop();
      for (const waiter of line.waiters) clearTimeout(waiter.timer);
    }
    this.#lines.clear();
    this.#early.clear();
    this.#handed.clear();
    this.#claiming.clear();
    this.#waiting = 0;
  }

  // ---- waiters ----------------------------------------------------------------------------------

  #openLine(key: string, kind: CommandKind, simSid: string): Line {
    const line: Line = { key, kind, simSid, waiters: [], pollers: 0 };
    this.#lines.set(key, line);
    return line;
  }

  #join(waiter: Waiter): void {
    const { waiters } = waiter.line;
    // Creates can answer out of order; the line stays in the order the commands were sent.
    let at = waiters.length;
    while (at > 0 && waiters[at - 1].options.sentAt > waiter.options.sentAt) at--;
    waiters.splice(at, 0, waiter);
    this.#waiting++;
    if (waiter.options.source !== 'poll') return;
    const line = waiter.line;
    line.pollers++;
    if (line.poll === undefined) line.poll = new AnswerPoll(line.kind, line.simSid, this.#pollHost(line));
    else line.poll.hurry();
  }

  /** Takes the waiter out of its line; false when it was out already. */
  #leave(waiter: Waiter): boolean {
    const line = waiter.line;
    const at = line.waiters.indexOf(waiter);
    if (at < 0) return false;
    line.waiters.splice(at, 1);
    this.#waiting--;
    clearTimeout(waiter.timer);
    if (waiter.options.source === 'poll' && --line.pollers === 0) {
      line.poll?.stop();
      line.poll = undefined;
    }
    if (line.waiters.length === 0 && this.#lines.get(line.key) === line) this.#lines.delete(line.key);
    return true;
  }

  #hand(waiter: Waiter, event: CommandEvent): void {
    if (!this.#leave(waiter)) return;
    this.#remember(event.sid);
    this.#call(() => waiter.options.onAnswer(event));
  }

  /** An answer as it comes in, unless it is none of this desk's business (or handed already). */
  #arrived(event: CommandEvent): EarlyAnswer | undefined {
    const simSid = event.sim.sid;
    if (this.#closed || event.direction !== 'from_sim' || simSid === null || simSid === '') return undefined;
    if (this.#handed.get(event.sid) !== undefined || this.#claiming.has(event.sid)) return undefined;
    return { key: keyOf(event.kind, simSid), event, arrivedAt: this.#now() };
  }

  #firstWaiterFor(early: EarlyAnswer): Waiter | undefined {
    return this.#lines.get(early.key)?.waiters.find((candidate) => candidate.options.sentAt <= early.arrivedAt);
  }

  /** Hands the answer to the first waiter in line once the claim is won; lost, it is someone else's. */
  #claimThenHand(early: EarlyAnswer): void {
    const sid = early.event.sid;
    this.#early.drop(sid);
    this.#claiming.add(sid);
    const claim = early.claim ?? (() => Promise.resolve(true));
    claim()
      .catch(() => false)
      .then((won) => {
        if (this.#closed || !this.#claiming.delete(sid)) return;
        if (!won) {
          // A poll here must not hand what another instance took.
          this.#remember(sid);
          return;
        }
        const waiter = this.#firstWaiterFor(early);
        // The waiter left meanwhile (timed out, stopped): the answer, now this instance's, waits for the next.
        if (waiter === undefined) this.#early.keep({ key: early.key, event: early.event, arrivedAt: early.arrivedAt });
        else this.#hand(waiter, early.event);
      }, () => undefined);
  }

  #expire(waiter: Waiter): void {
    if (this.#leave(waiter)) this.#call(() => waiter.options.onTimeout());
  }

  #call(callback: () => void): void {
    try {
      callback();
    } catch {
      // The waiter's own failure: the desk and the other waiters carry on.
    }
  }

  #remember(sid: string): void {
    this.#handed.set(sid, true);
    if (this.#handed.size > HANDED_MEMORY) {
      const oldest = this.#handed.oldest();
      if (oldest !== undefined) this.#handed.delete(oldest[0]);
    }
    this.#early.drop(sid);
  }

  // ---- polls ------------------------------------------------------------------------------------

  #pollHost(line: Line): AnswerPollHost {
    return {
      list: this.#list,
      timing: this.#timing,
      now: this.#now,
      oldestCreatedAt: () => {
        let oldest: number | undefined;
        for (const waiter of line.waiters) if (oldest === undefined || waiter.options.createdAt < oldest) oldest = waiter.options.createdAt;
        return oldest;
      },
      isHanded: (sid) => this.#handed.get(sid) !== undefined,
      deliver: (answers) => this.#deliver(line, answers),
      failed: (error) => {
        try {
          this.#onPollError?.(error, line.simSid);
        } catch {
          // A reporter that fails must not stop the poll.
        }
      },
    };
  }

  #deliver(line: Line, answers: PolledAnswer[]): void {
    for (const { event, createdAt } of answers) {
      if (this.#handed.get(event.sid) !== undefined) continue;
      const waiter = line.waiters.find((candidate) => candidate.options.createdAt <= createdAt);
      if (waiter !== undefined) this.#hand(waiter, event);
    }
  }
}
