/**
 * The status filter across several Node-RED instances (issue 15, item 3): each command's last status
 * lives in a shared store, which applies the forward-only rule in one atomic step, so statuses of one
 * command spread over the instances pass once each, in forward order. The rule itself stays
 * classifyTransition's: the store is handed its verdicts for the incoming status, never a copy of it.
 */
import { classifyTransition, isCommandStatus } from '../commands';
import type { Transition } from '../commands';
import { OldestFirstMap } from '../shared';
import type { CommandStatus } from '../shared';
import type { FilterDecision, StatusFilterState } from './state';

/** The verdicts the store may give: classifyTransition's, less the one judged before asking. */
export type StoredTransition = Exclude<Transition, 'unknown-status'>;

export interface SharedFilterStore {
  /**
   * Judges `status` against the command's stored one with `verdicts` and, when it is the first or a
   * forward one, stores it for ttlMs, all in one atomic step. Rejects when the store cannot answer.
   */
  transition(sid: string, status: CommandStatus, verdicts: TransitionTable, ttlMs: number): Promise<StoredTransition>;
  /** Forgets one command, or with no sid every command of this filter. */
  reset(sid?: string): Promise<void>;
}

/** For one incoming status: the verdict after each status a command may be at. */
export type TransitionTable = readonly (readonly [CommandStatus, StoredTransition])[];

const ALL_STATUSES: readonly CommandStatus[] = ['queued', 'sent', 'delivered', 'failed', 'received'];

const TABLES = new Map<CommandStatus, TransitionTable>(
  ALL_STATUSES.map((next) => [next, ALL_STATUSES.map((previous) => [previous, classifyTransition(previous, next) as StoredTransition] as const)]),
);

export function transitionTableOf(next: CommandStatus): TransitionTable {
  return TABLES.get(next) as TransitionTable;
}

export interface SharedFilterOptions {
  store: SharedFilterStore;
  ttlMs: number;
  /** Statuses to pass; empty passes every forward change. */
  statuses: ReadonlySet<CommandStatus>;
  /** The store stopped answering: the local state decides until it answers again. Once per outage. */
  onFallback(error: unknown): void;
  /** It answers again. */
  onResumed(): void;
}

/** Statuses judged locally during an outage, kept for the store at most; past it the oldest go. */
export const MAX_FALLBACK_BACKLOG = 10_000;

export class SharedFilter {
  readonly #options: SharedFilterOptions;
  #fallingBack = false;
  /** sid → the status the local state moved it to while the store was away, oldest first (evicted first). */
  readonly #backlog = new OldestFirstMap<string, CommandStatus>();

  constructor(options: SharedFilterOptions) {
    this.#options = options;
  }

  /** Whether the local state decides now, the store having failed last. */
  get fallingBack(): boolean {
    return this.#fallingBack;
  }

  /**
   * The decision `local.decide` would make, with the store's knowledge of the command; the local state
   * follows what the store records, so that a fallback starts from the latest status this instance saw.
   */
  async decide(local: StatusFilterState, sid: unknown, status: unknown): Promise<FilterDecision> {
    if (typeof sid !== 'string' || sid === '' || !isCommandStatus(status)) return local.decide(sid, status);
    const { store, ttlMs, statuses } = this.#options;
    let transition: StoredTransition;
    try {
      transition = await store.transition(sid, status, transitionTableOf(status), ttlMs);
    } catch (error) {
      if (!this.#fallingBack) {
        this.#fallingBack = true;
        this.#options.onFallback(error);
      }
      const decision = local.decide(sid, status);
      if (decision === 'pass' || decision === 'not-selected') this.#keep(sid, status);
      return decision;
    }
    this.#answered();
    if (transition !== 'first' && transition !== 'forward') return transition;
    local.remember(sid, status);
    return statuses.size === 0 || statuses.has(status) ? 'pass' : 'not-selected';
  }

  /** Forgets in the store too; a store that cannot answer leaves its entries to their TTL. */
  async reset(sid?: string): Promise<void> {
    try {
      await this.#options.store.reset(sid);
      this.#answered();
    } catch {
      // The local state was reset; the shared one expires on its own.
    }
  }

  /** Statuses waiting to be written to the store. */
  get backlog(): number {
    return this.#backlog.size;
  }

  #keep(sid: string, status: CommandStatus): void {
    this.#backlog.set(sid, status);
    const oldest = this.#backlog.size > MAX_FALLBACK_BACKLOG ? this.#backlog.oldest() : undefined;
    if (oldest !== undefined) this.#backlog.delete(oldest[0]);
  }

  #answered(): void {
    if (!this.#fallingBack) return;
    this.#fallingBack = false;
    this.#options.onResumed();
    void this.#writeBack();
  }

  /**
   * What passed here during the outage, through the same rule: a status behind the stored one changes
   * nothing, one ahead moves it on, so another instance does not pass it again.
   */
  async #writeBack(): Promise<void> {
    const { store, ttlMs } = this.#options;
    for (const [sid, status] of this.#backlog.entries()) {
      if (this.#fallingBack) return;
      try {
        await store.transition(sid, status, transitionTableOf(status), ttlMs);
      } catch {
        // Away again: what is left waits for the next return.
        return;
      }
      if (this.#backlog.get(sid) === status) this.#backlog.delete(sid);
    }
  }
}
