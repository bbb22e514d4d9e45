/**
 * What came over the wire, read without trusting it: how far a failed request got, by its error
 * code, and an answer's body read only up to a cap.
 */
import type { Dispatcher } from 'undici';

/** Answers longer than this are not read: no documented answer comes near it, and memory stays bounded. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

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

/** Thrown by readCapped: the answer was longer than MAX_ANSWER_BYTES, and the rest was not read. */
export class AnswerTooLargeError extends Error {
  override readonly name = 'AnswerTooLargeError';
}

/**
 * The body as text, read only up to MAX_ANSWER_BYTES: past it the body is destroyed (the connection
 * with it) instead of buffering whatever a broken or hostile server keeps sending.
 */
export async function readCapped(response: Dispatcher.ResponseData): Promise<string> {
  const body = response.body;
  const declared = Number(response.headers['content-length']);
  const tooLarge = (): never => {
    // Destroying a body mid-read makes undici emit an abort error nobody else listens for.
    body.on('error', () => undefined);
    body.destroy();
    throw new AnswerTooLargeError(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`);
  };
  if (declared > MAX_ANSWER_BYTES) tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ANSWER_BYTES) tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}
