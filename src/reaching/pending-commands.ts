import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { CommandEvent } from '../callbacks';
import { AnswerWaits } from './answer-waits';
import { Attempts } from './attempts';
import { ReachError, ReachRefusal, durationText } from './errors';
import type { ReachErrorCode } from './errors';
import { newJob } from './job';
import type { Job, NewCommand, PendingCommandsOptions } from './job';
import { deserialiseMessage, serialiseMessage } from './messages';
import { StatusFollow } from './status-follow';
import type { CommandResource, PendingAttempt } from './types';

export type { NewCommand, PendingCommandsOptions, PendingEvents, PendingJob } from './job';

/** Attempts that came due while Node-RED was down start within this long of the resume. */
export const RESUME_SPREAD_MS = 5_000;

/**
 * What a send node does after a create when it waits for the device's answer or keeps trying: follow
 * each attempt's status, create the command again only after the API said `failed`, wait for the
 * answer, and keep every kept-trying message in a durable store so that a restart resumes it. Each
 * message ends in exactly one of: its goal (and the answer, when awaited), or one Catch error.
 * Creating later attempts lives in attempts.ts, following each one's status in status-follow.ts,
 * waiting for answers in answer-waits.ts.
 */
export class PendingCommands {
  readonly #options: PendingCommandsOptions;
  readonly #now: () => number;
  readonly #maxWaiting: number;
  readonly #maxPending: number;
  readonly #jobs = new Map<string, Job>();
  readonly #stopping = new AbortController();
  readonly #waits: AnswerWaits;
  readonly #attempts: Attempts;
  readonly #follows: StatusFollow;
  #live = 0;
  #backoff = 0;

