import { ApiError } from '../api';
import { commandEventOf } from '../callbacks';
import type { CommandEvent } from '../callbacks';
import type { CommandKind } from '../shared';
import type { CommandResource, ListCommands } from './types';

/**
 * ListCommands with an optional AbortSignal: any ListCommands fits (it ignores the signal), and one
 * that honours it lets close() give up a list still on the wire.
 */
export type AnswerListCommands = (kind: CommandKind, filter: Parameters<ListCommands>[1] & { signal?: AbortSignal }) => AsyncIterable<CommandResource>;

export interface AnswerPollTiming {
  /** Delay before the first list; default 1000. */
  initialMs: number;
  /** Each later delay is the previous one times this; default 2. */
  factor: number;
  /** Delays stop growing here; default 15 000. */
  maxMs: number;
  /** Failed lists in a row before the failure is reported; default 5. */
  maxConsecutiveErrors: number;
}

/** A command from the SIM found by a poll, with its `date_created` in ms. */
export interface PolledAnswer {
  event: CommandEvent;
  createdAt: number;
}

/** What a poll needs from the desk: whom it reads for, and where its findings go. */
export interface AnswerPollHost {
  readonly list: AnswerListCommands;
  readonly timing: AnswerPollTiming;
  now(): number;
  /** The earliest createdAt of the commands still waiting on this SIM; undefined when none waits. */
  oldestCreatedAt(): number | undefined;
  isHanded(sid: string): boolean;
  /** Oldest first. */
  deliver(answers: PolledAnswer[]): void;
  /** Called once per run of failures; `permanent`: this poll has stopped for good. */
  failed(error: Error, permanent: boolean): void;
}

/** The newest commands of one SIM are all a poll needs: an answer comes soon after its command. */
export const ANSWER_PAGE_SIZE = 20;

/** The longest delay setTimeout honours; a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Answers no retry can change: the credentials are refused, or the SIM (or the API path) does not exist. */
function isPermanent(error: unknown): boolean {
  return error instanceof ApiError && (error.kind === 'auth' || error.kind === 'closed' || error.status === 401 || error.status === 403 || error.status === 404);
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** One poll loop for one (API, SIM), however many commands wait on it. */
export class AnswerPoll {
  readonly #kind: CommandKind;
  readonly #simSid: string;
  readonly #host: AnswerPollHost;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #dueAt = 0;
  #nextDelayMs: number;
  #controller: AbortController | undefined;
  #consecutiveErrors = 0;
  #stopped = false;

  constructor(kind: CommandKind, simSid: string, host: AnswerPollHost) {
    this.#kind = kind;
    this.#simSid = simSid;
    this.#host = host;
    this.#nextDelayMs = host.timing.initialMs;
    this.#schedule();
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** A command joined: the device is likely to answer soon, so look again soon. */
  hurry(): void {
    if (this.#stopped) return;
    const { initialMs } = this.#host.timing;
    this.#nextDelayMs = initialMs;
    // A list on the wire schedules the next one itself, with this shorter delay.
    if (this.#timer !== undefined && this.#dueAt - this.#host.now() > initialMs) {
      clearTimeout(this.#timer);
      this.#schedule();
    }
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#controller?.abort();
    this.#controller = undefined;
  }

  #schedule(): void {
    const { factor, maxMs } = this.#host.timing;
    const delayMs = this.#nextDelayMs;
    this.#nextDelayMs = Math.min(delayMs * factor, maxMs);
    this.#dueAt = this.#host.now() + delayMs;
    this.#timer = setTimeout(() => void this.#round(), Math.min(delayMs, MAX_TIMER_MS));
  }

  async #round(): Promise<void> {
    this.#timer = undefined;
    const controller = new AbortController();
    this.#controller = controller;
    try {
      const answers = await this.#read(controller.signal);
      if (this.#stopped) return;
      this.#consecutiveErrors = 0;
      this.#host.deliver(answers);
    } catch (error) {
      if (this.#stopped) return;
      this.#consecutiveErrors++;
      const permanent = isPermanent(error);
      if (permanent || this.#consecutiveErrors === this.#host.timing.maxConsecutiveErrors) this.#host.failed(asError(error), permanent);
      if (permanent) {
        this.stop();
        return;
      }
    } finally {
      if (this.#controller === controller) this.#controller = undefined;
    }
    if (!this.#stopped) this.#schedule();
  }

  /** The SIM's commands not handed out yet and not older than the oldest waiting command, oldest first. */
  async #read(signal: AbortSignal): Promise<PolledAnswer[]> {
    const since = this.#host.oldestCreatedAt();
    if (since === undefined) return [];
    const found: PolledAnswer[] = [];
    let seen = 0;
    const listed = this.#host.list(this.#kind, { sim: this.#simSid, direction: 'from_sim', pageSize: ANSWER_PAGE_SIZE, signal });
    for await (const resource of listed) {
      if (signal.aborted) break;
      seen++;
      const createdAt = Date.parse(String(resource.date_created));
      // Newest first: everything after this was created before any waiting command.
      if (createdAt < since) break;
      if (this.#isCandidate(resource) && Number.isFinite(createdAt)) found.push({ event: commandEventOf(this.#kind, resource), createdAt });
      if (seen >= ANSWER_PAGE_SIZE) break;
    }
    return found.reverse();
  }

  #isCandidate(resource: CommandResource): boolean {
    const { sid, sim_sid: simSid, direction } = resource;
    // A provider that ignored a filter must not make another SIM's command, or our own, an answer.
    return typeof sid === 'string' && sid !== '' && !this.#host.isHanded(sid) && (simSid == null || simSid === this.#simSid) && (direction == null || direction === 'from_sim');
  }
}
