import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { ApiError } from '../api';
import type { CommandEvent } from '../callbacks';
import { isCommandStatus, isTrackingDone } from '../commands';
import type { CommandKind, CommandStatus } from '../shared';
import type { DeliveryTracker, StatusUpdate } from '../tracking';
import { ReachError, ReachRefusal, durationText } from './errors';
import type { DescribeReach, ReachErrorCode } from './errors';
import { deserialiseMessage, serialiseMessage } from './messages';
import type { AnswerDeskLike, AnswerSource, CommandResource, PendingAttempt, PendingStoreLike } from './types';

/** What a send node asks for one message: its checked request and how to follow it up. */
export interface NewCommand {
  kind: CommandKind;
  sim: string;
  /** The client's create parameters; the tracking CallbackUrl is added when sending, never stored. */
  request: Record<string, unknown>;
  deliveryReceipt?: boolean;
  /** The input message: kept (cloned, or serialised when it must survive a restart) for outputs 2 and 3. */
  message: Record<string, unknown>;
  /** 0: no keeping trying, nothing stored. */
  retryForMs: number;
  /** undefined: no answer awaited. */
  answerTimeoutMs?: number;
  /** Output 2 gets status changes (always when keeping trying). */
  reportStatus: boolean;
  /** How long each attempt's status is followed before its outcome counts as unknown. */
  followMs: number;
}

/** One message being followed up: what the node's outputs need. */
export interface PendingJob {
  readonly record: Readonly<PendingAttempt>;
  /** A fresh copy of the input message, for one output or error. */
  message(): Record<string, unknown>;
}

export interface PendingEvents {
  /** Output 1, for a command first created after a restart (reconciled or created then). */
  announced(job: PendingJob, resource: CommandResource): void;
  /** Output 2: a status change of the current attempt. */
  status(job: PendingJob, update: StatusUpdate): void;
  /** Output 3: the device's answer, with the command it answers. */
  answered(job: PendingJob, answer: CommandEvent, request: CommandResource): void;
  /** A Catch error for a command that exists (or may): never a done(err). */
  failed(job: PendingJob, error: ReachError): void;
  /** The counts changed (the node's status shows them). */
  changed(): void;
  /** A durable write failed; the change is kept and written again with the next one. */
  storeFailed(error: unknown): void;
  /** After a restart, looking up whether an attempt was created failed; it is looked up again later. */
  lookupFailed(job: PendingJob, error: unknown): void;
}

export interface PendingCommandsOptions {
  store: PendingStoreLike<PendingAttempt>;
  /** Sends a create; `mode` is how its status can be followed (callback only when the tracking URL went with it). */
  create(kind: CommandKind, request: Record<string, unknown>, signal: AbortSignal): Promise<{ resource: CommandResource; mode: 'callback' | 'poll' }>;
  /** Looks up a command that may have been created when Node-RED stopped. */
  reconcile(attempt: PendingAttempt, taken: ReadonlySet<string>, signal: AbortSignal): Promise<CommandResource | undefined>;
  fetch(kind: CommandKind, sid: string): Promise<CommandResource>;
  /** Its maxTracked must allow maxWaiting + maxPending. */
  tracker: Pick<DeliveryTracker, 'track'>;
  answers: AnswerDeskLike;
  answerSource(): AnswerSource;
  /** How long to wait before attempt n + 1, after n failed attempts. */
  backoffMs(failedAttempts: number): number;
  describe: DescribeReach;
  events: PendingEvents;
  /** A deep copy of a message (Node-RED's RED.util.cloneMessage); default: through JSON, Buffers kept. */
  cloneMessage?: (msg: Record<string, unknown>) => Record<string, unknown>;
  /** Waiting for answers without keeping trying; default 1000. */
  maxWaiting?: number;
  /** Kept trying (stored); default 10 000. */
  maxPending?: number;
  /** After a failed lookup on resume, try it again after this long; default 30 000. */
  reconcileRetryMs?: number;
  now?: () => number;
}

interface Job extends PendingJob {
  record: PendingAttempt;
  readonly durable: boolean;
  readonly reportStatus: boolean;
  /** Live jobs keep the cloned message; stored ones parse record.message when they need it. */
  readonly template: Record<string, unknown> | undefined;
  /** The current attempt's created command, for msg.request; unknown after a restart until fetched. */
  resource: CommandResource | undefined;
  following: boolean;
  /** Counted in counts.retrying. */
  inBackoff: boolean;
  stopWaiting: (() => void) | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  ended: boolean;
}