  constructor(options: PendingCommandsOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#maxWaiting = options.maxWaiting ?? 1000;
    this.#maxPending = options.maxPending ?? 10_000;
    // Every create queued in the client listens for the stop: thousands at once are expected, not a leak.
    setMaxListeners(0, this.#stopping.signal);
    this.#waits = new AnswerWaits({
      answers: options.answers,
      now: this.#now,
      fetch: (job) => options.fetch(job.record.kind, job.record.sid as string),
      save: (job) => this.#save(job),
      answered: (job, answer, request) => this.#answered(job, answer, request),
      noAnswer: (job, cause) => this.#fail(job, 'no-answer', { seconds: Math.round((job.record.answerTimeoutMs ?? 0) / 1000) }, cause),
      changed: () => options.events.changed(),
    });
    this.#attempts = new Attempts({
      options,
      signal: this.#stopping.signal,
      now: this.#now,
      jobs: () => this.#jobs.values(),
      follow: (job, mode) => this.#follows.follow(job, mode),
      fail: (job, code, values, cause) => this.#fail(job, code, values, cause),
      giveUp: (job) => this.#giveUp(job),
      toBackoff: (job, at) => this.#follows.toBackoff(job, at),
      leaveBackoff: (job) => this.#setBackoff(job, false),
      save: (job) => this.#save(job),
    });
    this.#follows = new StatusFollow({
      options,
      now: this.#now,
      waitForAnswer: (job, timeoutMs, source) => this.#waits.start(job, timeoutMs, source),
      nextAttempt: (job) => void this.#attempts.next(job),
      enterBackoff: (job) => this.#setBackoff(job, true),
      fail: (job, code, values, cause) => this.#fail(job, code, values, cause),
      giveUp: (job) => this.#giveUp(job),
      finish: (job) => this.#finish(job),
      save: (job) => this.#save(job),
    });
  }

  /** Messages kept trying (stored), waiting for a retry, and waiting for an answer. */
  get counts(): { pending: number; retrying: number; waiting: number } {
    return { pending: this.#jobs.size - this.#live, retrying: this.#backoff, waiting: this.#waits.waiting };
  }

  get size(): number {
    return this.#jobs.size;
  }

  /**
   * The first attempt: recorded (when kept trying) before it is sent, then sent. Resolves with the
   * created command and `follow`, to call once output 1 is out (`announce` false: the node closed
   * meanwhile, and the node that resumes the message sends output 1 instead); rejects when nothing was created (or
   * it may have been: the client's error says so), and then nothing is pending.
   */
  async send(input: NewCommand): Promise<{ resource: CommandResource; follow: () => void; announce: boolean }> {
    const durable = input.retryForMs > 0;
    if (durable ? this.#jobs.size - this.#live >= this.#maxPending : this.#live >= this.#maxWaiting) {
      const code = durable ? 'too-many-pending' : 'too-many-waiting';
      throw new ReachRefusal(code, this.#options.describe(code, { limit: durable ? this.#maxPending : this.#maxWaiting }));
    }
    const now = this.#now();
    const record: PendingAttempt = {
      id: randomUUID(),
      kind: input.kind,
      sim: input.sim,
      request: input.request,
      message: durable ? serialiseMessage(input.message).text : '',
      attempt: 1,
      stage: 'creating',
      startedAt: now,
      deadline: now + input.retryForMs,
      attemptStartedAt: now,
      earlierSids: [],
      announced: false,
      followMs: input.followMs,
    };
    if (input.deliveryReceipt !== undefined) record.deliveryReceipt = input.deliveryReceipt;
    if (input.answerTimeoutMs !== undefined) record.answerTimeoutMs = input.answerTimeoutMs;
    const job = newJob(record, durable, input.reportStatus, durable ? undefined : input.message, (msg) => this.#clone(msg));
    this.#jobs.set(record.id, job);
    if (!durable) this.#live++;
    if (durable) {
      try {
        await this.#options.store.put(record);
      } catch (error) {
        this.#forget(job);
        throw new ReachRefusal('store-failed', this.#options.describe('store-failed', { message: error instanceof Error ? error.message : String(error) }), error);
      }
    }
    let created: { resource: CommandResource; mode: 'callback' | 'poll' };
    try {
      created = await this.#attempts.send(job);
    } catch (error) {
      this.#forget(job);
      // The message ends with this error: nothing of it may be resumed (and perhaps sent) later.
      if (durable) await this.#options.store.delete(record.id).catch((failure: unknown) => this.#options.events.storeFailed(failure));
      throw error;
    }
    // A node closing meanwhile sends output 1 into a stopped flow: the node that resumes it announces it.
    record.announced = !this.#stopping.signal.aborted;
    // Written even when the node is stopping meanwhile, so that the resuming node knows the sid.
    if (durable) await this.#options.store.put(record).catch((error: unknown) => this.#options.events.storeFailed(error));
    return { resource: created.resource, follow: () => this.#follows.follow(job, created.mode), announce: record.announced || !durable };
  }

  /** Resumes what a previous run of this node left pending (a restart, a crash, a redeploy). */
  resume(records: readonly PendingAttempt[]): void {
    const resumed: Job[] = [];
    for (const record of records) {
      if (this.#jobs.has(record.id)) continue;
      const job = newJob(record, true, true, undefined, (msg) => this.#clone(msg));
      this.#jobs.set(record.id, job);
      resumed.push(job);
    }
    // Every job is known before any starts: a lookup must see the commands all the others hold.
    const creating: Job[] = [];
    for (const job of resumed) {
      const { record } = job;
      switch (record.stage) {
        case 'creating':
          creating.push(job);
          break;
        case 'following':
          if (record.announced) this.#follows.follow(job, 'poll');
          else void this.#announceThenFollow(job);
          break;
        case 'backoff': {
          // Attempts that came due while Node-RED was down are spread over a few seconds, not sent in one burst.
          const due = record.nextAttemptAt ?? this.#now();
          this.#follows.toBackoff(job, due > this.#now() ? due : this.#now() + Math.random() * RESUME_SPREAD_MS);
          break;
        }
        case 'answer':
          this.#waits.start(job, (record.answerDeadline ?? this.#now()) - this.#now(), 'poll');
          break;
      }
    }
    if (creating.length > 0) void this.#attempts.reconcileAll(creating);
    this.#options.events.changed();
  }

  /**
   * Stops these messages without an outcome: another instance holds them now (it took them over
   * while this one could not renew its lease) and reports what becomes of them. How many were live here.
   */
  release(ids: readonly string[]): number {
    let released = 0;
    for (const id of ids) {
      const job = this.#jobs.get(id);
      if (job === undefined || !job.durable) continue;
      job.reportStatus = false;
      this.#forget(job);
      released++;
    }
    if (released > 0) this.#options.events.changed();
    return released;
  }

  /**
   * A first command created while the node was closing: its output 1 went nowhere (Node-RED takes a
   * flow's nodes out of service before closing them), so the node that resumes it sends it.
   */
  async #announceThenFollow(job: Job): Promise<void> {
    const { record } = job;
    const sid = record.sid as string;
    const resource = await this.#options.fetch(record.kind, sid).catch((): CommandResource => ({ sid, status: record.status ?? 'queued' }));
    if (job.ended) return;
    this.#attempts.announce(job, resource);
    this.#save(job);
    // Callbacks that came while Node-RED was down are lost: only a poll can tell what happened.
    this.#follows.follow(job, 'poll');
  }

  /**
   * Stops every timer, follow and wait. `removed` (the node was deleted): the stored messages are
   * dropped, and their number returned so the node can say so; else they stay for the next start.
   */
  close(): number {
    this.#stopping.abort();
    let dropped = 0;
    // A message that only waits for its answer is kept nowhere: it ends now, with one Catch error, so a
    // flow that resends on "no answer" resends it too. Kept-trying ones stay stored for the next start.
    const stopped = [...this.#jobs.values()].filter((job) => !job.durable && !job.ended && job.record.answerTimeoutMs !== undefined);
    for (const job of stopped) this.#fail(job, 'answer-stopped', {});
    for (const job of this.#jobs.values()) {
      if (job.durable) dropped++;
      job.ended = true;
      clearTimeout(job.timer);
      job.stopWaiting?.();
    }
    this.#jobs.clear();
    this.#live = this.#backoff = 0;
    this.#waits.clear();
    return dropped;
  }

  // ---- how a job ends, and its bookkeeping ------------------------------------------------------

  #answered(job: Job, answer: CommandEvent, request: CommandResource): void {
    this.#options.events.answered(job, answer, request);
    // A live job still following its status keeps reporting it; the message is complete either way.
    this.#finish(job);
  }

  #giveUp(job: Job): void {
    const { record } = job;
    this.#fail(job, 'gave-up', {
      attempts: record.attempt,
      time: durationText(this.#now() - record.startedAt),
      code: record.lastErrorCode ?? 'none',
    });
  }

  #fail(job: Job, code: ReachErrorCode, values: Record<string, string | number>, cause?: unknown): void {
    if (job.ended) return;
    // An attempt whose create got no answer has no sid: the sentence says so rather than show "?".
    const full = { sim: job.record.sim, sid: job.record.sid ?? 'no sid', attempt: job.record.attempt, ...values };
    const error = new ReachError(code, full, this.#options.describe(code, full), cause);
    this.#finish(job);
    this.#options.events.failed(job, error);
  }

  #finish(job: Job): void {
    if (job.ended) return;
    this.#forget(job);
    if (job.durable) this.#options.store.delete(job.record.id).catch((error: unknown) => this.#options.events.storeFailed(error));
    this.#options.events.changed();
  }

  #forget(job: Job): void {
    if (!job.ended) this.#attempts.retire(job);
    job.ended = true;
    clearTimeout(job.timer);
    job.stopWaiting?.();
    job.stopWaiting = undefined;
    this.#setBackoff(job, false);
    if (this.#jobs.delete(job.record.id) && !job.durable) this.#live--;
  }

  #setBackoff(job: Job, on: boolean): void {
    if (job.inBackoff === on) return;
    job.inBackoff = on;
    this.#backoff += on ? 1 : -1;
  }

  #clone(msg: Record<string, unknown>): Record<string, unknown> {
    return this.#options.cloneMessage?.(msg) ?? deserialiseMessage(serialiseMessage(msg).text);
  }

  /**
   * Durable jobs write each change. The record is changed in place and put again: the store writes
   * what a record holds when the write runs, so the latest state is what reaches the disk.
   */
  #save(job: Job): void {
    if (!job.durable || job.ended) return;
    this.#options.store.put(job.record).catch((error: unknown) => this.#options.events.storeFailed(error));
  }
}
