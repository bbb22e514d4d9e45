import { TextDecoder } from 'node:util';
import type { IncludeSid, IpPayloadType, WirelessCommandMode } from '../shared';
import { CommandValidationError, describeValue, fieldLabel } from './errors';
import {
  IP_PAYLOAD_MAX_BYTES,
  SUPERSIM_SMS_MAX_CHARS,
  WIRELESS_BINARY_MAX_BYTES,
  WIRELESS_TEXT_MAX_CHARS,
  WIRELESS_TEXT_WITH_SID_MAX_CHARS,
} from './limits';
import { validateCommandMode, validateIncludeSid, validateIpPayloadType } from './validate';

const FIELD = 'payload';

/** Who carries a payload and how much of it, so every size error names both. */
interface Carrier {
  name: string;
  limit: number;
  unit: 'bytes' | 'characters';
}

const IP: Carrier = { name: 'an IP Command', limit: IP_PAYLOAD_MAX_BYTES, unit: 'bytes' };
const SMS: Carrier = { name: 'a Super SIM SMS Command', limit: SUPERSIM_SMS_MAX_CHARS, unit: 'characters' };
const WIRELESS_TEXT: Carrier = { name: 'a Programmable Wireless text Command', limit: WIRELESS_TEXT_MAX_CHARS, unit: 'characters' };
const WIRELESS_TEXT_WITH_SID: Carrier = { ...WIRELESS_TEXT, limit: WIRELESS_TEXT_WITH_SID_MAX_CHARS };
const WIRELESS_BINARY: Carrier = { name: 'a Programmable Wireless binary Command', limit: WIRELESS_BINARY_MAX_BYTES, unit: 'bytes' };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
// fatal: a Buffer that is not UTF-8 must not go out with U+FFFD in it; ignoreBOM: keep a leading BOM, it is data.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Strict where Buffer.from(text, 'base64') is lenient: Buffer skips spaces and unknown characters,
 * stops at the first '=' and drops a dangling sixth-bit character, so it would send other bytes than
 * the user wrote. Non-zero bits in the last character are accepted, as Buffer does.
 */
export function isValidBase64(text: string): boolean {
  if (typeof text !== 'string' || text === '' || !BASE64.test(text)) return false;
  return text.endsWith('=') ? text.length % 4 === 0 : text.length % 4 !== 1;
}

function notBase64(text: unknown, field: string, hint = ''): CommandValidationError {
  return new CommandValidationError(
    field,
    `${fieldLabel(field)} is not valid Base64 (letters, digits, + and /, with "=" padding only at the end and no spaces); got ${describeValue(text)}${hint}`,
    { limit: 'Base64', actual: typeof text === 'string' ? text : describeValue(text) },
  );
}

export function decodeBase64(text: string, field: string): Buffer {
  if (!isValidBase64(text)) throw notBase64(text, field);
  return Buffer.from(text, 'base64');
}

function requirePayload(payload: unknown, carrier: Carrier): void {
  if (payload === undefined || payload === null || payload === '' || (payload instanceof Uint8Array && payload.length === 0)) {
    throw new CommandValidationError(
      FIELD,
      `${FIELD} is empty (${describeValue(payload)}); ${carrier.name} carries 1 to ${carrier.limit} ${carrier.unit}`,
      { limit: carrier.limit, actual: 0 },
    );
  }
}

function requireWithin(size: number, carrier: Carrier, measured: string, because = ''): void {
  if (size > carrier.limit) {
    throw new CommandValidationError(
      FIELD,
      `${FIELD} is ${size} ${measured}; ${carrier.name} carries at most ${carrier.limit} ${carrier.unit}${because}`,
      { limit: carrier.limit, actual: size },
    );
  }
}