/** The longest delay setTimeout honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function timeOf(value: unknown, fallback: number): number {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(ms) ? ms : fallback;
}

function errorCodeOf(resource: CommandResource): number | null {
  const code = resource.error_code;
  return typeof code === 'number' ? code : typeof code === 'string' && /^\d+$/.test(code) ? Number(code) : null;
}

/** A create that may have reached the API: it is never sent again. */
function mayHaveActed(error: unknown): boolean {
  return !(error instanceof ApiError) || error.effect !== 'none';
}

/** The node is stopping: what was not sent stays pending, to be resumed. */
function isStopping(error: unknown): boolean {
  return error instanceof ApiError && (error.kind === 'closed' || error.kind === 'cancelled') && error.effect === 'none';
}

/**
 * What a send node does after a create when it waits for the device's answer or keeps trying: follow
 * each attempt's status, create the command again only after the API said `failed`, wait for the
 * answer, and keep every kept-trying message in a durable store so that a restart resumes it. Each
 * message ends in exactly one of: its goal (and the answer, when awaited), or one Catch error.
 */
export class PendingCommands {
  readonly #options: PendingCommandsOptions;
  readonly #now: () => number;
  readonly #maxWaiting: number;
  readonly #maxPending: number;
  readonly #jobs = new Map<string, Job>();
  readonly #stopping = new AbortController();
  #live = 0;
  #backoff = 0;
  #answering = 0;

  constructor(options: PendingCommandsOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#maxWaiting = options.maxWaiting ?? 1000;
    this.#maxPending = options.maxPending ?? 10_000;
    // Every create queued in the client listens for the stop: thousands at once are expected, not a leak.
    setMaxListeners(0, this.#stopping.signal);
  }

  /** Messages kept trying (stored), waiting for a retry, and waiting for an answer. */
  get counts(): { pending: number; retrying: number; waiting: number } {
    return { pending: this.#jobs.size - this.#live, retrying: this.#backoff, waiting: this.#answering };
  }

  get size(): number {
    return this.#jobs.size;
  }

  /**
   * The first attempt: recorded (when kept trying) before it is sent, then sent. Resolves with the
   * created command and `follow`, to call once output 1 is out; rejects when nothing was created (or
   * it may have been: the client's error says so), and then nothing is pending.
   */
  async send(input: NewCommand): Promise<{ resource: CommandResource; follow: () => void }> {
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
    const job = this.#job(record, durable, input.reportStatus, durable ? undefined : input.message);
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
      created = await this.#options.create(record.kind, record.request, this.#stopping.signal);
    } catch (error) {
      this.#forget(job);
      // The message ends with this error: nothing of it may be resumed (and perhaps sent) later.
      if (durable) await this.#options.store.delete(record.id).catch((failure: unknown) => this.#options.events.storeFailed(failure));
      throw error;
    }
    this.#adopt(job, created.resource);
    record.announced = true;
    // Written even when the node is stopping meanwhile: else a restart would announce it a second time.
    if (durable) await this.#options.store.put(record).catch((error: unknown) => this.#options.events.storeFailed(error));
    return { resource: created.resource, follow: () => this.#follow(job, created.mode) };
  }

  /** Resumes what a previous run of this node left pending (a restart, a crash, a redeploy). */
  resume(records: readonly PendingAttempt[]): void {
    for (const record of records) {
      if (this.#jobs.has(record.id)) continue;
      const job = this.#job(record, true, true, undefined);
      this.#jobs.set(record.id, job);
      switch (record.stage) {
        case 'creating':
          void this.#reconcile(job);
          break;
        case 'following':
          // Callbacks that came while Node-RED was down are lost: only a poll can tell what happened.
          this.#follow(job, 'poll');
          break;
        case 'backoff':
          this.#toBackoff(job, record.nextAttemptAt ?? this.#now());
          break;
        case 'answer':
          this.#waitForAnswer(job, (record.answerDeadline ?? this.#now()) - this.#now(), 'poll');
          break;
      }
    }
    this.#options.events.changed();
  }

  /**
   * Stops every timer, follow and wait. `removed` (the node was deleted): the stored messages are
   * dropped, and their number returned so the node can say so; else they stay for the next start.
   */
  close(): number {
    this.#stopping.abort();
    let dropped = 0;
    for (const job of this.#jobs.values()) {
      if (job.durable) dropped++;
      job.ended = true;
      clearTimeout(job.timer);
      job.stopWaiting?.();
    }
    this.#jobs.clear();
    this.#live = this.#backoff = this.#answering = 0;
    return dropped;
  }

  // ---- the life of a job -------------------------------------------------------------------------

  #job(record: PendingAttempt, durable: boolean, reportStatus: boolean, template: Record<string, unknown> | undefined): Job {
    return {
      record,
      durable,
      reportStatus,
      template,
      resource: undefined,
      following: false,
      inBackoff: false,
      stopWaiting: undefined,
      timer: undefined,
      ended: false,
      message: () => (template !== undefined ? this.#clone(template) : deserialiseMessage(record.message)),
    };
  }

  #adopt(job: Job, resource: CommandResource): void {
    const { record } = job;
    record.stage = 'following';
    record.sid = text(resource.sid);
    record.simSid = text(resource.sim_sid);
    record.createdAt = timeOf(resource.date_created, this.#now());
    record.status = isCommandStatus(resource.status) ? resource.status : 'queued';
    // A command adopted after a restart may have failed already: giving up later names its code.
    if (record.status === 'failed') record.lastErrorCode = errorCodeOf(resource);
    job.resource = record.answerTimeoutMs !== undefined ? resource : undefined;
  }

  #follow(job: Job, mode: 'callback' | 'poll'): void {
    const { record } = job;
    if (job.ended) return;
    const sid = record.sid;
    const status = record.status as CommandStatus | undefined;
    if (sid === undefined || !isCommandStatus(status)) {
      this.#fail(job, 'attempt-unknown', { reason: 'the API answered without a usable sid and status' });
      return;
    }
    // Without keeping trying, the answer is awaited from the start: it may come before `sent` is seen.
    if (!job.durable && record.answerTimeoutMs !== undefined) this.#waitForAnswer(job, record.answerTimeoutMs, this.#options.answerSource());
    job.following = true;
    const started = this.#options.tracker.track({
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

  #onStatus(job: Job, update: StatusUpdate): void {
    // A message answered (or given up) still reports its command's later statuses: they are true.
    if (job.reportStatus) this.#options.events.status(job, update);
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
    this.#save(job);
  }

  /** The attempt reached its goal (sent, or delivered where a receipt comes). */
  #onGoal(job: Job): void {
    const { record } = job;
    if (job.ended) return;
    if (record.status === 'failed') return this.#onFailed(job);
    if (record.answerTimeoutMs === undefined) return this.#finish(job);
    if (job.durable) this.#waitForAnswer(job, record.answerTimeoutMs, this.#options.answerSource());
    else if (job.stopWaiting === undefined) this.#finish(job);
  }

  #onFailed(job: Job): void {
    const { record } = job;
    job.stopWaiting?.();
    job.stopWaiting = undefined;
    if (!job.durable) {
      if (record.answerTimeoutMs !== undefined) this.#fail(job, 'no-answer-failed', { code: record.lastErrorCode ?? '?' });
      else this.#finish(job);
      return;
    }
    const now = this.#now();
    if (now >= record.deadline) return this.#giveUp(job);
    this.#toBackoff(job, Math.min(now + this.#options.backoffMs(record.attempt), record.deadline));
  }

