import { isCommandStatus, isTrackingDone } from '../commands';
import type { CommandStatus } from '../shared';
import type { ReachErrorCode } from './errors';
import { errorCodeOf, isBusy, isStopping, mayHaveActed, text, timeOf } from './job';
import type { Job, PendingCommandsOptions } from './job';
import { SimLanes, laneOf } from './sim-lanes';
import type { CommandResource } from './types';

/** What creating an attempt needs from the engine that owns the job. */
export interface AttemptHost {
  readonly options: PendingCommandsOptions;
  /** Aborted when the engine closes: what was not sent stays pending. */
  readonly signal: AbortSignal;
  now(): number;
  /** Every job of the engine, for the SIDs a reconcile must not adopt twice. */
  jobs(): Iterable<Job>;
  follow(job: Job, mode: 'callback' | 'poll'): void;
  fail(job: Job, code: ReachErrorCode, values: Record<string, string | number>, cause?: unknown): void;
  giveUp(job: Job): void;
  toBackoff(job: Job, at: number): void;
  leaveBackoff(job: Job): void;
  save(job: Job): void;
}

/** Commands of messages that ended in this run, remembered so that no lookup adopts them: at most this many. */
export const RETIRED_MEMORY = 10_000;
/**
 * Earlier attempts' SIDs a record keeps. A lookup only looks back a minute before its attempt began,
 * where backoff leaves room for a few of them; an unbounded list would grow a message kept trying for
 * days past its store's budget.
 */
export const EARLIER_SIDS_KEPT = 50;

/**
 * Creating a message's attempts: every create goes through its request's lane (sim-lanes.ts); the
 * next attempt once the backoff is over; and after a restart the one that may have been on the wire,
 * looked up before anything is created again.
 */
export class Attempts {
  readonly #host: AttemptHost;
  readonly #lanes = new SimLanes();
  /** Oldest first. */
  readonly #retired = new Set<string>();

  constructor(host: AttemptHost) {
    this.#host = host;
  }

