import type { CommandDirection, CommandKind, CommandStatus } from '../shared';
import { decodeBase64 } from '../commands';
import { describeValue } from '../commands';
import { isCommandStatus } from '../commands';
import { CallbackParseError } from './params';

export type { CommandKind } from '../shared';

export interface CommandEvent {
  sid: string;
  kind: CommandKind;
  direction: CommandDirection;
  status: CommandStatus;
  sim: { sid: string | null; uniqueName: string | null; iccid: string | null };
  /** PayloadType, or CommandMode for wireless. */
  payloadType: 'text' | 'binary' | null;
  /** Text as a string; binary Base64-decoded to a Buffer with the exact bytes. */
  payload: string | Buffer | null;
  /** Payload / Command as received. */
  rawPayload: string | null;
  errorCode: number | null;
  errorMessage: string | null;
  accountSid: string | null;
  apiVersion: string | null;
  /** kore-idempotency-token or I-Twilio-Idempotency-Token header. */
  idempotencyToken: string | null;
  /** Every received parameter. */
  params: Record<string, string>;
}

/**
 * A payload is at most 1300 bytes (IP), so 2 KiB of Base64; the margin is for vendors' future
 * growth, not for floods.
 */
export const MAX_PAYLOAD_TEXT_BYTES = 8 * 1024;
/** Names, ICCIDs, versions and error messages are short; anything longer is not a callback. */
export const MAX_FIELD_CHARS = 1024;

const KINDS: Readonly<Record<string, CommandKind>> = { HG: 'ip', HC: 'sms', DC: 'wireless' };
const SID = /^[A-Z]{2}[0-9a-fA-F]{32}$/;
const ERROR_CODE = /^\d{1,10}$/;

export function commandKindOf(sid: string): CommandKind | undefined {
  return typeof sid === 'string' && SID.test(sid) ? KINDS[sid.slice(0, 2)] : undefined;
}

function bad(message: string): CallbackParseError {
  return new CallbackParseError(400, message);
}

/** Reads parameters, treating '' like absent: vendors send empty fields for what a resource lacks. */
class Fields {
  constructor(private readonly params: Record<string, string>) {}

  /** Own properties only, so a callback cannot name its way into Object.prototype ('constructor'). */
  raw(name: string): string | undefined {
    return Object.hasOwn(this.params, name) ? this.params[name] : undefined;
  }

  optional(name: string, maxChars = MAX_FIELD_CHARS): string | null {
    const value = this.raw(name);
    if (value === undefined || value === '') return null;
    if (value.length > maxChars) throw bad(`${name} is ${value.length} characters long; at most ${maxChars} are expected`);
    return value;
  }

  required(name: string): string {
    const value = this.optional(name);
    if (value === null) throw bad(`${name} is missing`);
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T | null {
    const value = this.optional(name);
    if (value === null || (allowed as readonly string[]).includes(value)) return value as T | null;
    throw bad(`${name} is ${describeValue(value)}; expected ${allowed.join(' or ')}`);
  }

  sid(name: string, prefix?: string): string | null {
    const value = this.optional(name);
    if (value === null || (SID.test(value) && (prefix === undefined || value.startsWith(prefix)))) return value;
    throw bad(`${name} ${describeValue(value)} is not a SID (${prefix ?? 'two letters'} and 32 hex digits)`);
  }
}

function payloadOf(raw: string | null, type: 'text' | 'binary' | null, field: string): string | Buffer | null {
  if (raw === null) return null;
  if (Buffer.byteLength(raw, 'utf8') > MAX_PAYLOAD_TEXT_BYTES) throw bad(`${field} is over ${MAX_PAYLOAD_TEXT_BYTES} bytes; no command carries that much`);
  if (type !== 'binary') return raw;
  // A device can send an empty datagram; decodeBase64 refuses '' because an empty command cannot be sent.
  if (raw === '') return Buffer.alloc(0);
  try {
    return decodeBase64(raw, field);
  } catch (error) {
    throw bad((error as Error).message);
  }
}

/** The event a callback's parameters describe; throws CallbackParseError (400) with a short reason. */
export function toCommandEvent(params: Record<string, string>, idempotencyToken: string | null): CommandEvent {
  const fields = new Fields(params);
  const sid = fields.required('CommandSid');
  const kind = commandKindOf(sid);
  if (kind === undefined) throw bad(`CommandSid ${describeValue(sid)} is not the SID of an IP (HG…), SMS (HC…) or Wireless (DC…) Command`);
  const status = fields.required('Status');
  if (!isCommandStatus(status)) throw bad(`Status ${describeValue(status)} is not a command status`);
  const direction = fields.oneOf<CommandDirection>('Direction', ['to_sim', 'from_sim']) ?? (status === 'received' ? 'from_sim' : 'to_sim');
  const [payloadField, typeField] = kind === 'wireless' ? ['Command', 'CommandMode'] : ['Payload', 'PayloadType'];
  const payloadType = fields.oneOf(typeField, ['text', 'binary'] as const);
  const rawPayload = fields.raw(payloadField) ?? null;
  const errorCode = fields.optional('ErrorCode');
  if (errorCode !== null && !ERROR_CODE.test(errorCode)) throw bad(`ErrorCode ${describeValue(errorCode)} is not a number`);
  return {
    sid,
    kind,
    direction,
    status,
    sim: { sid: fields.sid('SimSid'), uniqueName: fields.optional('SimUniqueName'), iccid: fields.optional('SimIccid') },
    payloadType,
    payload: payloadOf(rawPayload, payloadType, payloadField),
    rawPayload,
    errorCode: errorCode === null ? null : Number(errorCode),
    errorMessage: fields.optional('ErrorMessage'),
    accountSid: fields.sid('AccountSid', 'AC'),
    apiVersion: fields.optional('ApiVersion'),
    idempotencyToken,
    params: { ...params },
  };
}
