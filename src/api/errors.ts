import type { ApiName, SecretRedactor } from './config';
import { urlFieldOf } from './config';
import { MAX_ANSWER_BYTES } from './network';
import type { NetworkFailure } from './network';
import { parseRetryAfter } from './retry';
import { capitalised, credentialFields, wordsFor } from './words';
import type { ApiErrorBody, Provider } from './types';
import { trimTrailing } from '../shared';

/**
 * What went wrong, in the terms a flow needs to decide what to do next:
 * - `api`: the API answered with an error status (4xx/5xx);
 * - `auth`: the credentials were refused (token endpoint or API 401/403);
 * - `network`: no connection could be made, or it broke;
 * - `timeout`: no (complete) answer in time;
 * - `invalid-response`: the answer was not what the API documents;
 * - `queue-full`: the account's request queue was full, nothing was sent;
 * - `closed`: the client was closed (redeploy, shutdown) before the request went out or finished;
 * - `cancelled`: the caller gave up (its AbortSignal fired) before the request went out.
 */
export type ApiErrorKind = 'api' | 'auth' | 'network' | 'timeout' | 'invalid-response' | 'queue-full' | 'closed' | 'cancelled';

/**
 * Whether the server acted on the request: `none` (refused or never reached it), `unknown` (it may
 * have: a 5xx, a timeout or a reset after the request was written) or `done` (it did, but the answer
 * could not be read). A create that ends `unknown` or `done` must not be sent again blindly.
 */
export type Effect = 'none' | 'unknown' | 'done';

export interface ApiErrorDetails {
  kind: ApiErrorKind;
  operation: string;
  method: string;
  /** Path of the request, without the query string. Never carries credentials. */
  path: string;
  effect: Effect;
  status?: number;
  code?: number;
  apiMessage?: string;
  moreInfo?: string;
  /** undici's or the OS's error code for network failures (ECONNREFUSED, UND_ERR_HEADERS_TIMEOUT, …). */
  networkCode?: string;
  attempts: number;
  retryAfterMs?: number;
  /** The transport's own error (undici's), for debugging: never quoted in the message or toJSON. */
  cause?: unknown;
}

/**
 * The one error the client throws. It carries only what was built from the answer and the request's
 * method and path: never a header, a token or a credential, so logging or serialising it is safe.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly kind: ApiErrorKind;
  readonly operation: string;
  readonly method: string;
  readonly path: string;
  readonly effect: Effect;
  readonly status?: number;
  readonly code?: number;
  readonly apiMessage?: string;
  readonly moreInfo?: string;
  readonly networkCode?: string;
  readonly attempts: number;
  readonly retryAfterMs?: number;

  constructor(message: string, details: ApiErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = details.kind;
    this.operation = details.operation;
    this.method = details.method;
    this.path = details.path;
    this.effect = details.effect;
    this.attempts = details.attempts;
    if (details.status !== undefined) this.status = details.status;
    if (details.code !== undefined) this.code = details.code;
    if (details.apiMessage !== undefined) this.apiMessage = details.apiMessage;
    if (details.moreInfo !== undefined) this.moreInfo = details.moreInfo;
    if (details.networkCode !== undefined) this.networkCode = details.networkCode;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      kind: this.kind,
      operation: this.operation,
      method: this.method,
      path: this.path,
      effect: this.effect,
      status: this.status,
      code: this.code,
      apiMessage: this.apiMessage,
      moreInfo: this.moreInfo,
      networkCode: this.networkCode,
      attempts: this.attempts,
      retryAfterMs: this.retryAfterMs,
    };
  }
}

/** The fields of an error body as both providers send it, tolerating partial bodies. */
export function readErrorBody(body: unknown): Partial<ApiErrorBody> {
  if (body === null || typeof body !== 'object') return {};
  const b = body as Record<string, unknown>;
  const out: Partial<ApiErrorBody> = {};
  if (typeof b.status === 'number') out.status = b.status;
  if (typeof b.code === 'number') out.code = b.code;
  else if (typeof b.code === 'string' && /^\d+$/.test(b.code)) out.code = Number(b.code);
  if (typeof b.message === 'string') out.message = b.message;
  if (typeof b.more_info === 'string') out.more_info = b.more_info;
  return out;
}

/** What an error names of the request it is about. */
export interface RequestRef {
  operation: string;
  method: string;
  path: string;
}

/** And what its wording depends on. */
export interface RequestFacts extends RequestRef {
  api: ApiName;
  /** True when doing it twice is harmless, so it may be retried after the server may have acted. */
  idempotent: boolean;
  /** What a 404 says is missing, in words: "SIM thermostat", "Fleet HF…". */
  subject?: string;
}

type ErrorExtra = { status?: number; code?: number; apiMessage?: string; moreInfo?: string; networkCode?: string; retryAfterMs?: number; cause?: unknown };