  #onUnknown(job: Job, reason: string): void {
    // Without keeping trying, an unknown outcome only ends the follow; the answer may still come.
    if (!job.durable) {
      if (job.stopWaiting === undefined) this.#finish(job);
      return;
    }
    this.#fail(job, 'attempt-unknown', { reason });
  }

  #toBackoff(job: Job, at: number): void {
    const { record } = job;
    if (job.ended) return;
    this.#setBackoff(job, true);
    record.stage = 'backoff';
    record.nextAttemptAt = at;
    this.#save(job);
    job.timer = setTimeout(() => {
      job.timer = undefined;
      void this.#nextAttempt(job);
    }, Math.min(Math.max(0, at - this.#now()), MAX_TIMER_MS));
    this.#options.events.changed();
  }

  async #nextAttempt(job: Job): Promise<void> {
    const { record } = job;
    if (job.ended) return;
    this.#setBackoff(job, false);
    if (record.sid !== undefined) record.earlierSids.push(record.sid);
    record.attempt++;
    record.stage = 'creating';
    record.attemptStartedAt = this.#now();
    delete record.sid;
    delete record.status;
    delete record.nextAttemptAt;
    this.#options.events.changed();
    try {
      await this.#options.store.put(record);
    } catch (error) {
      // Without the record on disk a crash now could create the attempt twice: wait and try again.
      this.#options.events.storeFailed(error);
      record.attempt--;
      return this.#toBackoff(job, this.#now() + this.#options.backoffMs(record.attempt));
    }
    await this.#create(job);
  }

  async #create(job: Job): Promise<void> {
    const { record } = job;
    let created: { resource: CommandResource; mode: 'callback' | 'poll' };
    try {
      created = await this.#options.create(record.kind, record.request, this.#stopping.signal);
    } catch (error) {
      if (job.ended || isStopping(error)) return;
      const message = error instanceof Error ? error.message : String(error);
      if (mayHaveActed(error)) this.#fail(job, 'attempt-unknown', { reason: message }, error);
      else this.#fail(job, 'attempt-not-created', { message }, error);
      return;
    }
    if (job.ended) return;
    this.#adopt(job, created.resource);
    this.#announce(job, created.resource);
    this.#save(job);
    this.#follow(job, created.mode);
  }

  async #reconcile(job: Job): Promise<void> {
    const { record } = job;
    const taken = new Set<string>();
    for (const other of this.#jobs.values()) if (other !== job && other.record.sid !== undefined) taken.add(other.record.sid);
    let found: CommandResource | undefined;
    try {
      found = await this.#options.reconcile(record, taken, this.#stopping.signal);
    } catch (error) {
      if (job.ended || isStopping(error)) return;
      // Creating now could make a second command: look again later, never create blind.
      this.#options.events.lookupFailed(job, error);
      job.timer = setTimeout(() => void this.#reconcile(job), this.#options.reconcileRetryMs ?? 30_000);
      return;
    }
    if (job.ended) return;
    if (found !== undefined) {
      this.#adopt(job, found);
      this.#announce(job, found);
      this.#reportAdopted(job, found);
      this.#save(job);
      this.#follow(job, 'poll');
      return;
    }
    if (this.#now() >= record.deadline) return this.#giveUp(job);
    record.attemptStartedAt = this.#now();
    this.#save(job);
    await this.#create(job);
  }

  /**
   * The tracker reports only what changes after the status it starts from; a command adopted after a
   * restart may be sent or failed already, and output 2 must still hear that this attempt got there.
   */
  #reportAdopted(job: Job, resource: CommandResource): void {
    const { record } = job;
    const status = record.status as CommandStatus | undefined;
    if (!job.reportStatus || record.sid === undefined || !isCommandStatus(status) || status === 'queued') return;
    const final = isTrackingDone(record.kind, status, { deliveryReceipt: record.deliveryReceipt });
    this.#options.events.status(job, { sid: record.sid, status, resource, final, source: 'poll' });
  }

  #announce(job: Job, resource: CommandResource): void {
    if (job.record.announced) return;
    job.record.announced = true;
    this.#options.events.announced(job, resource);
  }

  #waitForAnswer(job: Job, timeoutMs: number, source: AnswerSource): void {
    const { record } = job;
    if (job.ended) return;
    if (job.durable) {
      record.stage = 'answer';
      record.answerDeadline ??= this.#now() + timeoutMs;
      this.#save(job);
    }
    if (timeoutMs <= 0 || record.simSid === undefined) {
      this.#fail(job, 'no-answer', { seconds: Math.round((record.answerTimeoutMs ?? 0) / 1000) });
      return;
    }
    this.#answering++;
    let waiting = true;
    let stop: () => void;
    try {
      stop = this.#options.answers.wait({
        kind: record.kind,
        simSid: record.simSid,
        createdAt: record.createdAt ?? record.attemptStartedAt,
        sentAt: record.attemptStartedAt,
        timeoutMs: Math.min(timeoutMs, MAX_TIMER_MS),
        source,
        onAnswer: (answer) => {
          if (!waiting || job.ended) return;
          waiting = false;
          this.#answering--;
          job.stopWaiting = undefined;
          void this.#answered(job, answer);
        },
        onTimeout: () => {
          if (!waiting || job.ended) return;
          waiting = false;
          this.#answering--;
          job.stopWaiting = undefined;
          this.#fail(job, 'no-answer', { seconds: Math.round((record.answerTimeoutMs ?? 0) / 1000) });
        },
      });
    } catch (error) {
      // The account's desk is full (commands of every node on it): no answer can be awaited.
      this.#answering--;
      this.#fail(job, 'no-answer', { seconds: Math.round((record.answerTimeoutMs ?? 0) / 1000) }, error);
      return;
    }
    // An answer that came already is handed over inside wait(): the job may be over by now.
    if (!waiting) return;
    job.stopWaiting = () => {
      if (waiting) {
        waiting = false;
        this.#answering--;
      }
      stop();
    };
    this.#options.events.changed();
  }

  async #answered(job: Job, answer: CommandEvent): Promise<void> {
    const { record } = job;
    let request = job.resource;
    if (request === undefined && record.sid !== undefined) {
      // After a restart the created command is known by its sid only.
      request = await this.#options.fetch(record.kind, record.sid).catch(() => ({ sid: record.sid }));
    }
    if (job.ended) return;
    this.#options.events.answered(job, answer, request ?? {});
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