  /** The job ended: its commands (the last one and the failed ones) belong to it for good. */
  retire(job: Job): void {
    const { record } = job;
    for (const sid of [...record.earlierSids, record.sid]) {
      if (sid === undefined) continue;
      this.#retired.delete(sid);
      this.#retired.add(sid);
    }
    for (const oldest of this.#retired) {
      if (this.#retired.size <= RETIRED_MEMORY) break;
      this.#retired.delete(oldest);
    }
  }

  /** The job's attempt is this command now (created, or found after a restart). */
  adopt(job: Job, resource: CommandResource): void {
    const { record } = job;
    record.stage = 'following';
    record.sid = text(resource.sid);
    record.simSid = text(resource.sim_sid);
    record.createdAt = timeOf(resource.date_created, this.#host.now());
    record.status = isCommandStatus(resource.status) ? resource.status : 'queued';
    // A command adopted after a restart may have failed already: giving up later names its code.
    if (record.status === 'failed') record.lastErrorCode = errorCodeOf(resource);
    job.resource = record.answerTimeoutMs !== undefined ? resource : undefined;
  }

  async next(job: Job): Promise<void> {
    const { record } = job;
    const host = this.#host;
    if (job.ended) return;
    host.leaveBackoff(job);
    if (record.sid !== undefined) record.earlierSids.push(record.sid);
    if (record.earlierSids.length > EARLIER_SIDS_KEPT) record.earlierSids.splice(0, record.earlierSids.length - EARLIER_SIDS_KEPT);
    record.attempt++;
    record.stage = 'creating';
    record.attemptStartedAt = host.now();
    delete record.sid;
    delete record.status;
    delete record.nextAttemptAt;
    host.options.events.changed();
    try {
      await host.options.store.put(record);
    } catch (error) {
      // Stopped meanwhile: the store refused the write because it closed, and nothing is created.
      if (job.ended) return;
      // Without the record on disk a crash now could create the attempt twice: wait and try again.
      host.options.events.storeFailed(error);
      record.attempt--;
      return host.toBackoff(job, host.now() + host.options.backoffMs(record.attempt));
    }
    await this.create(job);
  }

  /**
   * Sends the job's create in its SIM's lane and adopts what it made before the lane lets a lookup
   * of that SIM run, so that the lookup counts it as taken. Rejects as the create does.
   */
  send(job: Job, inLane = false): Promise<{ resource: CommandResource; mode: 'callback' | 'poll' }> {
    const { record } = job;
    const call = async (): Promise<{ resource: CommandResource; mode: 'callback' | 'poll' }> => {
      const created = await this.#host.options.create(record.kind, record.request, this.#host.signal);
      // Even when the node stopped meanwhile: the store then keeps the sid, and a restart follows it.
      this.adopt(job, created.resource);
      return created;
    };
    return inLane ? call() : this.#lanes.shared(laneOf(record), call);
  }

  /** `inLane`: the caller holds the SIM's lane already (a lookup that found nothing). */
  async create(job: Job, inLane = false): Promise<void> {
    const host = this.#host;
    let created: { resource: CommandResource; mode: 'callback' | 'poll' };
    try {
      created = await this.send(job, inLane);
    } catch (error) {
      if (job.ended || isStopping(error)) return;
      if (isBusy(error)) {
        // Not an attempt: nothing reached the API. Many attempts come due at once after a restart.
        if (host.now() >= job.record.deadline) return host.giveUp(job);
        job.record.attempt = Math.max(1, job.record.attempt - 1);
        return host.toBackoff(job, Math.min(host.now() + host.options.backoffMs(job.record.attempt), job.record.deadline));
      }
      const message = error instanceof Error ? error.message : String(error);
      if (mayHaveActed(error)) host.fail(job, 'attempt-unknown', { reason: message }, error);
      else host.fail(job, 'attempt-not-created', { message }, error);
      return;
    }
    if (job.ended) return;
    this.#announce(job, created.resource);
    host.save(job);
    host.follow(job, created.mode);
  }

  /**
   * An attempt that was being created when the node stopped: adopted if the API has it, else created.
   * Alone in its SIM's lane: every command of that SIM another message holds is known by then.
   */
  reconcile(job: Job): Promise<void> {
    return this.#lanes.exclusive(laneOf(job.record), () => this.#reconcileNow(job));
  }

  /**
   * All the attempts a resume found being created, looked up together: one listing per SIM instead
   * of one per attempt (thousands of attempts to one busy SIM would each page through the same
   * commands). Holds every lane involved, in one order, while it looks and creates.
   */
  reconcileAll(jobs: readonly Job[]): Promise<void> {
    const reconcileAll = this.#host.options.reconcileAll;
    if (reconcileAll === undefined || jobs.length <= 1) return Promise.all(jobs.map((job) => this.reconcile(job))).then(() => undefined);
    const lanes = [...new Set(jobs.map((job) => laneOf(job.record)))].sort();
    const holdAll = (index: number): Promise<void> =>
      index === lanes.length ? this.#reconcileAllNow(jobs, reconcileAll) : this.#lanes.exclusive(lanes[index], () => holdAll(index + 1));
    return holdAll(0);
  }

  async #reconcileAllNow(jobs: readonly Job[], reconcileAll: NonNullable<PendingCommandsOptions['reconcileAll']>): Promise<void> {
    const host = this.#host;
    const live = jobs.filter((job) => !job.ended);
    if (live.length === 0) return;
    const batch = new Set(live);
    const taken = new Set<string>(this.#retired);
    for (const other of host.jobs()) {
      if (batch.has(other)) continue;
      if (other.record.sid !== undefined) taken.add(other.record.sid);
      for (const sid of other.record.earlierSids) taken.add(sid);
    }
    let found: Map<string, CommandResource>;
    try {
      found = await reconcileAll(live.map((job) => job.record), taken, host.signal);
    } catch (error) {
      if (isStopping(error) || live.every((job) => job.ended)) return;
      // Past the deadline nothing more may be created, and the lookup cannot say what was: the outcome is unknown.
      const overdue = live.filter((job) => !job.ended && host.now() >= job.record.deadline);
      for (const job of overdue) host.fail(job, 'attempt-unknown', { reason: lookupReason(error) }, error);
      if (live.every((job) => job.ended)) return;
      host.options.events.lookupFailed(live.find((job) => !job.ended) as Job, error);
      // One timer for the batch, not each job's: a job that ends meanwhile must not cancel the others' lookup.
      const again = setTimeout(() => void this.reconcileAll(live), host.options.reconcileRetryMs ?? 30_000);
      // After a close the jobs are over and the lookup finds nothing to do: no reason to keep Node-RED up.
      again.unref?.();
      return;
    }
    const creates: Promise<void>[] = [];
    for (const job of live) {
      if (job.ended) continue;
      const resource = found.get(job.record.id);
      if (resource !== undefined) {
        this.#adopted(job, resource);
        continue;
      }
      if (host.now() >= job.record.deadline) {
        host.giveUp(job);
        continue;
      }
      job.record.attemptStartedAt = host.now();
      host.save(job);
      creates.push(this.create(job, true));
    }
    await Promise.all(creates);
  }

  #adopted(job: Job, found: CommandResource): void {
    this.adopt(job, found);
    this.#announce(job, found);
    this.#reportAdopted(job, found);
    this.#host.save(job);
    this.#host.follow(job, 'poll');
  }

  async #reconcileNow(job: Job): Promise<void> {
    const { record } = job;
    const host = this.#host;
    if (job.ended) return;
    // Other messages' commands match the same request too, their failed ones and those of messages that ended included.
    const taken = new Set<string>(this.#retired);
    for (const other of host.jobs()) {
      if (other === job) continue;
      if (other.record.sid !== undefined) taken.add(other.record.sid);
      for (const sid of other.record.earlierSids) taken.add(sid);
    }
    let found: CommandResource | undefined;
    try {
      found = await host.options.reconcile(record, taken, host.signal);
    } catch (error) {
      if (job.ended || isStopping(error)) return;
      if (host.now() >= record.deadline) return host.fail(job, 'attempt-unknown', { reason: lookupReason(error) }, error);
      // Creating now could make a second command: look again later, never create blind.
      host.options.events.lookupFailed(job, error);
      job.timer = setTimeout(() => void this.reconcile(job), host.options.reconcileRetryMs ?? 30_000);
      return;
    }
    if (job.ended) return;
    if (found !== undefined) return this.#adopted(job, found);
    if (host.now() >= record.deadline) return host.giveUp(job);
    record.attemptStartedAt = host.now();
    host.save(job);
    await this.create(job, true);
  }

  /** Output 1 for a resumed message whose first command was created but never announced. */
  announce(job: Job, resource: CommandResource): void {
    this.#announce(job, resource);
  }

  #announce(job: Job, resource: CommandResource): void {
    if (job.record.announced) return;
    job.record.announced = true;
    this.#host.options.events.announced(job, resource);
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
    this.#host.options.events.status(job, { sid: record.sid, status, resource, final, source: 'poll' });
  }
}

/** Why a lookup could not tell whether an attempt was created before Node-RED stopped. */
function lookupReason(error: unknown): string {
  return `looking up whether it was created before Node-RED stopped kept failing until the time was up (${error instanceof Error ? error.message : String(error)})`;
}
