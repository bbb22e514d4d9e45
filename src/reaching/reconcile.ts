import type { CommandKind } from '../shared';
import type { CommandResource, ListCommands, PendingAttempt } from './types';

/** The API's clock and ours may disagree by this much: commands created this long before the attempt still count. */
export const RECONCILE_SKEW_MS = 60_000;
/** Few commands fall in the window: a small page ends the listing early. */
const PAGE_SIZE = 50;

export interface FindAdoptableOptions {
  list: ListCommands;
  attempt: PendingAttempt;
  /** SIDs other pending attempts already adopted or created: never adopted twice. */
  taken: ReadonlySet<string>;
  now?: () => number;
  skewMs?: number;
  signal?: AbortSignal;
}

/**
 * After a restart, an attempt whose create may have been on the wire is looked up before it is created again,
 * so that no command is created twice. Lists the SIM's commands to it, newest first, back to the attempt's
 * start (less the clock skew), and returns the oldest one that is this attempt's request and no other's:
 * when the same message was created twice before the crash, the first one is the attempt's.
 *
 * A command whose `date_created` cannot be read is not adopted (nothing shows it belongs to this attempt), and
 * it does not end the listing. Errors from the list propagate: the caller decides whether to create or wait.
 */
export async function findAdoptable(options: FindAdoptableOptions): Promise<CommandResource | undefined> {
  const { list, attempt, taken, signal } = options;
  const now = (options.now ?? Date.now)();
  // An attempt dated in the future (the clock was set back since) still lists what was created up to now.
  const windowStart = Math.min(attempt.attemptStartedAt, now) - (options.skewMs ?? RECONCILE_SKEW_MS);
  const earlier = new Set(attempt.earlierSids);
  signal?.throwIfAborted();
  let oldestMatch: CommandResource | undefined;
  for await (const resource of list(attempt.kind, { sim: attempt.sim, direction: 'to_sim', pageSize: PAGE_SIZE })) {
    signal?.throwIfAborted();
    const createdAt = timeOf(resource.date_created);
    if (createdAt !== undefined && createdAt < windowStart) break;
    if (createdAt === undefined) continue;
    const sid = resource.sid;
    if (typeof sid !== 'string' || sid === '' || taken.has(sid) || earlier.has(sid)) continue;
    if (resource.direction !== null && resource.direction !== undefined && resource.direction !== 'to_sim') continue;
    if (attempt.simSid !== undefined && typeof resource.sim_sid === 'string' && resource.sim_sid !== attempt.simSid) continue;
    if (matchesRequest(attempt.kind, attempt.request, resource)) oldestMatch = resource;
  }
  return oldestMatch;
}

/**
 * Whether a listed command is the one this create request made, by what the request sent on the wire:
 * IP: Payload (Base64 text for PayloadType binary) and DevicePort (and PayloadType when the resource shows
 * it); Super SIM SMS: Payload; Wireless: Command and CommandMode (text when not given, on either side).
 *
 * Wireless with IncludeSid `start` or `end`: the API adds the command's own SID to the text sent to the
 * device, separated by a space. Whether the listed `command` shows it is not documented, so both forms
 * count: the plain text, and the text with that resource's SID where IncludeSid puts it.
 */
export function matchesRequest(kind: CommandKind, request: Record<string, unknown>, resource: CommandResource): boolean {
  switch (kind) {
    case 'ip':
      return ipMatches(request, resource);
    case 'sms':
      return typeof request.payload === 'string' && resource.payload === request.payload;
    case 'wireless':
      return wirelessMatches(request, resource);
    default:
      return false;
  }
}

function ipMatches(request: Record<string, unknown>, resource: CommandResource): boolean {
  const payloadType = request.payloadType ?? 'text';
  if (typeof resource.payload_type === 'string' && resource.payload_type !== payloadType) return false;
  if (resource.device_port === null || resource.device_port === undefined || Number(resource.device_port) !== request.devicePort) return false;
  if (typeof request.payload !== 'string' || typeof resource.payload !== 'string') return false;
  if (resource.payload === request.payload) return true;
  // The same bytes may come back in another spelling of Base64 (padding, line breaks).
  return payloadType === 'binary' && sameBase64(resource.payload, request.payload);
}

function wirelessMatches(request: Record<string, unknown>, resource: CommandResource): boolean {
  const commandMode = request.commandMode ?? 'text';
  const listedMode = resource.command_mode ?? 'text';
  if (listedMode !== commandMode) return false;
  const command = request.command;
  if (typeof command !== 'string' || typeof resource.command !== 'string') return false;
  if (resource.command === command) return true;
  if (commandMode === 'binary') return sameBase64(resource.command, command);
  const sid = resource.sid;
  if (typeof sid !== 'string') return false;
  if (request.includeSid === 'start') return resource.command === `${sid} ${command}`;
  if (request.includeSid === 'end') return resource.command === `${command} ${sid}`;
  return false;
}

function sameBase64(a: string, b: string): boolean {
  const base64 = /^[A-Za-z0-9+/=\s]*$/;
  if (!base64.test(a) || !base64.test(b)) return false;
  return Buffer.from(a, 'base64').equals(Buffer.from(b, 'base64'));
}

function timeOf(value: unknown): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const ms = typeof value === 'number' ? value : Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}
