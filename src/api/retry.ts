/** Timing of the retry policy; the decisions of what may be retried live in the client. */

export interface RetryOptions {
  /** Attempts in all, the first included, for answers that may be retried (429, a failed connect, a read's 5xx). */
  maxAttempts: number;
  /** First backoff step when the server gave no Retry-After. */
  baseDelayMs: number;
  /** Longest backoff step, and the longest a Retry-After is honoured. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 30_000 };

/**
 * Reads Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3). Returns undefined when
 * the header is absent or unreadable, so the caller falls back to its own backoff.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Exponential backoff with full jitter: spreads the retries of many clients that failed together. */
export function backoffDelay(attempt: number, options: RetryOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}

/** The wait before the next attempt: the server's word when it gave one (capped), else backoff. */
export function retryDelay(attempt: number, retryAfterMs: number | undefined, options: RetryOptions): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, options.maxDelayMs);
  return backoffDelay(attempt, options);
}
