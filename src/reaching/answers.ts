import type { CommandEvent } from '../callbacks';
import type { CommandKind } from '../shared';
import { OldestFirstMap } from '../shared';
import { AnswerPoll } from './answer-poll';
import type { AnswerListCommands, AnswerPollHost, AnswerPollTiming, PolledAnswer } from './answer-poll';
import type { AnswerDeskLike, AnswerWaitOptions } from './types';

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

interface EarlyEvent {
  readonly key: string;
  readonly event: CommandEvent;
  readonly arrivedAt: number;
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
  readonly #earlyTtlMs: number;
  readonly #maxEarly: number;
  readonly #maxWaiting: number;
  readonly #now: () => number;
  readonly #onPollError: ((error: Error, simSid: string) => void) | undefined;
  readonly #lines = new Map<string, Line>();
  /** By command SID, in arrival order. */
  readonly #early = new OldestFirstMap<string, EarlyEvent>();
  readonly #earlyByKey = new Map<string, Map<string, EarlyEvent>>();
  readonly #handed = new OldestFirstMap<string, true>();
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
    this.#earlyTtlMs = atLeast('earlyTtlMs', options.earlyTtlMs ?? 30_000, 0);
    this.#maxEarly = atLeast('maxEarly', options.maxEarly ?? 1000, 0);
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
    this.#forgetExpired();
    const early = this.#earlyFor(key, options.sentAt);
    if (early !== undefined) {
      this.#remember(early.event.sid);
      this.#call(() => options.onAnswer(early.event));
      return () => undefined;
    }
    const line = this.#lines.get(key) ?? this.#openLine(key, options.kind, options.simSid);
    const waiter: Waiter = { options, line, timer: undefined };
    this.#join(waiter);
    waiter.timer = setTimeout(() => this.#expire(waiter), Math.min(options.timeoutMs, MAX_TIMER_MS));
    return () => this.#leave(waiter);
  }

  offer(event: CommandEvent): boolean {
    const simSid = event.sim.sid;
    if (this.#closed || event.direction !== 'from_sim' || simSid === null || simSid === '' || this.#handed.get(event.sid) !== undefined) return false;
    const arrivedAt = this.#now();
    const key = keyOf(event.kind, simSid);
    const waiter = this.#lines.get(key)?.waiters.find((candidate) => candidate.options.sentAt <= arrivedAt);
    if (waiter !== undefined) {
      this.#hand(waiter, event);
      return true;
    }
    this.#keepEarly({ key, event, arrivedAt });
    return false;
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
    this.#earlyByKey.clear();
    this.#handed.clear();
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
    this.#dropEarly(sid);
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

  // ---- answers that came before their waiter ----------------------------------------------------

  #keepEarly(early: EarlyEvent): void {
    if (this.#maxEarly === 0) return;
    this.#forgetExpired();
    this.#dropEarly(early.event.sid);
    while (this.#early.size >= this.#maxEarly) {
      const oldest = this.#early.oldest();
      if (oldest === undefined) break;
      this.#dropEarly(oldest[0]);
    }
    this.#early.set(early.event.sid, early);
    let ofKey = this.#earlyByKey.get(early.key);
    if (ofKey === undefined) {
      ofKey = new Map();
      this.#earlyByKey.set(early.key, ofKey);
    }
    ofKey.set(early.event.sid, early);
  }

  /** The first kept answer of this (API, SIM) that arrived at or after `sentAt`. */
  #earlyFor(key: string, sentAt: number): EarlyEvent | undefined {
    const ofKey = this.#earlyByKey.get(key);
    if (ofKey === undefined) return undefined;
    for (const early of ofKey.values()) if (early.arrivedAt >= sentAt) return early;
    return undefined;
  }

  #forgetExpired(): void {
    const limit = this.#now() - this.#earlyTtlMs;
    for (let oldest = this.#early.oldest(); oldest !== undefined && oldest[1].arrivedAt < limit; oldest = this.#early.oldest()) this.#dropEarly(oldest[0]);
  }

  #dropEarly(sid: string): void {
    const early = this.#early.get(sid);
    if (early === undefined) return;
    this.#early.delete(sid);
    const ofKey = this.#earlyByKey.get(early.key);
    ofKey?.delete(sid);
    if (ofKey?.size === 0) this.#earlyByKey.delete(early.key);
  }
}
