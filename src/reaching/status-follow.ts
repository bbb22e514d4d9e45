import { isCommandStatus } from '../commands';
import type { CommandStatus } from '../shared';
import type { StatusUpdate } from '../tracking';
import { durationText } from './errors';
import type { ReachErrorCode } from './errors';
import { MAX_TIMER_MS, errorCodeOf } from './job';
import type { Job, PendingCommandsOptions } from './job';
import type { AnswerSource } from './types';

/** What following an attempt's status needs from the engine that owns the job. */
export interface StatusFollowHost {
  readonly options: PendingCommandsOptions;
  now(): number;
  waitForAnswer(job: Job, timeoutMs: number, source: AnswerSource): void;
  /** The backoff is over: the next attempt is created. */
  nextAttempt(job: Job): void;
  enterBackoff(job: Job): void;
  fail(job: Job, code: ReachErrorCode, values: Record<string, string | number>, cause?: unknown): void;
  giveUp(job: Job): void;
  /** The message is complete (no error). */
  finish(job: Job): void;
  save(job: Job): void;
}

/**
 * Following each attempt's status to its outcome: the goal (then the answer, when awaited), `failed`
 * (then a backoff before the next attempt, or giving up at the deadline), or unknown. Only a `failed`
 * the API reported leads to another create: an unknown outcome may have acted on the device.
 */
export class StatusFollow {
  readonly #host: StatusFollowHost;

  constructor(host: StatusFollowHost) {
    this.#host = host;
  }

  follow(job: Job, mode: 'callback' | 'poll'): void {
    const { record } = job;
    const { options } = this.#host;
    if (job.ended) return;
    const sid = record.sid;
    const status = record.status as CommandStatus | undefined;
    if (sid === undefined || !isCommandStatus(status)) {
      this.#host.fail(job, 'attempt-unknown', { reason: 'the API answered without a usable sid and status' });
      return;
    }
    // Without keeping trying, the answer is awaited from the start: it may come before `sent` is seen.
    if (!job.durable && record.answerTimeoutMs !== undefined) this.#host.waitForAnswer(job, record.answerTimeoutMs, options.answerSource());
    job.following = true;
    const started = options.tracker.track({
      kind: record.kind,
      resource: { sid, status },
      mode,
      timeoutMs: Math.min(record.followMs, MAX_TIMER_MS),
      deliveryReceipt: record.deliveryReceipt,
      onUpdate: (update) => this.#onStatus(job, update),
      onEnd: (reason) => {
        if (job.ended || !job.following) return;
        job.following = false;
        if (reason === 'closed') return;
        if (reason === 'final') this.#onGoal(job);
        else this.#onUnknown(job, reason === 'timeout' ? `its status did not become final within ${durationText(record.followMs)}` : 'its status could not be read');
      },
    });
    if (!started && job.following) {
      job.following = false;
      this.#onUnknown(job, 'too many commands are followed at once');
    }
  }

  toBackoff(job: Job, at: number): void {
    const { record } = job;
    if (job.ended) return;
    this.#host.enterBackoff(job);
    record.stage = 'backoff';
    record.nextAttemptAt = at;
    this.#host.save(job);
    job.timer = setTimeout(() => {
      job.timer = undefined;
      this.#host.nextAttempt(job);
    }, Math.min(Math.max(0, at - this.#host.now()), MAX_TIMER_MS));
    this.#host.options.events.changed();
  }

  #onStatus(job: Job, update: StatusUpdate): void {
    // A message answered (or given up) still reports its command's later statuses: they are true.
    if (job.reportStatus) this.#host.options.events.status(job, update);
    if (job.ended) return;
    const { record } = job;
    record.status = update.status;
    if (update.status === 'failed') {
      job.following = false;
      record.lastErrorCode = errorCodeOf(update.resource);
      this.#onFailed(job);
      return;
    }
    if (update.final) {
      job.following = false;
      this.#onGoal(job);
      return;
    }
    this.#host.save(job);
  }

  /** The attempt reached its goal (sent, or delivered where a receipt comes). */
  #onGoal(job: Job): void {
    const { record } = job;
    if (job.ended) return;
    if (record.status === 'failed') return this.#onFailed(job);
    if (record.answerTimeoutMs === undefined) return this.#host.finish(job);
    if (job.durable) this.#host.waitForAnswer(job, record.answerTimeoutMs, this.#host.options.answerSource());
    else if (job.stopWaiting === undefined) this.#host.finish(job);
  }

  #onFailed(job: Job): void {
    const { record } = job;
    job.stopWaiting?.();
    job.stopWaiting = undefined;
    if (!job.durable) {
      if (record.answerTimeoutMs !== undefined) this.#host.fail(job, 'no-answer-failed', { code: record.lastErrorCode ?? '?' });
      else this.#host.finish(job);
      return;
    }
    const now = this.#host.now();
    if (now >= record.deadline) return this.#host.giveUp(job);
    this.toBackoff(job, Math.min(now + this.#host.options.backoffMs(record.attempt), record.deadline));
  }

  #onUnknown(job: Job, reason: string): void {
    // Without keeping trying, an unknown outcome only ends the follow; the answer may still come.
    if (!job.durable) {
      if (job.stopWaiting === undefined) this.#host.finish(job);
      return;
    }
    this.#host.fail(job, 'attempt-unknown', { reason });
  }
}
