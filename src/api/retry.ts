/**
 * The retry policy: which failures may be tried again, and after how long. Pure, so its whole table
 * is tested without a server; the transport only asks it.
 */

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
 * How far an attempt got: the connection failed before the request was written (the server cannot
 * have acted), it failed after (it may have), or the server answered with a status.
 */
export type RetryPhase = 'before-write' | 'after-write' | 'answered';

export interface RetryQuestion {
  /** True when doing it twice is harmless (reads, token requests, setting a Fleet's properties). */
  idempotent: boolean;
  phase: RetryPhase;
  /** The answer's status, when the phase is `answered`. */
  status?: number;
  /** Attempts made so far, the one that just failed included. */
  attempt: number;
  /** The answer's Retry-After header as it came; only a 429's is honoured. */
  retryAfter?: string | string[];
  now?: number;
  random?: () => number;
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false };

const NO_RETRY: RetryDecision = { retry: false };

/**
 * Whether to try again: a request that cannot have reached the server always may, one that may have
 * only when doing it twice is harmless. A 429 means the server did nothing, so even a create may be
 * sent again; a 5xx only for idempotent requests. Every other answer is final.
 */
export function decideRetry(question: RetryQuestion, options: RetryOptions = DEFAULT_RETRY): RetryDecision {
  if (question.attempt >= options.maxAttempts) return NO_RETRY;
  const { phase, status, idempotent } = question;
  const mayRetry =
    phase === 'before-write' ||
    (phase === 'after-write' && idempotent) ||
    (phase === 'answered' && status !== undefined && (status === 429 || (status >= 500 && idempotent)));
  if (!mayRetry) return NO_RETRY;
  const retryAfterMs = phase === 'answered' && status === 429 ? parseRetryAfter(question.retryAfter, question.now) : undefined;
  return { retry: true, delayMs: retryDelay(question.attempt, retryAfterMs, options, question.random) };
}

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
export function retryDelay(attempt: number, retryAfterMs: number | undefined, options: RetryOptions, random: () => number = Math.random): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, options.maxDelayMs);
  return backoffDelay(attempt, options, random);
}
