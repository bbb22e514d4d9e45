/**
 * The command log of one Node-RED: the newest 500 commands its nodes sent and received, each a row
 * updated in place as its statuses, answer, error and attempts come, and what changed since the last
 * batch the editor was sent. It sits on the path of every command, so each change is a few map
 * operations and no copying; rows are ordered and serialised only when a batch or snapshot is taken.
 */
import { OldestFirstMap } from '../shared';
import type { CommandKind } from '../shared';
import {
  MAX_EARLIER_SIDS,
  addStatus,
  errorOf,
  eventErrorOf,
  isRowStatus,
  payloadText,
  resourceErrorOf,
  resourcePayload,
  simOfEvent,
} from './row';
import type { CommandRow, ReceivedCommand, RowNode } from './row';

export const MAX_ROWS = 500;

/** What the editor is sent: whole rows changed since the last batch, newest first; `cleared` applies before `rows`. */
export interface CommandBatch {
  rows: CommandRow[];
  removed?: string[];
  cleared?: true;
}

export interface CommandSnapshot {
  rows: CommandRow[];
  max: number;
}

export interface CommandLogOptions {
  max?: number;
  now?: () => number;
  /** Called after every change: the batcher schedules the next batch. */
  changed?: () => void;
}

/** A send about to be made: what its row shows before the API answered. */
export interface SendStart {
  node: RowNode;
  /** The message's _msgid: one row per message and node. */
  msgid: string | undefined;
  kind: CommandKind;
  sim: string | null;
  payload: unknown;
}

/** What a kept-trying or answer-awaiting message's engine knows of it (the reaching record's fields). */
export interface FollowedCommand {
  id: string;
  kind: CommandKind;
  sim: string;
  attempt: number;
  sid?: string;
  earlierSids: readonly string[];
}

export class CommandLog {
  readonly max: number;
  readonly #rows = new OldestFirstMap<string, CommandRow>();
  /** SID (current and earlier attempts') → row key, for callbacks and follow-ups that know only the SID. */
  readonly #bySid = new Map<string, string>();
  /** Rows changed since the last batch. */
  readonly #changed = new Set<string>();
  /** Rows the editor may hold (sent in a batch or a snapshot): only their eviction is news to it. */
  readonly #shown = new Set<string>();
  #removed: string[] = [];
  #cleared = false;
  /** Sends begun so far: the last part of each send's key. */
  #begun = 0;
  readonly #now: () => number;
  readonly #notify: () => void;

  constructor(options: CommandLogOptions = {}) {
    this.max = options.max ?? MAX_ROWS;
    this.#now = options.now ?? Date.now;
    this.#notify = options.changed ?? (() => undefined);
  }

  get size(): number {
    return this.#rows.size;
  }

  /** The row, for tests and the wiring's lookups; changing it changes the log without telling anyone. */
  get(key: string): CommandRow | undefined {
    return this.#rows.get(key);
  }

  keyOfSid(sid: string): string | undefined {
    return this.#bySid.get(sid);
  }

  // ---- sending ---------------------------------------------------------------------------------

