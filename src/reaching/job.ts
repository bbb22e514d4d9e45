import { ApiError } from '../api';
import type { CommandEvent } from '../callbacks';
import type { CommandKind } from '../shared';
import type { DeliveryTracker, StatusUpdate } from '../tracking';
import type { DescribeReach, ReachError } from './errors';
import { deserialiseMessage } from './messages';
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
  /** The message has its outcome (goal, answer or Catch error); later statuses of its command are news only. */
  readonly ended: boolean;
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
  /**
   * The same for many attempts at once (a resume): one listing per SIM, whatever the number of
   * attempts on it. Answers attempt id → command; without it, each attempt is looked up alone.
   */
  reconcileAll?(attempts: readonly PendingAttempt[], taken: ReadonlySet<string>, signal: AbortSignal): Promise<Map<string, CommandResource>>;
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

/** The engine's own view of a message: its record and what only this run of the node knows. */
export interface Job extends PendingJob {
  record: PendingAttempt;
  readonly durable: boolean;
  /** Turned off when another instance takes the message over: it reports the statuses then. */
  reportStatus: boolean;
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

export function newJob(
  record: PendingAttempt,
  durable: boolean,
  reportStatus: boolean,
  template: Record<string, unknown> | undefined,
  clone: (msg: Record<string, unknown>) => Record<string, unknown>,
): Job {
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
    message: () => (template !== undefined ? clone(template) : deserialiseMessage(record.message)),
  };
}

/** The longest delay setTimeout honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function timeOf(value: unknown, fallback: number): number {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(ms) ? ms : fallback;
}

export function errorCodeOf(resource: CommandResource): number | null {
  const code = resource.error_code;
  return typeof code === 'number' ? code : typeof code === 'string' && /^\d+$/.test(code) ? Number(code) : null;
}

/** A create that may have reached the API: it is never sent again. */
export function mayHaveActed(error: unknown): boolean {
  return !(error instanceof ApiError) || error.effect !== 'none';
}

/** The node is stopping: what was not sent stays pending, to be resumed. */
/**
 * The account's client was too busy to take the create (its queue was full, or the API kept answering
 * 429): nothing was sent, and nothing about the device is known, so it is no failed attempt: wait and try again.
 */
export function isBusy(error: unknown): boolean {
  return error instanceof ApiError && error.effect === 'none' && (error.kind === 'queue-full' || error.status === 429);
}

export function isStopping(error: unknown): boolean {
  return error instanceof ApiError && (error.kind === 'closed' || error.kind === 'cancelled') && error.effect === 'none';
}
