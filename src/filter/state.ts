import type { CommandStatus } from '../shared';
import { classifyTransition, isCommandStatus } from '../commands';
import { OldestFirstMap } from '../shared';

export type FilterDecision = 'pass' | 'duplicate' | 'regression' | 'after-final' | 'not-selected' | 'invalid';

export interface FilterEntry {
  status: CommandStatus;
  /** When the status was recorded, by the state's clock (ms). */
  at: number;
}

export interface StatusFilterOptions {
  /** Commands remembered at most; past it the least recently updated is forgotten. Default 100 000. */
  maxCommands?: number;
  /** A command not updated for this long is forgotten. Default 48 h: SMS are retried for 24 h. */
  ttlMs?: number;
  /** Statuses to pass; empty or absent passes every forward change. */
  statuses?: readonly CommandStatus[];
  now?: () => number;
}

export interface StatusFilterSnapshot {
  v: 1;
  /** [sid, status, at], least recently updated first. */
  entries: [string, CommandStatus, number][];
}

export const DEFAULT_MAX_COMMANDS = 100_000;
export const DEFAULT_TTL_MS = 48 * 60 * 60 * 1000;

/**
 * An entry is one number, `at * 8 + code`, so that a remembered command costs its Map slot, its SID
 * string and that number, and no object of its own: what keeps 100 000 commands at a few MB.
 */
const CODES: readonly CommandStatus[] = ['queued', 'sent', 'delivered', 'failed', 'received'];
const CODE_OF = new Map(CODES.map((status, code) => [status, code]));
const CODE_SPAN = 8;
/** Times beyond this would lose the code to rounding once packed. */
const MAX_TIME = Math.floor(Number.MAX_SAFE_INTEGER / CODE_SPAN);

function pack(status: CommandStatus, at: number): number {
  return at * CODE_SPAN + (CODE_OF.get(status) as number);
}

function unpack(value: number): FilterEntry {
  // Times before the epoch (a test clock) pack to negative numbers, whose % is negative too.
  const code = ((value % CODE_SPAN) + CODE_SPAN) % CODE_SPAN;
  return { status: CODES[code], at: (value - code) / CODE_SPAN };
}

function checkOptions(options: StatusFilterOptions): { max: number; ttl: number; statuses: ReadonlySet<CommandStatus>; now: () => number } {
  const max = options.maxCommands ?? DEFAULT_MAX_COMMANDS;
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`maxCommands must be an integer >= 1, got ${max}`);
  const ttl = options.ttlMs ?? DEFAULT_TTL_MS;
  if (!(ttl > 0)) throw new RangeError(`ttlMs must be a number > 0, got ${ttl}`);
  const statuses = options.statuses ?? [];
  if (!Array.isArray(statuses)) throw new TypeError('statuses must be an array of status names');
  for (const status of statuses) {
    if (!isCommandStatus(status)) throw new RangeError(`statuses: ${JSON.stringify(status)} is not one of ${CODES.join(', ')}`);
  }
  return { max, ttl, statuses: new Set(statuses), now: options.now ?? Date.now };
}

/**
 * What the status filter knows: the last status of each command it has seen, in update order, so
 * the least recently updated command, which is also the one that expires first, is always the
 * oldest entry: eviction and expiry cost O(1) per command.
 */
export class StatusFilterState {
  readonly #max: number;
  readonly #ttl: number;
  readonly #statuses: ReadonlySet<CommandStatus>;
  readonly #now: () => number;
  readonly #entries = new OldestFirstMap<string, number>();

  constructor(options: StatusFilterOptions = {}) {
    const checked = checkOptions(options);
    this.#max = checked.max;
    this.#ttl = checked.ttl;
    this.#statuses = checked.statuses;
    this.#now = checked.now;
  }