/** Characters as the vendors count them: code points, so an emoji is one character, not two UTF-16 units. */
export function characterCount(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/**
 * The one text conversion shared by IP text, Super SIM SMS and Wireless text: strings as they are,
 * objects as JSON, scalars via String(). What bytes become is the caller's rule (`fromBytes`).
 */
function textOf(payload: unknown, carrier: Carrier, fromBytes: (bytes: Uint8Array) => string): string {
  requirePayload(payload, carrier);
  if (typeof payload === 'string') return payload;
  if (payload instanceof Uint8Array) return fromBytes(payload);
  if (typeof payload === 'number' || typeof payload === 'boolean' || typeof payload === 'bigint') return String(payload);
  let json: string | undefined;
  let reason = 'it has no JSON form';
  if (typeof payload === 'object') {
    try {
      json = JSON.stringify(payload);
    } catch (err) {
      // V8's circular-structure message runs over several lines; the first says what is wrong.
      reason = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    }
  }
  if (json !== undefined) return json;
  throw new CommandValidationError(FIELD, `${FIELD} is ${describeValue(payload)} that cannot be sent as text: ${reason}`, {
    limit: 'text, number or JSON-serialisable object',
    actual: describeValue(payload),
  });
}

/** The one Base64-and-limit path shared by IP binary and Wireless binary. */
function binaryOf(payload: unknown, carrier: Carrier, modeField: string): { base64: string; byteLength: number } {
  requirePayload(payload, carrier);
  const mode = fieldLabel(modeField);
  let bytes: Buffer;
  if (payload instanceof Uint8Array) {
    bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  } else if (typeof payload === 'string') {
    if (!isValidBase64(payload)) throw notBase64(payload, FIELD, `; with ${mode} binary a string is read as Base64, so set ${mode} to text to send it as it is`);
    bytes = Buffer.from(payload, 'base64');
  } else {
    throw new CommandValidationError(
      FIELD,
      `${mode} binary needs a Buffer or a Base64 string in ${FIELD}; got ${describeValue(payload)}. Set ${mode} to text to send it as text`,
      { limit: 'Buffer or Base64 string', actual: describeValue(payload) },
    );
  }
  requireWithin(bytes.length, carrier, 'bytes (decoded binary)');
  return { base64: bytes.toString('base64'), byteLength: bytes.length };
}

export interface EncodedIpPayload {
  payload: string;
  payloadType: IpPayloadType;
  byteLength: number;
}

export function encodeIpPayload(payload: unknown, payloadType?: 'auto' | 'text' | 'binary'): EncodedIpPayload {
  const type = validateIpPayloadType(payloadType);
  if (type === 'binary' || (type === 'auto' && payload instanceof Uint8Array)) {
    const { base64, byteLength } = binaryOf(payload, IP, 'payloadType');
    return { payload: base64, payloadType: 'binary', byteLength };
  }
  const text = textOf(payload, IP, (bytes) => {
    try {
      return UTF8.decode(bytes);
    } catch {
      throw new CommandValidationError(
        FIELD,
        `${FIELD} is a Buffer of ${bytes.length} bytes that is not valid UTF-8 text; set Payload type to binary (or auto) to send it as bytes`,
        { limit: 'UTF-8', actual: bytes.length },
      );
    }
  });
  const byteLength = Buffer.byteLength(text, 'utf8');
  requireWithin(byteLength, IP, 'bytes (UTF-8 text)');
  return { payload: text, payloadType: 'text', byteLength };
}

export function encodeSupersimSmsPayload(payload: unknown): string {
  const text = textOf(payload, SMS, (bytes) => {
    throw new CommandValidationError(
      FIELD,
      `Super SIM SMS Commands carry text only, and ${FIELD} is a Buffer of ${bytes.length} bytes; ` +
        'convert it to a string, or send bytes with an IP Command or a Programmable Wireless binary Command',
      { limit: 'text', actual: bytes.length },
    );
  });
  requireWithin(characterCount(text), SMS, 'characters');
  return text;
}

export interface EncodedWirelessCommand {
  command: string;
  commandMode: WirelessCommandMode;
  /** Characters for text, decoded bytes for binary. */
  length: number;
}

export function encodeWirelessCommand(
  payload: unknown,
  options: { commandMode?: WirelessCommandMode; includeSid?: IncludeSid } = {},
): EncodedWirelessCommand {
  const commandMode = validateCommandMode(options.commandMode);
  const includeSid = validateIncludeSid(options.includeSid);

  if (commandMode === 'binary') {
    if (includeSid !== 'none') {
      throw new CommandValidationError(
        'includeSid',
        `Include SID is "${includeSid}" but Command mode is binary; the API adds the Command's SID to text Commands only, so set Include SID to none`,
        { limit: 'none', actual: includeSid },
      );
    }
    const { base64, byteLength } = binaryOf(payload, WIRELESS_BINARY, 'commandMode');
    return { command: base64, commandMode, length: byteLength };
  }

  const carrier = includeSid === 'none' ? WIRELESS_TEXT : WIRELESS_TEXT_WITH_SID;
  const command = textOf(payload, carrier, (bytes) => {
    throw new CommandValidationError(
      FIELD,
      `${FIELD} is a Buffer of ${bytes.length} bytes but Command mode is text; set Command mode to binary to send bytes ` +
        `(at most ${WIRELESS_BINARY_MAX_BYTES}), or convert it to a string`,
      { limit: 'text', actual: bytes.length },
    );
  });
  const length = characterCount(command);
  requireWithin(
    length,
    carrier,
    'characters',
    includeSid === 'none' ? '' : ` when Include SID is "${includeSid}": the API adds the SIM's SID to the text, and it takes the rest of the ${WIRELESS_TEXT_MAX_CHARS}`,
  );
  return { command, commandMode, length };
}
