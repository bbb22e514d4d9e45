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

export interface FindAdoptableAllOptions {
  list: ListCommands;
  /** Attempts whose create may have been on the wire; any kinds and SIMs. */
  attempts: readonly PendingAttempt[];
  taken: ReadonlySet<string>;
  now?: () => number;
  skewMs?: number;
  signal?: AbortSignal;
}

/**
 * findAdoptable for many attempts at once, as a resume needs it: ONE listing per (API, SIM), however
 * many attempts wait on that SIM, instead of one listing each (thousands of attempts to one busy SIM
 * would each page through the same commands). Each attempt gets the oldest matching command created
 * in its own window that no other attempt took: attempts are served oldest first, so two identical
 * messages adopt the two commands in the order they were sent. Answers attempt id → command.
 */
export async function findAdoptableAll(options: FindAdoptableAllOptions): Promise<Map<string, CommandResource>> {
  const { list, taken, signal } = options;
  const now = (options.now ?? Date.now)();
  const skewMs = options.skewMs ?? RECONCILE_SKEW_MS;
  const windowOf = (attempt: PendingAttempt): number => Math.min(attempt.attemptStartedAt, now) - skewMs;
  const groups = new Map<string, PendingAttempt[]>();
  for (const attempt of options.attempts) {
    const key = `${attempt.kind}\u0000${attempt.sim}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [attempt]);
    else group.push(attempt);
  }
  // A command one message created before is that message's, whichever attempt now looks for a match.
  const owned = new Set(taken);
  for (const attempt of options.attempts) for (const sid of attempt.earlierSids) owned.add(sid);
  const adopted = new Map<string, CommandResource>();
  for (const group of groups.values()) {
    signal?.throwIfAborted();
    const { kind, sim } = group[0];
    const byKey = new Map<string, PendingAttempt[]>();
    for (const attempt of group) {
      const key = requestKey(kind, attempt.request);
      if (key === undefined) continue;
      const same = byKey.get(key);
      if (same === undefined) byKey.set(key, [attempt]);
      else same.push(attempt);
    }
    const windowStart = Math.min(...group.map(windowOf));
    /** Matching commands per request key, newest first as listed. */
    const candidates = new Map<string, CommandResource[]>();
    for await (const resource of list(kind, { sim, direction: 'to_sim', pageSize: 1000 })) {
      signal?.throwIfAborted();
      const createdAt = timeOf(resource.date_created);
      if (createdAt !== undefined && createdAt < windowStart) break;
      if (createdAt === undefined) continue;
      const sid = resource.sid;
      if (typeof sid !== 'string' || sid === '' || owned.has(sid)) continue;
      if (resource.direction !== null && resource.direction !== undefined && resource.direction !== 'to_sim') continue;
      for (const key of resourceKeys(kind, resource)) {
        if (!byKey.has(key)) continue;
        const bucket = candidates.get(key);
        if (bucket === undefined) candidates.set(key, [resource]);
        else bucket.push(resource);
        break;
      }
    }
    for (const [key, attempts] of byKey) {
      const found = (candidates.get(key) ?? []).slice().reverse();
      const used = new Set<string>();
      for (const attempt of [...attempts].sort((a, b) => a.attemptStartedAt - b.attemptStartedAt)) {
        const start = windowOf(attempt);
        const match = found.find((resource) => {
          if (used.has(resource.sid as string)) return false;
          if (attempt.simSid !== undefined && typeof resource.sim_sid === 'string' && resource.sim_sid !== attempt.simSid) return false;
          return (timeOf(resource.date_created) ?? -Infinity) >= start && matchesRequest(kind, attempt.request, resource);
        });
        if (match === undefined) continue;
        used.add(match.sid as string);
        adopted.set(attempt.id, match);
      }
    }
  }
  return adopted;
}

/** What a request sent, in one spelling: Base64 canonical, so that equal bytes give equal keys. */
function requestKey(kind: CommandKind, request: Record<string, unknown>): string | undefined {
  switch (kind) {
    case 'ip': {
      const payloadType = request.payloadType ?? 'text';
      if (typeof request.payload !== 'string') return undefined;
      return `${String(payloadType)}|${String(request.devicePort)}|${payloadType === 'binary' ? canonicalBase64(request.payload) : request.payload}`;
    }
    case 'sms':
      return typeof request.payload === 'string' ? request.payload : undefined;
    case 'wireless': {
      const mode = request.commandMode ?? 'text';
      if (typeof request.command !== 'string') return undefined;
      return `${String(mode)}|${mode === 'binary' ? canonicalBase64(request.command) : request.command}`;
    }
    default:
      return undefined;
  }
}

/** The keys a listed command may have been created under (matchesRequest has the last word). */
function resourceKeys(kind: CommandKind, resource: CommandResource): string[] {
  switch (kind) {
    case 'ip': {
      if (typeof resource.payload !== 'string') return [];
      const types = typeof resource.payload_type === 'string' ? [resource.payload_type] : ['text', 'binary'];
      return types.map((type) => `${type}|${String(resource.device_port)}|${type === 'binary' ? canonicalBase64(resource.payload as string) : (resource.payload as string)}`);
    }
    case 'sms':
      return typeof resource.payload === 'string' ? [resource.payload] : [];
    case 'wireless': {
      if (typeof resource.command !== 'string') return [];
      const mode = typeof resource.command_mode === 'string' ? resource.command_mode : 'text';
      if (mode === 'binary') return [`binary|${canonicalBase64(resource.command)}`];
      const keys = [`text|${resource.command}`];
      const sid = typeof resource.sid === 'string' ? resource.sid : undefined;
      // IncludeSid may show in the listed text: the request's key is the text without it.
      if (sid !== undefined && resource.command.startsWith(`${sid} `)) keys.push(`text|${resource.command.slice(sid.length + 1)}`);
      if (sid !== undefined && resource.command.endsWith(` ${sid}`)) keys.push(`text|${resource.command.slice(0, -sid.length - 1)}`);
      return keys;
    }
    default:
      return [];
  }
}

function canonicalBase64(text: string): string {
  return /^[A-Za-z0-9+/=\s]*$/.test(text) ? Buffer.from(text, 'base64').toString('base64') : text;
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
