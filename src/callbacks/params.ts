import { TextDecoder } from 'node:util';
import { describeValue } from '../commands';
import { headerOf, queryOf } from './request';
import type { CallbackRequest } from './request';

/**
 * Every webhook's body limit (command-in and the account's status route): large enough for any callback
 * (a 1300-byte payload is under 2 KiB of Base64), with room for a vendor's growth and none for floods.
 */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
export const CALLBACK_METHODS: readonly string[] = ['GET', 'POST'];

export type CallbackParseStatus = 400 | 405 | 413 | 415;

/** A request that cannot be read as a callback; `status` is the HTTP answer it deserves. */
export class CallbackParseError extends Error {
  override readonly name = 'CallbackParseError';
  constructor(
    readonly status: CallbackParseStatus,
    message: string,
  ) {
    super(message);
  }
}

/** Where the parameters came from, which decides what each vendor signs. */
export type CallbackEncoding = 'query' | 'form' | 'json';

export interface ParsedCallback {
  encoding: CallbackEncoding;
  /** Last value wins, as for the event. */
  params: Record<string, string>;
  /** Every value of every parameter in received order: Twilio signs them all. */
  values: Record<string, string[]>;
}

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';
// ASCII is a subset of UTF-8; any other charset would need a decoder nobody sends callbacks in.
const UTF8_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);
// fatal: a payload must not reach a flow with U+FFFD where the sender's bytes were.
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function bad(message: string): CallbackParseError {
  return new CallbackParseError(400, message);
}

function decodeUtf8(bytes: Buffer): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw bad('the body is not valid UTF-8');
  }
}

function decodeComponent(text: string): string {
  if (!text.includes('%') && !text.includes('+')) return text;
  // decodeURIComponent, unlike URLSearchParams, refuses broken escapes and escaped bytes that are not UTF-8.
  return decodeURIComponent(text.replaceAll('+', ' '));
}

function parseUrlEncoded(text: string, where: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decodeComponent(eq === -1 ? pair : pair.slice(0, eq));
      value = eq === -1 ? '' : decodeComponent(pair.slice(eq + 1));
    } catch {
      throw bad(`the ${where} has a broken %-escape or escaped bytes that are not UTF-8`);
    }
    const list = values.get(name);
    if (list === undefined) values.set(name, [value]);
    else list.push(value);
  }
  return values;
}

function parseJson(text: string): Map<string, string[]> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw bad('the body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw bad(`a JSON body must be an object of parameters, got ${Array.isArray(body) ? 'an array' : describeValue(body)}`);
  }
  const values = new Map<string, string[]>();
  for (const [name, value] of Object.entries(body)) {
    if (value === null) continue;
    if (typeof value === 'string') values.set(name, [value]);
    else if (typeof value === 'number' || typeof value === 'boolean') values.set(name, [String(value)]);
    else throw bad(`JSON parameter ${describeValue(name)} is ${describeValue(value)}; parameters are strings, numbers, booleans or null`);
  }
  return values;
}

function mediaTypeOf(contentType: string | undefined): { type: string; charset: string | undefined } {
  const [type, ...parameters] = (contentType ?? '').split(';');
  let charset: string | undefined;
  for (const parameter of parameters) {
    const eq = parameter.indexOf('=');
    if (eq !== -1 && parameter.slice(0, eq).trim().toLowerCase() === 'charset') {
      charset = parameter.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase();
    }
  }
  return { type: type.trim().toLowerCase(), charset };
}

function bodyValues(request: CallbackRequest): { encoding: CallbackEncoding; values: Map<string, string[]> } {
  const { type, charset } = mediaTypeOf(headerOf(request.headers, 'content-type'));
  if (type !== FORM && type !== JSON_TYPE) {
    throw new CallbackParseError(415, `content type ${describeValue(type)} is not accepted; send ${FORM} or ${JSON_TYPE}`);
  }
  if (charset !== undefined && !UTF8_CHARSETS.has(charset)) {
    throw new CallbackParseError(415, `charset ${describeValue(charset)} is not accepted; send UTF-8`);
  }
  if (request.rawBody.length === 0) throw bad('the POST body is empty');
  const text = decodeUtf8(request.rawBody);
  return type === FORM ? { encoding: 'form', values: parseUrlEncoded(text, 'body') } : { encoding: 'json', values: parseJson(text) };
}

/**
 * Why a callback cannot come by `method`, or undefined when it can. The receiver and the routes that
 * answer before it both ask here, so one list of methods and one wording hold for every webhook.
 */
export function methodProblem(method: string): string | undefined {
  if (CALLBACK_METHODS.includes(method)) return undefined;
  return `method ${describeValue(method)} is not accepted; callbacks come as ${CALLBACK_METHODS.join(' or ')}`;
}

/** Why a body of `size` bytes (received, or only declared by Content-Length) is too large, or undefined. */
export function bodySizeProblem(size: number, maxBodyBytes = DEFAULT_MAX_BODY_BYTES): string | undefined {
  return size > maxBodyBytes ? `the body is ${size} bytes; at most ${maxBodyBytes} are accepted` : undefined;
}

/** Checks what a reader can check before reading the body too; call it with the Content-Length alone. */
function checkBodySize(request: Pick<CallbackRequest, 'headers'> & { rawBody?: Buffer }, maxBodyBytes = DEFAULT_MAX_BODY_BYTES): void {
  const declared = Number(headerOf(request.headers, 'content-length'));
  const problem = bodySizeProblem(Math.max(Number.isFinite(declared) ? declared : 0, request.rawBody?.length ?? 0), maxBodyBytes);
  if (problem !== undefined) throw new CallbackParseError(413, problem);
}

/** Reads a callback's parameters and how they were carried; throws CallbackParseError. */
export function parseCallback(request: CallbackRequest, maxBodyBytes = DEFAULT_MAX_BODY_BYTES): ParsedCallback {
  const wrongMethod = methodProblem(request.method);
  if (wrongMethod !== undefined) throw new CallbackParseError(405, wrongMethod);
  checkBodySize(request, maxBodyBytes);
  const { encoding, values } = request.method === 'GET' ? { encoding: 'query' as const, values: parseUrlEncoded(queryOf(request.url), 'query string') } : bodyValues(request);
  // fromEntries, not assignment: a parameter named __proto__ stays a parameter.
  return {
    encoding,
    params: Object.fromEntries([...values].map(([name, list]) => [name, list[list.length - 1]])),
    values: Object.fromEntries(values),
  };
}

/** GET: the query; POST: the form or JSON body. Throws CallbackParseError (400, 405, 413 or 415). */
export function parseCallbackParams(request: CallbackRequest, maxBodyBytes = DEFAULT_MAX_BODY_BYTES): Record<string, string> {
  return parseCallback(request, maxBodyBytes).params;
}
