/**
 * Idempotency across several Node-RED instances: after the local cache (the cheap first line) lets a
 * callback through, it is emitted only if a shared store claims its token and its event in one atomic
 * step. When the store cannot answer, the local verdict stands and the keys are handed back to the
 * store to write once it can, so a provider's retry after an outage is still known as a duplicate.
 */
import { createHash } from 'node:crypto';
import type { CommandEvent } from './event';
import type { AcceptedCallback, ReceiverResult } from './receiver';

export interface SharedClaimStore {
  /**
   * Claims every key for ttlMs in one atomic step: true when none was claimed before (emit), false
   * when one was (a duplicate; the others are recorded too). Rejects when the store cannot answer.
   */
  claim(keys: readonly string[], ttlMs: number): Promise<boolean>;
  /** Keys accepted on local memory alone while the store was away: written to it when it is back. */
  claimedLocally(keys: readonly string[], ttlMs: number): void;
}

export interface SharedIdempotency {
  store: SharedClaimStore;
  /** Whose callbacks: the command-in node's id, or the account's for its status route. */
  scope: string;
}

/** The keys (without the store's prefix) of one event: its delivery token, when it has one, and the event itself. */
export function sharedClaimKeysOf(scope: string, event: Pick<CommandEvent, 'sid' | 'status' | 'direction' | 'idempotencyToken'>): string[] {
  const keys: string[] = [];
  if (event.idempotencyToken !== null && event.idempotencyToken !== '') {
    keys.push(`idem:${scope}:${createHash('sha256').update(event.idempotencyToken, 'utf8').digest('hex')}`);
  }
  keys.push(`event:${scope}:${event.sid}:${event.status}:${event.direction}`);
  return keys;
}

/** What the shared claim made of a locally accepted callback. */
export type SharedClaimOutcome = 'claimed' | 'duplicate' | 'local-only';

export async function claimShared(
  shared: SharedIdempotency,
  result: AcceptedCallback,
  ttlMs: number,
): Promise<{ result: ReceiverResult; claim: SharedClaimOutcome }> {
  const keys = sharedClaimKeysOf(shared.scope, result.event);
  let claimed: boolean;
  try {
    claimed = await shared.store.claim(keys, ttlMs);
  } catch {
    // Unreachable, slow or failing: never lose a callback for it; the keys catch up later.
    try {
      shared.store.claimedLocally(keys, ttlMs);
    } catch {
      // The write-back is a best effort; the callback it was for is accepted all the same.
    }
    return { result, claim: 'local-only' };
  }
  if (claimed) return { result, claim: 'claimed' };
  return { result: { outcome: 'duplicate', status: 200, event: result.event, duplicate: true, verified: result.verified }, claim: 'duplicate' };
}
