/**
 * A row of the Commands sidebar and how it is built from what the nodes see: a send's request, a
 * created resource, a received callback, an error. Only public fields of those go in: never a URL
 * with credentials, never a token, and payloads cut to what the sidebar shows.
 */
import type { CommandEvent } from '../callbacks';
import type { CommandDirection, CommandKind, CommandStatus } from '../shared';

/** Characters of a payload (or an answer) a row carries; what follows is cut and marked with '…'. */
export const MAX_PAYLOAD_CHARS = 64;
/** Binary payloads are shown as Base64: this many bytes make exactly MAX_PAYLOAD_CHARS characters. */
const MAX_PAYLOAD_BYTES = (MAX_PAYLOAD_CHARS / 4) * 3;
/** Error texts are sentences: a longer one is cut, so one odd error cannot bloat every batch. */
export const MAX_ERROR_CHARS = 300;
/** A row's status trail keeps the newest this many. */
export const MAX_STATUSES = 10;
/** SIDs of a message's earlier attempts a row remembers. */
export const MAX_EARLIER_SIDS = 5;

export type RowStatus = CommandStatus | 'creating';

export interface RowNode {
  id: string;
  type: string;
  name: string;
  /** The node's flow tab, for the editor's reveal. */
  z: string | null;
}

export interface RowError {
  code: string | number | null;
  message: string;
}

/** One command as the sidebar shows it; the shape the editor reads (the sidebar contract). */
export interface CommandRow {
  key: string;
  /** ISO 8601: when the row began (create requested, command received). */
  time: string;
  kind: CommandKind;
  sim: string | null;
  direction: CommandDirection;
  sid: string | null;
  payload: string | null;
  /** Oldest first, at most MAX_STATUSES. */
  statuses: { status: RowStatus; at: string }[];
  error: RowError | null;
  answer: { payload: string; at: string } | null;
  attempts: number;
  earlierSids?: string[];
  node: RowNode | null;
}

/** What a received callback carries that a row shows: part of command-in's CommandEvent. */
export type ReceivedCommand = Pick<CommandEvent, 'sid' | 'kind' | 'direction' | 'status' | 'sim' | 'payloadType' | 'payload' | 'errorCode' | 'errorMessage'>;

/** `text` cut to `max` characters plus '…', never splitting a surrogate pair. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  const end = code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
  return `${text.slice(0, end)}…`;
}

/**
 * Whether decoded bytes read as text: valid UTF-8 without control characters other than tab and line
 * breaks. Devices often answer in text over IP; a row shows that text rather than its Base64.
 */
function readableText(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\uFFFD]/.test(text);
}

/** Bytes enough for MAX_PAYLOAD_CHARS characters of UTF-8, however wide. */
const MAX_TEXT_BYTES = MAX_PAYLOAD_CHARS * 4;

/**
 * A payload as a row shows it: text cut to 64 characters; bytes as their text when they read as text,
 * else as Base64 (cut the same way); null for none.
 */
export function payloadText(payload: unknown): string | null {
  if (typeof payload === 'string') return cutText(payload, MAX_PAYLOAD_CHARS);
  if (Buffer.isBuffer(payload)) {
    // Only the bytes shown are read: a large buffer costs no more than a small one.
    const cut = payload.length > MAX_TEXT_BYTES;
    let text = payload.subarray(0, MAX_TEXT_BYTES).toString('utf8');
    // The last character may be cut by the slice: that is not broken UTF-8.
    if (cut) text = text.replace(/\uFFFD+$/, '');
    if (readableText(text)) return cut && text.length <= MAX_PAYLOAD_CHARS ? `${text}…` : cutText(text, MAX_PAYLOAD_CHARS);
    const shown = payload.subarray(0, MAX_PAYLOAD_BYTES).toString('base64');
    return payload.length > MAX_PAYLOAD_BYTES ? `${shown}…` : shown;
  }
  return null;
}

/**
 * `user:password@` dropped from every URL in a text: the client's errors are redacted already, and
 * this holds for any other error that quotes a URL (a user's own CallbackUrl, a proxy's message).
 */
export function withoutCredentials(text: string): string {
  if (!text.includes('@')) return text;
  return text.replace(/(\b[a-z][a-z0-9+.-]{0,20}:\/\/)[^\s/@]{1,512}@/gi, '$1');
}

/**
 * An error text as a row shows it. Cut only after the credentials are gone: a cut inside a URL would
 * leave the start of its password. A URL starting within the shown part has its '@' within the first
 * 2 048 characters (the regular expression allows 512 for user:password), so only those are read.
 */
export function errorText(text: string): string {
  return cutText(withoutCredentials(text.length > 2048 ? text.slice(0, 2048) : text), MAX_ERROR_CHARS);
}

function codeOf(value: unknown): string | number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value !== '') return cutText(value, 64);
  return null;
}

/**
 * An error as a row shows it: the API's error code (or the HTTP status, the network's code, the
 * failure's kind; a ReachError's code) and the message users read, cut and without credentials.
 */
export function errorOf(error: unknown): RowError {
  if (!(error instanceof Error)) return { code: null, message: errorText(String(error)) };
  const fields = error as Error & { code?: unknown; status?: unknown; networkCode?: unknown; kind?: unknown };
  const code = codeOf(fields.code) ?? codeOf(fields.status) ?? codeOf(fields.networkCode) ?? codeOf(fields.kind);
  return { code, message: errorText(error.message) };
}

/** A command that ended `failed` in the API: its error_code and error_message, when it has them. */
export function resourceErrorOf(resource: Record<string, unknown>): RowError | null {
  if (resource.status !== 'failed') return null;
  const code = codeOf(resource.error_code);
  const message = typeof resource.error_message === 'string' ? errorText(resource.error_message) : '';
  return code === null && message === '' ? null : { code, message };
}

/** A received callback's error, when it has one. */
export function eventErrorOf(event: ReceivedCommand): RowError | null {
  if (event.errorCode === null && event.errorMessage === null) return null;
  return { code: event.errorCode, message: event.errorMessage === null ? '' : errorText(event.errorMessage) };
}

/** The SIM a callback names, as users know it best: its unique name, else its SID, else its ICCID. */
export function simOfEvent(event: ReceivedCommand): string | null {
  return event.sim.uniqueName ?? event.sim.sid ?? event.sim.iccid;
}

/** A created resource's own payload: `payload` (IP, SMS) or `command` (Wireless). */
export function resourcePayload(resource: Record<string, unknown>): string | null {
  return payloadText(typeof resource.payload === 'string' ? resource.payload : resource.command);
}

const ROW_STATUSES: ReadonlySet<string> = new Set<RowStatus>(['creating', 'queued', 'sent', 'delivered', 'received', 'failed']);

export function isRowStatus(value: unknown): value is RowStatus {
  return typeof value === 'string' && ROW_STATUSES.has(value);
}

/** Appends a status to a row's trail unless it repeats the last one (a callback and a poll both saw it). */
export function addStatus(row: CommandRow, status: RowStatus, at: string): boolean {
  const trail = row.statuses;
  if (trail.length > 0 && trail[trail.length - 1].status === status) return false;
  trail.push({ status, at });
  if (trail.length > MAX_STATUSES) trail.splice(0, trail.length - MAX_STATUSES);
  return true;
}
