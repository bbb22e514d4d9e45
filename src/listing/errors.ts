import { ApiError, ClientConfigError } from '../api';

/**
 * A setting or message property that stops a listing or lookup before any request is made. The
 * field is the one users see in the editor, so the message tells them where to look.
 */
export class ListingInputError extends Error {
  override readonly name = 'ListingInputError';
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

/** A few words for the node's status; the whole message goes to the Catch node. */
export function shortReasonOf(err: unknown): string {
  if (err instanceof ListingInputError) return err.field;
  if (err instanceof ApiError) {
    if (err.status !== undefined && err.status >= 300) return err.code !== undefined ? `HTTP ${err.status} (${err.code})` : `HTTP ${err.status}`;
    return err.networkCode ? `${err.kind} ${err.networkCode}` : err.kind;
  }
  if (err instanceof ClientConfigError) return 'account';
  return err instanceof Error ? err.name : 'error';
}