  /** A send node is about to create a command for a message; returns the row's key for what follows. */
  begin(start: SendStart): string {
    // Each send a row of its own, even of the same message through the same node again (a loop, a
    // clone keeping its _msgid): a number no other row of this log had, rather than a search for a
    // free key, which a flow sending one message object thousands of times would pay for each time.
    const key = `n:${start.node.id}:${start.msgid ?? ''}:${++this.#begun}`;
    const at = this.#iso();
    this.#add({
      key,
      time: at,
      kind: start.kind,
      sim: start.sim,
      direction: 'to_sim',
      sid: null,
      payload: payloadText(start.payload),
      statuses: [{ status: 'creating', at }],
      error: null,
      answer: null,
      attempts: 1,
      node: start.node,
    });
    return key;
  }

  /** The API created the command: its SID, its first status. */
  created(key: string, resource: Record<string, unknown>): void {
    const row = this.#rows.get(key);
    if (row === undefined) return;
    const sid = typeof resource.sid === 'string' && resource.sid !== '' ? resource.sid : null;
    if (sid !== null && row.sid !== sid) {
      if (row.sid !== null) this.#rememberEarlier(row, row.sid);
      row.sid = sid;
      this.#bySid.set(sid, key);
    }
    if (row.sim === null && typeof resource.sim_sid === 'string') row.sim = resource.sim_sid;
    row.payload ??= resourcePayload(resource);
    this.#status(row, resource);
  }

  /** A later status of the row's command (tracking, a follow-up, a callback). */
  status(key: string, resource: Record<string, unknown>): void {
    const row = this.#rows.get(key);
    if (row !== undefined) this.#status(row, resource);
  }

  /** The message ended in an error (nothing created, or a Catch error after it was). */
  failed(key: string, error: unknown): void {
    const row = this.#rows.get(key);
    if (row === undefined) return;
    row.error = errorOf(error);
    this.#touch(row.key);
  }

  /** The device's answer to the row's command. */
  answered(key: string, payload: unknown): void {
    const row = this.#rows.get(key);
    if (row === undefined) return;
    row.answer = { payload: payloadText(payload) ?? '', at: this.#iso() };
    this.#touch(row.key);
  }

  /**
   * The row of a message followed up after its create (keep trying, waiting for an answer): found by
   * its current SID, else by an earlier attempt's (then this is its next attempt), else begun here
   * (a message resumed after a restart, whose row the log of the previous run had).
   */
  followed(node: RowNode, command: FollowedCommand): string {
    const current = command.sid === undefined ? undefined : this.#bySid.get(command.sid);
    if (current !== undefined && this.#rows.get(current) !== undefined) return current;
    let key: string | undefined;
    for (let i = command.earlierSids.length - 1; i >= 0 && key === undefined; i--) key = this.#bySid.get(command.earlierSids[i]);
    let row = key === undefined ? undefined : this.#rows.get(key);
    if (row === undefined) {
      key = `n:${node.id}:${command.id}`;
      row = this.#rows.get(key);
      if (row === undefined) {
        const at = this.#iso();
        row = {
          key,
          time: at,
          kind: command.kind,
          sim: command.sim,
          direction: 'to_sim',
          sid: null,
          payload: null,
          statuses: [],
          error: null,
          answer: null,
          attempts: command.attempt,
          node,
        };
        this.#add(row);
      }
    }
    if (command.sid !== undefined && row.sid !== command.sid) {
      if (row.sid !== null) this.#rememberEarlier(row, row.sid);
      row.sid = command.sid;
      this.#bySid.set(command.sid, row.key);
    }
    if (row.attempts !== command.attempt) row.attempts = command.attempt;
    this.#touch(row.key);
    return row.key;
  }

  // ---- receiving -------------------------------------------------------------------------------

  /**
   * A callback command-in received: a command from a SIM is a row of its own; a status of a command
   * sent from here updates the sender's row, and one sent elsewhere gets a row with command-in's node.
   */
  received(event: ReceivedCommand, node: RowNode): void {
    const at = this.#iso();
    const key = event.direction === 'to_sim' ? (this.#bySid.get(event.sid) ?? `sid:${event.sid}`) : `sid:${event.sid}`;
    const row = this.#rows.get(key);
    if (row !== undefined) {
      const added = addStatus(row, event.status, at);
      const error = eventErrorOf(event);
      if (error !== null) row.error = error;
      if (added || error !== null) this.#touch(key);
      return;
    }
    this.#bySid.set(event.sid, key);
    this.#add({
      key,
      time: at,
      kind: event.kind,
      sim: simOfEvent(event),
      direction: event.direction,
      sid: event.sid,
      payload: payloadText(event.payload),
      statuses: [{ status: event.status, at }],
      error: eventErrorOf(event),
      answer: null,
      attempts: 1,
      node,
    });
  }

  // ---- reading ---------------------------------------------------------------------------------

  /** Every row, newest first, as the admin endpoint answers; the editor holds them from now on. */
  snapshot(): CommandSnapshot {
    const rows: CommandRow[] = [];
    for (const [key, row] of this.#rows.entries()) {
      rows.push(row);
      this.#shown.add(key);
    }
    return { rows: rows.reverse(), max: this.max };
  }

  /** What changed since the last batch, or undefined when nothing did. */
  takeBatch(): CommandBatch | undefined {
    if (this.#changed.size === 0 && this.#removed.length === 0 && !this.#cleared) return undefined;
    const rows: CommandRow[] = [];
    if (this.#changed.size > 0) {
      // In the log's order (when each row began), whatever order they changed in.
      for (const [key, row] of this.#rows.entries()) {
        if (!this.#changed.has(key)) continue;
        rows.push(row);
        this.#shown.add(key);
      }
      rows.reverse();
      this.#changed.clear();
    }
    const batch: CommandBatch = { rows };
    if (this.#removed.length > 0) {
      batch.removed = this.#removed;
      this.#removed = [];
    }
    if (this.#cleared) {
      batch.cleared = true;
      this.#cleared = false;
    }
    return batch;
  }

  /** Forgets every row; the next batch says so. */
  clear(): void {
    this.#rows.clear();
    this.#bySid.clear();
    this.#changed.clear();
    this.#shown.clear();
    this.#removed = [];
    this.#cleared = true;
    this.#notify();
  }

  // ---- inside ----------------------------------------------------------------------------------

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }

  #add(row: CommandRow): void {
    this.#rows.set(row.key, row);
    if (this.#rows.size > this.max) this.#evictOldest();
    this.#touch(row.key);
  }

  #evictOldest(): void {
    const oldest = this.#rows.oldest();
    if (oldest === undefined) return;
    const [key, row] = oldest;
    this.#rows.delete(key);
    this.#changed.delete(key);
    if (row.sid !== null && this.#bySid.get(row.sid) === key) this.#bySid.delete(row.sid);
    for (const sid of row.earlierSids ?? []) if (this.#bySid.get(sid) === key) this.#bySid.delete(sid);
    if (this.#shown.delete(key)) this.#removed.push(key);
  }

  #touch(key: string): void {
    this.#changed.add(key);
    this.#notify();
  }

  #status(row: CommandRow, resource: Record<string, unknown>): void {
    const status = resource.status;
    let changed = isRowStatus(status) && addStatus(row, status, this.#iso());
    const error = resourceErrorOf(resource);
    if (error !== null) {
      row.error = error;
      changed = true;
    }
    if (changed) this.#touch(row.key);
  }

  #rememberEarlier(row: CommandRow, sid: string): void {
    const earlier = (row.earlierSids ??= []);
    earlier.push(sid);
    if (earlier.length > MAX_EARLIER_SIDS) {
      for (const dropped of earlier.splice(0, earlier.length - MAX_EARLIER_SIDS)) {
        if (this.#bySid.get(dropped) === row.key) this.#bySid.delete(dropped);
      }
    }
  }
}
