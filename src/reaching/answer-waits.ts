import type { CommandEvent } from '../callbacks';
import { MAX_TIMER_MS } from './job';
import type { Job } from './job';
import type { AnswerDeskLike, AnswerSource, CommandResource } from './types';

/** What a job's wait for its answer needs from the engine that owns the job. */
export interface AnswerWaitHost {
  readonly answers: AnswerDeskLike;
  now(): number;
  /** The created command by sid, for msg.request after a restart. */
  fetch(job: Job): Promise<CommandResource>;
  /** The job changed: a durable one is written again. */
  save(job: Job): void;
  /** Output 3, and the message is complete. */
  answered(job: Job, answer: CommandEvent, request: CommandResource): void;
  /** The Catch error "no answer"; `cause` when the wait could not even start. */
  noAnswer(job: Job, cause?: unknown): void;
  changed(): void;
}

/**
 * The engine's waits for devices' answers: each job waits at most once at a time, on the account's
 * answer desk; this keeps the count the node's status shows, and ends the job when the answer comes
 * or the time is up.
 */
export class AnswerWaits {
  readonly #host: AnswerWaitHost;
  #waiting = 0;

  constructor(host: AnswerWaitHost) {
    this.#host = host;
  }

  /** Jobs waiting for an answer now. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Every job was stopped (the engine closed): none waits. */
  clear(): void {
    this.#waiting = 0;
  }

  /** Starts the job's wait; its `stopWaiting` ends it without any callback. */
  start(job: Job, timeoutMs: number, source: AnswerSource): void {
    const { record } = job;
    if (job.ended) return;
    if (job.durable) {
      record.stage = 'answer';
      record.answerDeadline ??= this.#host.now() + timeoutMs;
      this.#host.save(job);
    }
    if (timeoutMs <= 0 || record.simSid === undefined) {
      this.#host.noAnswer(job);
      return;
    }
    this.#waiting++;
    let waiting = true;
    const settle = (): boolean => {
      if (!waiting || job.ended) return false;
      waiting = false;
      this.#waiting--;
      job.stopWaiting = undefined;
      return true;
    };
    let stop: () => void;
    try {
      stop = this.#host.answers.wait({
        kind: record.kind,
        simSid: record.simSid,
        createdAt: record.createdAt ?? record.attemptStartedAt,
        sentAt: record.attemptStartedAt,
        timeoutMs: Math.min(timeoutMs, MAX_TIMER_MS),
        source,
        onAnswer: (answer) => {
          if (settle()) void this.#answered(job, answer);
        },
        onTimeout: () => {
          if (settle()) this.#host.noAnswer(job);
        },
      });
    } catch (error) {
      // The account's desk is full (commands of every node on it): no answer can be awaited.
      this.#waiting--;
      this.#host.noAnswer(job, error);
      return;
    }
    // An answer that came already is handed over inside wait(): the job may be over by now.
    if (!waiting) return;
    job.stopWaiting = () => {
      if (waiting) {
        waiting = false;
        this.#waiting--;
      }
      stop();
    };
    this.#host.changed();
  }

  async #answered(job: Job, answer: CommandEvent): Promise<void> {
    const { record } = job;
    let request = job.resource;
    if (request === undefined && record.sid !== undefined) {
      // After a restart the created command is known by its sid only.
      request = await this.#host.fetch(job).catch(() => ({ sid: record.sid }));
    }
    if (job.ended) return;
    this.#host.answered(job, answer, request ?? {});
  }
}
