import type { CommandDirection, CommandKind, CommandStatus } from '../shared';
import { decodeBase64, isCommandStatus } from '../commands';
import type { CommandEvent } from './event';

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function nonEmpty(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function payloadTypeOf(value: unknown): 'text' | 'binary' | null {
  return value === 'text' || value === 'binary' ? value : null;
}

function errorCodeOf(value: unknown): number | null {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  return typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : null;
}

/** A listed resource is read, never refused: Base64 the API got wrong leaves the payload unread, raw still there. */
function payloadOf(raw: string | null, type: 'text' | 'binary' | null): string | Buffer | null {
  if (raw === null || type !== 'binary') return raw;
  if (raw === '') return Buffer.alloc(0);
  try {
    return decodeBase64(raw, 'payload');
  } catch {
    return null;
  }
}

/**
 * A command resource as a list or fetch returns it (snake_case, any field null or absent), as the
 * CommandEvent command-in makes of a callback about it: what a polled answer looks like to a flow.
 */
export function commandEventOf(kind: CommandKind, resource: Record<string, unknown>): CommandEvent {
  const status: CommandStatus | null = isCommandStatus(resource.status) ? resource.status : null;
  const listedDirection = resource.direction;
  const direction: CommandDirection =
    listedDirection === 'to_sim' || listedDirection === 'from_sim' ? listedDirection : status === 'received' ? 'from_sim' : 'to_sim';
  const [rawPayload, payloadType] =
    kind === 'wireless'
      ? [text(resource.command), payloadTypeOf(resource.command_mode)]
      : [text(resource.payload), kind === 'sms' ? 'text' : payloadTypeOf(resource.payload_type)];
  return {
    sid: text(resource.sid) ?? '',
    kind,
    direction,
    // What a device sends is `received`; a resource without a status is read as the start of its direction's life.
    status: status ?? (direction === 'from_sim' ? 'received' : 'queued'),
    sim: { sid: nonEmpty(resource.sim_sid), uniqueName: nonEmpty(resource.sim_unique_name), iccid: nonEmpty(resource.sim_iccid) },
    payloadType,
    payload: payloadOf(rawPayload, payloadType),
    rawPayload,
    errorCode: errorCodeOf(resource.error_code),
    errorMessage: nonEmpty(resource.error_message),
    accountSid: nonEmpty(resource.account_sid),
    apiVersion: null,
    idempotencyToken: null,
    params: {},
  };
}
