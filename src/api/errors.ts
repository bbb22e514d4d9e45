import type { ApiErrorBody } from './types';

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
    super(message);
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
    };
  }
}

/** Error codes of failures that happen while connecting, before any byte of the request was written. */
const CONNECT_PHASE_CODES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

export interface NetworkFailure {
  networkCode: string;
  /** True when the request cannot have reached the server, so even a create may be sent again. */
  beforeWrite: boolean;
  timeout: boolean;
  description: string;
}

/** Reads a thrown transport error by its `code`, never by its message text. */
export function classifyNetworkError(err: unknown): NetworkFailure {
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'UNKNOWN';
  const beforeWrite = CONNECT_PHASE_CODES.has(code);
  return { networkCode: code, beforeWrite, timeout: TIMEOUT_CODES.has(code), description: describeNetworkCode(code) };
}

function describeNetworkCode(code: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'the connection was refused';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connecting timed out';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name could not be resolved';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return 'the host is unreachable';
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'no answer came in time after the request was sent';
    case 'UND_ERR_BODY_TIMEOUT':
      return 'the answer stalled before it was complete';
    case 'UND_ERR_SOCKET':
    case 'ECONNRESET':
    case 'EPIPE':
      return 'the connection was closed before the answer was complete';
    case 'UND_ERR_ABORTED':
      return 'the request was aborted';
    case 'UND_ERR_CLOSED':
    case 'UND_ERR_DESTROYED':
      return 'the client was closed';
    default:
      return 'the request failed';
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

/**
 * Replaces every known secret in a text that came from outside (an API message, a body snippet),
 * since a server may echo what it was sent.
 */
export class SecretRedactor {
  readonly #secrets = new Set<string>();

  add(secret: string | undefined): void {
    // Very short values would redact ordinary words; real secrets are long.
    if (secret && secret.length >= 6) this.#secrets.add(secret);
  }

  /** The secret as it is, and as a form or a URL would carry it, since a server may echo either. */
  addWithEncodings(secret: string): void {
    this.add(secret);
    this.add(encodeURIComponent(secret));
    this.add(new URLSearchParams({ s: secret }).toString().slice(2));
  }

  remove(secret: string | undefined): void {
    if (secret) this.#secrets.delete(secret);
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.#secrets) {
      if (out.includes(secret)) out = out.split(secret).join('[redacted]');
    }
    return out;
  }
}

/** How an error message speaks of an operation: users read words, not the client's method names. */
export interface OperationWords {
  /** "creating the IP Command": what was going on. */
  doing: string;
  /** "create the IP Command": what the provider refused to do. */
  todo: string;
  /** For requests that change something: "the IP Command may have been created". */
  mayHaveActed?: string;
  /** And once the provider said it did: "the IP Command was created". */
  acted?: string;
}

const OPERATION_WORDS: Readonly<Record<string, OperationWords>> = {
  createIpCommand: { doing: 'creating the IP Command', todo: 'create the IP Command', mayHaveActed: 'the IP Command may have been created', acted: 'the IP Command was created' },
  fetchIpCommand: { doing: 'fetching the IP Command', todo: 'fetch the IP Command' },
  listIpCommands: { doing: 'listing IP Commands', todo: 'list IP Commands' },
  createSmsCommand: { doing: 'creating the SMS Command', todo: 'create the SMS Command', mayHaveActed: 'the SMS Command may have been created', acted: 'the SMS Command was created' },
  fetchSmsCommand: { doing: 'fetching the SMS Command', todo: 'fetch the SMS Command' },
  listSmsCommands: { doing: 'listing SMS Commands', todo: 'list SMS Commands' },
  createWirelessCommand: { doing: 'creating the Wireless Command', todo: 'create the Wireless Command', mayHaveActed: 'the Wireless Command may have been created', acted: 'the Wireless Command was created' },
  fetchWirelessCommand: { doing: 'fetching the Wireless Command', todo: 'fetch the Wireless Command' },
  listWirelessCommands: { doing: 'listing Wireless Commands', todo: 'list Wireless Commands' },
  deleteWirelessCommand: { doing: 'deleting the Wireless Command', todo: 'delete the Wireless Command', mayHaveActed: 'the Wireless Command may have been deleted', acted: 'the Wireless Command was deleted' },
  fetchFleet: { doing: 'fetching the Fleet', todo: 'fetch the Fleet' },
  updateFleet: { doing: 'updating the Fleet', todo: 'update the Fleet' },
  verifyCredentials: { doing: 'checking the credentials', todo: 'check the credentials' },
  fetchToken: { doing: 'getting an access token', todo: 'give an access token' },
};

export function wordsFor(operation: string): OperationWords {
  return OPERATION_WORDS[operation] ?? { doing: 'calling the API', todo: 'answer the request' };
}

/** The first letter in upper case, for a phrase that starts a sentence. */
export function capitalised(text: string): string {
  return text === '' ? text : text[0].toUpperCase() + text.slice(1);
}

/** The account node's fields that hold a provider's credentials, by their editor labels. */
export function credentialFields(provider: 'kore' | 'twilio'): string {
  return provider === 'kore' ? 'Client ID and Client Secret' : 'Account SID and Auth Token';
}