  /**
   * Decides whether the message passes, and records the status when it moves the command forward,
   * selected or not: a later selected status must be judged against where the command really is.
   */
  decide(sid: unknown, status: unknown): FilterDecision {
    if (typeof sid !== 'string' || sid === '') return 'invalid';
    const now = this.#clock();
    this.#prune(now);
    const transition = classifyTransition(this.#live(sid, now)?.status, status);
    switch (transition) {
      case 'unknown-status':
        return 'invalid';
      case 'first':
      case 'forward':
        this.#record(sid, status as CommandStatus, now);
        return this.#statuses.size === 0 || this.#statuses.has(status as CommandStatus) ? 'pass' : 'not-selected';
      default:
        return transition;
    }
  }

  /** Records a status another judge (the shared store) found to move the command forward. */
  remember(sid: string, status: CommandStatus): void {
    const now = this.#clock();
    this.#prune(now);
    this.#record(sid, status, now);
  }

  /** What is known of a command, if anything. */
  get(sid: string): FilterEntry | undefined {
    return this.#live(sid, this.#clock());
  }

  /** Forgets a command (`msg.reset`); true when something was known of it. */
  reset(sid: string): boolean {
    const known = this.get(sid) !== undefined;
    this.#entries.delete(sid);
    return known;
  }

  clear(): void {
    this.#entries.clear();
  }

  /** Commands remembered. */
  get size(): number {
    this.#prune(this.#clock());
    return this.#entries.size;
  }

  toJSON(): StatusFilterSnapshot {
    const now = this.#clock();
    this.#prune(now);
    const entries: StatusFilterSnapshot['entries'] = [];
    for (const [sid, value] of this.#entries.entries()) {
      const entry = unpack(value);
      if (!this.#expired(entry.at, now)) entries.push([sid, entry.status, entry.at]);
    }
    return { v: 1, entries };
  }

  /**
   * Rebuilds a state from a snapshot that went through a context store, a file or a user's hands:
   * anything that is not a snapshot gives an empty state, malformed entries are skipped, expired ones
   * dropped and, past maxCommands, the least recently updated dropped.
   */
  static fromJSON(data: unknown, options: StatusFilterOptions = {}): StatusFilterState {
    const state = new StatusFilterState(options);
    if (typeof data !== 'object' || data === null) return state;
    const { v, entries } = data as Partial<StatusFilterSnapshot>;
    if (v !== 1 || !Array.isArray(entries)) return state;
    const now = state.#clock();
    const valid: [string, CommandStatus, number][] = [];
    for (const entry of entries as unknown[]) {
      if (!Array.isArray(entry) || entry.length !== 3) continue;
      const [sid, status, at] = entry as unknown[];
      if (typeof sid !== 'string' || sid === '' || !isCommandStatus(status) || typeof at !== 'number' || !(Math.abs(at) <= MAX_TIME)) continue;
      // A time ahead of the clock (another machine, an edited file) would keep the entry past its ttl.
      const when = Math.min(Math.floor(at), now);
      if (!state.#expired(when, now)) valid.push([sid, status, when]);
    }
    // Expiry and eviction rely on Map order being time order; a stable sort keeps a snapshot's own order.
    valid.sort((a, b) => a[2] - b[2]);
    for (const [sid, status, at] of valid.slice(-state.#max)) state.#record(sid, status, at);
    return state;
  }

  #clock(): number {
    // Whole milliseconds keep the packed entries exact.
    return Math.floor(this.#now());
  }

  #expired(at: number, now: number): boolean {
    return now - at > this.#ttl;
  }

  #live(sid: string, now: number): FilterEntry | undefined {
    const value = this.#entries.get(sid);
    if (value === undefined) return undefined;
    const entry = unpack(value);
    return this.#expired(entry.at, now) ? undefined : entry;
  }

  #record(sid: string, status: CommandStatus, at: number): void {
    this.#entries.set(sid, pack(status, at));
    if (this.#entries.size > this.#max) this.#entries.delete((this.#entries.oldest() as [string, number])[0]);
  }

  /** Drops expired commands from the front; each is dropped once, so the cost is O(1) per command. */
  #prune(now: number): void {
    for (let oldest = this.#entries.oldest(); oldest !== undefined && this.#expired(unpack(oldest[1]).at, now); oldest = this.#entries.oldest()) {
      this.#entries.delete(oldest[0]);
    }
  }
}
