import type { CallbackReceiver, CallbackRequest, CommandEvent, RefusalKind } from '../callbacks';
import { messageOf } from './message';
import type { RoutedMessage } from './message';

/** The answers a webhook gives: providers only tell 2xx from the rest, people reading logs tell these apart. */
export type RefusalStatus = 400 | 403 | 405 | 413;

export type Received =
  | { outcome: 'accepted'; status: 200; event: CommandEvent; routed: RoutedMessage }
  /** A callback already accepted (a retry, or the same event again): answered 2xx so the provider stops, and emitted nothing. */
  | { outcome: 'duplicate'; status: 200; event: CommandEvent }
  | {
      outcome: 'refused';
      status: RefusalStatus;
      /** The whole reason, for the node's log. */
      reason: string;
      /** What the sender is told. */
      answer: string;
      /** A refusal with advice of its own for the owner. */
      refusal?: RefusalKind;
    };

/**
 * A forger learns nothing from why a signature failed (which URL was tried, which secret is missing);
 * the node's warning tells the owner.
 */
export const FORBIDDEN_ANSWER = 'Forbidden: the request is not signed as the account’s provider signs callbacks';

/**
 * Checks one request as the account's provider would have sent it and says what to answer and emit.
 * A POST that is neither a form nor JSON (415 to the receiver) is answered 400, like any other body
 * that is no callback, so senders meet only 2xx, 400, 403, 405 and 413.
 */
export function receive(receiver: CallbackReceiver, request: CallbackRequest): Received {
  const result = receiver.handle(request);
  if (result.status === 200 && result.event) {
    if (result.duplicate) return { outcome: 'duplicate', status: 200, event: result.event };
    return { outcome: 'accepted', status: 200, event: result.event, routed: messageOf(result.event, result.verified !== false) };
  }
  const reason = result.reason ?? 'the request is not a callback';
  // The provider's own configuration is at fault, not a forger's guess: the sender may know what to change.
  if (result.refusal === 'unsigned-get') return { outcome: 'refused', status: 403, reason, answer: `Forbidden: ${reason}`, refusal: result.refusal };
  if (result.status === 403) return { outcome: 'refused', status: 403, reason, answer: FORBIDDEN_ANSWER };
  const status: RefusalStatus = result.status === 405 || result.status === 413 ? result.status : 400;
  return { outcome: 'refused', status, reason, answer: reason };
}