const MAX_ERROR_SNIPPET = 200;

/**
 * Words every error of one client: what happened, whether the provider may have acted, and which
 * field of the account node to check. Every message passes through the account's redactor.
 */
export class ErrorWriter {
  readonly #provider: Provider;
  readonly #redactor: SecretRedactor;
  readonly #hostOf: (api: ApiName) => string;

  constructor(provider: Provider, redactor: SecretRedactor, hostOf: (api: ApiName) => string) {
    this.#provider = provider;
    this.#redactor = redactor;
    this.#hostOf = hostOf;
  }

  error(message: string, kind: ApiErrorKind, spec: RequestRef, effect: Effect, attempts: number, extra: ErrorExtra = {}): ApiError {
    return new ApiError(this.#redactor.redact(message), {
      kind,
      operation: spec.operation,
      method: spec.method,
      path: spec.path,
      effect,
      attempts,
      ...extra,
    });
  }

  /** Redacted before it is cut: a secret that straddles the cut would otherwise leak its first characters. */
  snippet(text: string): string {
    const oneLine = this.#redactor.redact(text).replace(/\s+/g, ' ').trim();
    return oneLine.length > MAX_ERROR_SNIPPET ? `${oneLine.slice(0, MAX_ERROR_SNIPPET)}…` : oneLine;
  }

  cancelled(spec: RequestRef, attempts: number): ApiError {
    // Only reached between attempts or in the queue: whatever went out before was refused (429) or never sent.
    return this.error(`${capitalised(wordsFor(spec.operation).doing)} was cancelled before it was sent`, 'cancelled', spec, 'none', attempts);
  }

  closed(spec: RequestRef, attempts: number, effect: Effect = 'none'): ApiError {
    const words = wordsFor(spec.operation);
    const tail = effect === 'none' ? 'it was not sent' : (words.mayHaveActed ?? 'it may have reached the provider');
    return this.error(`${capitalised(words.doing)} stopped: the account was closed (redeploy or shutdown); ${tail}`, 'closed', spec, effect, attempts);
  }

  queueFull(spec: RequestRef, maxQueue: number, inFlight: number): ApiError {
    return this.error(
      `Too many messages at once: ${maxQueue} requests are already waiting for this account ` +
        `(${inFlight} in flight), so ${wordsFor(spec.operation).doing} was not sent. Slow the flow down (e.g. a delay node in rate-limit mode).`,
      'queue-full',
      spec,
      'none',
      0,
    );
  }

  /** The request never left: the token it needed could not be had. */
  noToken(spec: RequestRef, attempts: number, err: unknown): ApiError {
    const cause = err instanceof ApiError ? err : undefined;
    return new ApiError(
      `${trimTrailing(cause ? cause.message : 'Could not get an access token', '.')}. Nothing was sent: ${wordsFor(spec.operation).doing} needs an access token first.`,
      {
        kind: cause?.kind === 'api' ? 'auth' : (cause?.kind ?? 'auth'),
        operation: spec.operation,
        method: spec.method,
        path: spec.path,
        effect: 'none',
        status: cause?.status,
        code: cause?.code,
        apiMessage: cause?.apiMessage,
        moreInfo: cause?.moreInfo,
        networkCode: cause?.networkCode,
        attempts,
        cause,
      },
    );
  }

  network(spec: RequestFacts, failure: NetworkFailure, attempts: number, cause: unknown): ApiError {
    const host = this.#hostOf(spec.api);
    const words = wordsFor(spec.operation);
    const details = `${failure.description}, ${failure.networkCode}${attempts > 1 ? `, ${attempts} attempts` : ''}`;
    const broke = failure.timeout ? `${host} did not answer in time` : `the connection to ${host} broke`;
    let message: string;
    let effect: Effect;
    if (failure.beforeWrite) {
      effect = 'none';
      // A token request's error is wrapped in one that says nothing was sent.
      const tail = spec.api === 'token' ? '' : ' Nothing was sent.';
      message = `Could not reach ${host}: check the ${urlFieldOf(spec.api)} of the account node and that the host is reachable (${details}).${tail}`;
    } else if (spec.idempotent || words.mayHaveActed === undefined) {
      effect = 'unknown';
      message = `${capitalised(broke)} while ${words.doing} (${details}).`;
    } else {
      effect = 'unknown';
      message =
        `${capitalised(words.mayHaveActed)}: ${broke} after the request was sent (${details}). ` +
        'It was not sent again (no duplicates): check the command list before resending.';
    }
    return this.error(message, failure.timeout ? 'timeout' : 'network', spec, effect, attempts, { networkCode: failure.networkCode, cause });
  }

  /** A 2xx whose body broke off: the provider did it, but what it answered is lost. */
  unreadable(spec: RequestFacts, status: number, failure: NetworkFailure, attempts: number, cause: unknown): ApiError {
    const words = wordsFor(spec.operation);
    return this.error(
      spec.idempotent || words.acted === undefined
        ? `The provider's answer to ${words.doing} could not be read (HTTP ${status}): ${failure.description}`
        : `${capitalised(words.acted)} (HTTP ${status}), but its answer could not be read: ${failure.description}. ` +
            'It was not sent again (no duplicates): check the command list before resending',
      failure.timeout ? 'timeout' : 'network',
      spec,
      'done',
      attempts,
      { status, networkCode: failure.networkCode, cause },
    );
  }

  notJson(spec: RequestFacts, status: number, text: string): ApiError {
    const words = wordsFor(spec.operation);
    const acted = spec.idempotent || words.acted === undefined ? '' : ` ${capitalised(words.acted)}, but it was not sent again, so check the command list before resending.`;
    return this.error(
      `The provider's answer to ${words.doing} is not JSON (HTTP ${status}): check the ${urlFieldOf(spec.api)} of the account node.${acted} ` +
        `The answer began: ${this.snippet(text)}`,
      'invalid-response',
      spec,
      'done',
      1,
      { status },
    );
  }

  /** A 2xx answer too large to read: the request was done, but what it answered is unknown. */
  tooLarge(spec: RequestFacts, status: number, attempts: number): ApiError {
    const words = wordsFor(spec.operation);
    const acted =
      spec.idempotent || words.acted === undefined
        ? ''
        : `: ${words.acted}, but it was not sent again (no duplicates), so check the command list before resending`;
    return this.error(
      `The provider's answer to ${words.doing} is larger than ${MAX_ANSWER_BYTES} bytes (1 MB), so it was not read (HTTP ${status})${acted}. Check the ${urlFieldOf(spec.api)} of the account node`,
      'invalid-response',
      spec,
      'done',
      attempts,
      { status },
    );
  }

  /** `bodyText` undefined: the answer was too large to read. */
  http(spec: RequestFacts, status: number, bodyText: string | undefined, attempts: number, retryAfter: string | string[] | undefined): ApiError {
    let parsed: ReturnType<typeof readErrorBody> = {};
    try {
      if (bodyText !== undefined) parsed = readErrorBody(JSON.parse(bodyText));
    } catch {
      // Not JSON (a proxy's HTML page, say): the snippet below says what came back.
    }
    const apiMessage = parsed.message !== undefined ? this.#redactor.redact(parsed.message) : undefined;
    const kind: ApiErrorKind = status === 401 || status === 403 || (spec.api === 'token' && status < 500 && status !== 429) ? 'auth' : 'api';
    const words = wordsFor(spec.operation);
    const codes = parsed.code !== undefined ? `HTTP ${status}, code ${parsed.code}` : `HTTP ${status}`;
    const urlField = urlFieldOf(spec.api);
    let lead: string;
    if (spec.api === 'token' && status === 404) {
      lead = `Nothing answers at the Token URL (${codes}): check the Token URL of the account node`;
    } else if (kind === 'auth') {
      lead = `The provider refused the credentials (${codes}): check the ${credentialFields(this.#provider)} of the account node`;
    } else if (status === 404) {
      lead = spec.subject !== undefined ? `${spec.subject} is not in this account (${codes})` : `The provider found nothing to ${words.todo} (${codes}): check the ${urlField} of the account node`;
    } else if (status === 429) {
      const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
      lead = `The provider is rate limiting this account (${codes}): ${words.doing} was still refused${tries}, so it was not done. Slow the flow down (e.g. a delay node in rate-limit mode)`;
    } else if (status >= 500 && !spec.idempotent && words.mayHaveActed !== undefined) {
      lead = `The provider had an error while ${words.doing} (${codes}), and ${words.mayHaveActed} anyway: it was not sent again (no duplicates), so check the command list before resending`;
    } else if (status >= 500) {
      lead = `The provider had an error while ${words.doing} (${codes})${attempts > 1 ? `, still after ${attempts} attempts` : ''}`;
    } else {
      lead = `The provider refused to ${words.todo} (${codes})`;
    }
    const said = apiMessage ?? (bodyText === undefined ? `an answer larger than ${MAX_ANSWER_BYTES} bytes, not read` : this.snippet(bodyText));
    let message = said === '' ? `${lead}.` : `${lead}. The provider said: ${said}`;
    const moreInfo = parsed.more_info !== undefined ? this.#redactor.redact(parsed.more_info) : undefined;
    if (moreInfo) message += ` (${moreInfo})`;
    const retryAfterMs = parseRetryAfter(retryAfter);
    // A refusal (4xx) means the server did nothing; after a 5xx nobody can tell.
    const effect: Effect = status >= 500 ? 'unknown' : 'none';
    return this.error(message, kind, spec, effect, attempts, { status, code: parsed.code, apiMessage, moreInfo, retryAfterMs });
  }
}
