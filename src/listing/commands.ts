/**
 * What `supersim-command-lookup` does with a message: fetch one command (its API follows from its SID),
 * list the newest of one kind, or delete a Wireless Command. Checked before any request.
 */
import type { CommandDirection, CommandStatus, IpCommand, SmsCommand, SuperSimClient, WirelessCommand } from '../api';
import { MAX_PAGE_SIZE } from '../api';
import type { CommandKind } from '../shared';
import { ListingInputError } from './errors';
import { firstOf } from './parts';
import { oneOf, pick } from './sims';

export type LookupOperation = 'fetch' | 'list' | 'delete';
export type CommandResource = IpCommand | SmsCommand | WirelessCommand;

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 1000;
/** Commands read ahead of the flow: one page of the smaller lists. */
export const COMMANDS_READ_AHEAD = 100;

const KIND_OF_PREFIX: Record<string, CommandKind> = { HG: 'ip', HC: 'sms', DC: 'wireless' };
const STATUSES: Record<CommandKind, readonly CommandStatus[]> = {
  ip: ['queued', 'sent', 'received', 'failed'],
  sms: ['queued', 'sent', 'delivered', 'received', 'failed'],
  wireless: ['queued', 'sent', 'delivered', 'received', 'failed'],
};
const DIRECTIONS: readonly CommandDirection[] = ['to_sim', 'from_sim'];
const KINDS: readonly CommandKind[] = ['ip', 'sms', 'wireless'];
const SID = /^(HG|HC|DC)[0-9a-f]{32}$/i;

export interface LookupSettings {
  operation?: unknown;
  kind?: unknown;
  sim?: unknown;
  status?: unknown;
  direction?: unknown;
  limit?: unknown;
}

export function operationOf(value: unknown): LookupOperation {
  return value === 'list' || value === 'delete' ? value : 'fetch';
}

export function kindOf(value: unknown): CommandKind {
  return KINDS.includes(value as CommandKind) ? (value as CommandKind) : 'ip';
}

/** The kind of command a SID names: `HG` IP, `HC` Super SIM SMS, `DC` Programmable Wireless. */
export function kindOfSid(sid: string): CommandKind | undefined {
  return SID.test(sid) ? KIND_OF_PREFIX[sid.slice(0, 2).toUpperCase()] : undefined;
}

/** The SID a message names: msg.sid, else msg.payload.sid, else a payload that is a SID itself. */
export function sidOf(msg: Record<string, unknown>): { sid: string; kind: CommandKind } {
  const payload = msg.payload;
  const fromPayload = payload !== null && typeof payload === 'object' ? (payload as Record<string, unknown>).sid : payload;
  const candidates: [unknown, string][] = [
    [msg.sid, 'msg.sid'],
    [fromPayload, typeof payload === 'object' ? 'msg.payload.sid' : 'msg.payload'],
  ];
  const found = candidates.find(([value]) => typeof value === 'string' && value.trim() !== '');
  if (found === undefined) throw new ListingInputError('SID', 'No command SID: set msg.sid (or msg.payload.sid) to the SID of an IP Command (HG…), SMS Command (HC…) or Wireless Command (DC…)');
  const sid = (found[0] as string).trim();
  const kind = kindOfSid(sid);
  if (kind === undefined) {
    throw new ListingInputError('SID', `${found[1]} must be a command SID: HG (IP Command), HC (SMS Command) or DC (Wireless Command) and 32 hex digits; got ${JSON.stringify(sid.slice(0, 40))}`);
  }
  return { sid, kind };
}

export interface ListPlan {
  kind: CommandKind;
  limit: number;
  sim?: string;
  status?: CommandStatus;
  direction?: CommandDirection;
}

export function limitOf(value: unknown): number {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return DEFAULT_LIMIT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) throw new ListingInputError('Limit', `Limit must be a whole number from 1 to ${MAX_LIMIT}; got ${JSON.stringify(value)}`);
  return n;
}

/** The node's kind and filters, with msg.sim, msg.status and msg.direction filling the blank ones. */
export function listPlanOf(settings: LookupSettings, msg: Record<string, unknown>): ListPlan {
  const kind = kindOf(settings.kind);
  const plan: ListPlan = { kind, limit: limitOf(settings.limit) };
  const sim = pick(settings.sim, msg.sim, 'SIM', 'sim');
  if (sim !== undefined) plan.sim = sim.value;
  const status = oneOf(pick(settings.status, msg.status, 'Status', 'status'), STATUSES[kind], 'Status');
  if (status !== undefined) plan.status = status;
  const direction = oneOf(pick(settings.direction, msg.direction, 'Direction', 'direction'), DIRECTIONS, 'Direction');
  if (direction !== undefined) plan.direction = direction;
  return plan;
}

/** Pages no larger than the API allows, and no larger than the limit: the last page is not over-read. */
export function listCommands(client: SuperSimClient, plan: ListPlan, signal?: AbortSignal): AsyncIterableIterator<CommandResource> {
  const max = plan.kind === 'ip' ? MAX_PAGE_SIZE.ipCommands : plan.kind === 'sms' ? MAX_PAGE_SIZE.smsCommands : MAX_PAGE_SIZE.wirelessCommands;
  const filter = { sim: plan.sim, status: plan.status, direction: plan.direction, pageSize: Math.min(plan.limit, max) };
  const options = { signal };
  const listed: AsyncIterableIterator<CommandResource> =
    plan.kind === 'ip'
      ? client.listIpCommands(filter as Parameters<SuperSimClient['listIpCommands']>[0], options)
      : plan.kind === 'sms'
        ? client.listSmsCommands(filter, options)
        : client.listWirelessCommands(filter, options);
  return firstOf(listed, plan.limit);
}

export function fetchCommand(client: SuperSimClient, sid: string, kind: CommandKind, signal?: AbortSignal): Promise<CommandResource> {
  const options = { signal };
  if (kind === 'ip') return client.fetchIpCommand(sid, options);
  if (kind === 'sms') return client.fetchSmsCommand(sid, options);
  return client.fetchWirelessCommand(sid, options);
}

/** Only Programmable Wireless Commands can be deleted; the API says so for no other kind. */
export async function deleteCommand(client: SuperSimClient, msg: Record<string, unknown>): Promise<{ sid: string; deleted: true }> {
  const { sid, kind } = sidOf(msg);
  if (kind !== 'wireless') {
    throw new ListingInputError('SID', `Only Wireless Commands (DC…) can be deleted; ${sid} is ${kind === 'ip' ? 'an IP Command' : 'an SMS Command'}, which the Super SIM API keeps`);
  }
  await client.deleteWirelessCommand(sid);
  return { sid, deleted: true };
}
