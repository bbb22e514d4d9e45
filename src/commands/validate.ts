import { isBlank } from '../shared';
import type { HttpMethod, IncludeSid, WirelessCommandMode } from '../shared';
import { CommandValidationError, describeValue, fieldLabel } from './errors';
import { DEVICE_PORT_MAX, DEVICE_PORT_MIN } from './limits';

export const SIM_SID_PATTERN = /^(HS|DE)[0-9a-fA-F]{32}$/;

/** Unique names are short labels; anything longer is a pasted payload or URL in the wrong field. */
const SIM_NAME_MAX_CHARS = 64;
/**
 * A run this long of hex digits after HS/DE is a SID that lost or gained a character in copying,
 * not a name; shorter runs stay names, so 'DEADBEEF' or 'HSBC01' remain usable unique names.
 */
const BROKEN_SID_MIN_HEX = 24;
const SID_LENGTH = 34;
/** '/' would turn a unique name into another path when it is put into a resource URL. */
const FORBIDDEN_IN_NAME = /[\p{Cc}/]/u;

/** Either a SIM's SID (HS… Super SIM, DE… Programmable Wireless) or its unique name, trimmed. */
export function validateSimReference(value: unknown, field = 'sim'): string {
  const hint = 'a SIM SID (HS or DE followed by 32 hex digits) or a unique name';
  let text: string;
  if (typeof value === 'string') text = value.trim();
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else throw new CommandValidationError(field, `${fieldLabel(field)} must be ${hint}; got ${describeValue(value)}`, { limit: 'SID or unique name', actual: describeValue(value) });

  if (text === '') {
    throw new CommandValidationError(field, `${fieldLabel(field)} is blank; set it to ${hint}`, { limit: 'SID or unique name', actual: 0 });
  }
  if (text.length > SIM_NAME_MAX_CHARS) {
    throw new CommandValidationError(
      field,
      `${fieldLabel(field)} is ${text.length} characters; a SIM SID is 34 and a unique name at most ${SIM_NAME_MAX_CHARS}`,
      { limit: SIM_NAME_MAX_CHARS, actual: text.length },
    );
  }
  if (FORBIDDEN_IN_NAME.test(text)) {
    throw new CommandValidationError(field, `${fieldLabel(field)} must not contain "/" or control characters; got ${describeValue(text)}`, {
      limit: 'no "/" or control characters',
      actual: text,
    });
  }
  if (SIM_SID_PATTERN.test(text)) return text;

  const rest = /^(?:HS|DE)(.*)$/.exec(text)?.[1];
  const looksLikeSid =
    rest !== undefined &&
    ((text.length === SID_LENGTH && /^[0-9A-Za-z]+$/.test(rest)) || (rest.length >= BROKEN_SID_MIN_HEX && /^[0-9a-fA-F]+$/.test(rest)));
  if (looksLikeSid) {
    throw new CommandValidationError(
      field,
      `${fieldLabel(field)} ${describeValue(text)} looks like a SIM SID but is malformed: a SID needs exactly 32 hex digits (0-9, a-f) after ${text.slice(0, 2)}; ` +
        `it has ${rest.length} characters${/^[0-9a-fA-F]+$/.test(rest) ? '' : ', not all of them hex digits'}`,
      { limit: 32, actual: text },
    );
  }
  return text;
}

export function validateDevicePort(value: unknown, field = 'devicePort'): number {
  let port = Number.NaN;
  if (typeof value === 'number') port = value;
  else if (typeof value === 'string' && /^\d+$/.test(value.trim())) port = Number(value.trim());
  if (Number.isInteger(port) && port >= DEVICE_PORT_MIN && port <= DEVICE_PORT_MAX) return port;
  throw new CommandValidationError(
    field,
    `${fieldLabel(field)} must be a whole number from ${DEVICE_PORT_MIN} to ${DEVICE_PORT_MAX}; got ${describeValue(value)}`,
    { limit: `${DEVICE_PORT_MIN}-${DEVICE_PORT_MAX}`, actual: typeof value === 'number' || typeof value === 'string' ? value : describeValue(value) },
  );
}

export function validateCallbackUrl(value: unknown, field = 'callbackUrl'): string | undefined {
  if (isBlank(value)) return undefined;
  const text = typeof value === 'string' ? value.trim() : undefined;
  // URL.canParse also accepts "mailto:x" or "file:/x"; the provider can only call http(s).
  const protocol = text !== undefined && URL.canParse(text) ? new URL(text).protocol : undefined;
  if (protocol === 'http:' || protocol === 'https:') return text;
  throw new CommandValidationError(
    field,
    `${fieldLabel(field)} must be an absolute http:// or https:// URL the provider can reach; got ${describeValue(value)}`,
    { limit: 'absolute http(s) URL', actual: typeof value === 'string' ? value : describeValue(value) },
  );
}

/**
 * Maps a blank value to `fallback` and anything else, case-insensitively, to one of `allowed`;
 * msg properties come from users' function nodes, so "POST" and "post" both mean POST.
 */
function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[], fallback: T): T;
function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[], fallback?: T): T | undefined;
function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[], fallback?: T): T | undefined {
  if (isBlank(value)) return fallback;
  const match = typeof value === 'string' ? allowed.find((option) => option.toLowerCase() === value.trim().toLowerCase()) : undefined;
  if (match !== undefined) return match;
  const list = allowed.join(', ');
  throw new CommandValidationError(field, `${fieldLabel(field)} must be one of ${list}; got ${describeValue(value)}`, {
    limit: list,
    actual: typeof value === 'string' ? value : describeValue(value),
  });
}

export function validateCallbackMethod(value: unknown, field = 'callbackMethod'): HttpMethod | undefined {
  return oneOf<HttpMethod>(value, field, ['GET', 'POST']);
}

export function validateIpPayloadType(value: unknown, field = 'payloadType'): 'auto' | 'text' | 'binary' {
  return oneOf(value, field, ['auto', 'text', 'binary'] as const, 'auto');
}

export function validateCommandMode(value: unknown, field = 'commandMode'): WirelessCommandMode {
  return oneOf<WirelessCommandMode>(value, field, ['text', 'binary'], 'text');
}

export function validateIncludeSid(value: unknown, field = 'includeSid'): IncludeSid {
  return oneOf<IncludeSid>(value, field, ['none', 'start', 'end'], 'none');
}
