import type { CommandKind, CommandStatus } from '../shared';

export const FINAL_STATUSES: ReadonlySet<CommandStatus> = new Set<CommandStatus>(['failed', 'delivered', 'received']);

/**
 * How far along a command is. The final statuses share the top rank, so any of them follows any
 * non-final one: failed may come after queued or sent, delivered may skip sent (a callback or a
 * poll can miss it), and received is where commands from a SIM start.
 */
const RANK: Readonly<Record<CommandStatus, number>> = { queued: 0, sent: 1, delivered: 2, failed: 2, received: 2 };

export function isCommandStatus(value: unknown): value is CommandStatus {
  return typeof value === 'string' && Object.hasOwn(RANK, value);
}

export function isFinalStatus(status: CommandStatus): boolean {
  return FINAL_STATUSES.has(status);
}

export type Transition = 'first' | 'forward' | 'duplicate' | 'regression' | 'after-final' | 'unknown-status';

export function classifyTransition(previous: CommandStatus | undefined, next: unknown): Transition {
  if (!isCommandStatus(next)) return 'unknown-status';
  if (previous === undefined) return 'first';
  // A repeated final status is a retried callback, not news; report it as a duplicate like any other.
  if (previous === next) return 'duplicate';
  if (isFinalStatus(previous)) return 'after-final';
  return RANK[next] < RANK[previous] ? 'regression' : 'forward';
}

export function isForward(previous: CommandStatus | undefined, next: unknown): boolean {
  const transition = classifyTransition(previous, next);
  return transition === 'first' || transition === 'forward';
}

/**
 * Whether following a command can stop at this status. Besides the final statuses, `sent` is the end
 * of the road where no delivery receipt can follow: always for IP Commands, and for Wireless Commands
 * sent without one. An unknown `deliveryReceipt` counts as requested, the API's default, so tracking
 * waits for `delivered` rather than stopping early.
 */
export function isTrackingDone(kind: CommandKind, status: CommandStatus, options: { deliveryReceipt?: boolean } = {}): boolean {
  if (isFinalStatus(status)) return true;
  if (status !== 'sent') return false;
  return kind === 'ip' || (kind === 'wireless' && options.deliveryReceipt === false);
}
