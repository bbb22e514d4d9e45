/**
 * The seams of "reaching the device": the answer desk (device answers matched to waiting commands),
 * the durable store of pending attempts, and the keep-trying engine that uses both. Each part is built
 * and tested on its own against these shapes; the send nodes wire them together.
 */
import type { CommandEvent } from '../callbacks';
import type { CommandKind } from '../shared';

/** A command resource as an API returns it (every field may be null); read through its few known fields. */
export type CommandResource = Record<string, unknown>;

/** Lists an API's commands newest first, as the client's list iterators do. */
export type ListCommands = (kind: CommandKind, filter: { sim: string; direction: 'to_sim' | 'from_sim'; pageSize?: number }) => AsyncIterable<CommandResource>;

// ---- answers ------------------------------------------------------------------------------------

export type AnswerSource = 'callback' | 'poll';

export interface AnswerWaitOptions {
  kind: CommandKind;
  /** The created command's `sim_sid`: answers are matched by SIM SID, whatever name the user gave. */
  simSid: string;
  /** The created command's `date_created` in ms; a polled command created before it is not its answer. */
  createdAt: number;
  /** Date.now() just before the create request went out; a callback that arrived before it is not its answer. */
  sentAt: number;
  timeoutMs: number;
  /** 'callback': answers come from command-in through offer(); 'poll': the desk lists the SIM's from_sim commands. */
  source: AnswerSource;
  onAnswer(answer: CommandEvent): void;
  onTimeout(): void;
}

/** One per account: waiting commands, FIFO per SIM and API; what command-in and the polls hand in. */
export interface AnswerDeskLike {
  /** Starts waiting; the returned function stops it (no callback after that). */
  wait(options: AnswerWaitOptions): () => void;
  /** A `from_sim` event from command-in: true when a waiting command took it. */
  offer(event: CommandEvent): boolean;
  /** Commands waiting now (all SIMs). */
  readonly waiting: number;
}

// ---- durable pending attempts -------------------------------------------------------------------

/** What a durable store keeps: any JSON-serialisable record with an id. */
export interface StoredRecord {
  id: string;
}

export interface PendingStoreLike<R extends StoredRecord> {
  readonly size: number;
  /** Resolves once a write holding this version of the record is on disk (temp file, fsync, rename). */
  put(record: R): Promise<void>;
  /** Resolves once a write without it is on disk. */
  delete(id: string): Promise<void>;
}

/** Where an attempt is in its life; what a restart resumes from. */
export type AttemptStage =
  /** The create may be on the wire: after a restart, look it up before creating it again. */
  | 'creating'
  /** Created; following its status until final. */
  | 'following'
  /** The last attempt failed; the next one is created at `nextAttemptAt`. */
  | 'backoff'
  /** An attempt reached its goal; waiting for the device's answer until `answerDeadline`. */
  | 'answer';

/** One message a node keeps trying to deliver; version 1 of the store's format. */
export interface PendingAttempt extends StoredRecord {
  kind: CommandKind;
  /** The SIM as the user gave it (unique name or SID): what errors and the status name. */
  sim: string;
  /** The create request's parameters (the client's camelCase params), without the tracking CallbackUrl. */
  request: Record<string, unknown>;
  /** Wireless only: a delivery receipt was asked for, so success is `delivered`. */
  deliveryReceipt?: boolean;
  /** The input message, serialised (Buffers as {type:'Buffer',data}); outputs 2 and 3 and errors carry it. */
  message: string;
  /** 1 for the first attempt. */
  attempt: number;
  stage: AttemptStage;
  /** ms: when the first attempt began, and when keeping trying ends. */
  startedAt: number;
  deadline: number;
  /** ms: when the current attempt's create began (reconcile lists commands created since then). */
  attemptStartedAt: number;
  /** The current attempt's command, once created. */
  sid?: string;
  simSid?: string;
  /** ms, the current attempt's date_created. */
  createdAt?: number;
  /** SIDs of this message's earlier attempts: never adopted again by a reconcile. */
  earlierSids: string[];
  /** The stage 'backoff' ends here (ms). */
  nextAttemptAt?: number;
  /** The stage 'answer' ends here (ms). */
  answerDeadline?: number;
  lastErrorCode?: number | null;
  /** The current attempt's latest status seen, so that a resumed follow reports only what is new. */
  status?: string;
  /** Wait this long for the device's answer once an attempt succeeds; absent: no answer is awaited. */
  answerTimeoutMs?: number;
  /** How long each attempt's status is followed before its outcome counts as unknown. */
  followMs: number;
  /** Output 1 went out (it goes out once, for the first created command). */
  announced: boolean;
}
