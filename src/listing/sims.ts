/**
 * What `supersim-sims` asks the API for: the node's fields, with the message's properties filling the
 * blank ones (a node's own value wins, as in core nodes), checked before any request.
 */
import type { ListSimsFilter, Sim, SimStatus } from '../api';
import { ListingInputError } from './errors';

export const SIM_STATUSES: readonly SimStatus[] = ['new', 'ready', 'active', 'inactive', 'scheduled'];
/** The page size the node asks for: the contract's, well within the API's 1000. */
export const SIMS_PAGE_SIZE = 100;

export interface SimsSettings {
  fleet?: unknown;
  status?: unknown;
  iccid?: unknown;
}

export type ListOutput = 'array' | 'split';

/** A value given as text: trimmed, or undefined when blank or absent. */
export function textOf(value: unknown, field: string, source: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') throw new ListingInputError(field, `${field} must be text; ${source} is ${Array.isArray(value) ? 'an array' : typeof value}`);
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** The node's field, else the message's property; says which one it came from, for errors. */
export function pick(own: unknown, fromMsg: unknown, field: string, property: string): { value: string; source: string } | undefined {
  const mine = textOf(own, field, 'the node’s field');
  if (mine !== undefined) return { value: mine, source: 'the node’s field' };
  const given = textOf(fromMsg, field, `msg.${property}`);
  return given === undefined ? undefined : { value: given, source: `msg.${property}` };
}

export function oneOf<T extends string>(chosen: { value: string; source: string } | undefined, allowed: readonly T[], field: string): T | undefined {
  if (chosen === undefined) return undefined;
  const value = chosen.value.toLowerCase();
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ListingInputError(field, `${field} must be one of ${allowed.join(', ')} (or blank for any); ${chosen.source} is ${JSON.stringify(chosen.value)}`);
}

/** Fleet, Status and ICCID to list by; blank ones mean any. */
export function simsFilterOf(settings: SimsSettings, msg: Record<string, unknown>): ListSimsFilter {
  const fleet = pick(settings.fleet, msg.fleet, 'Fleet', 'fleet');
  const status = oneOf(pick(settings.status, msg.status, 'Status', 'status'), SIM_STATUSES, 'Status');
  const iccid = pick(settings.iccid, msg.iccid, 'ICCID', 'iccid');
  if (iccid !== undefined && !/^[0-9]{18,22}F?$/i.test(iccid.value)) {
    throw new ListingInputError('ICCID', `ICCID must be the SIM's 18 to 22 digits; ${iccid.source} is ${JSON.stringify(iccid.value)}`);
  }
  const filter: ListSimsFilter = { pageSize: SIMS_PAGE_SIZE };
  if (fleet !== undefined) filter.fleet = fleet.value;
  if (status !== undefined) filter.status = status;
  if (iccid !== undefined) filter.iccid = iccid.value;
  return filter;
}

export function outputOf(value: unknown): ListOutput {
  return value === 'array' ? 'array' : 'split';
}

/** How a flow names a SIM: its unique name, else its SID (what msg.sim of a send node takes). */
export function simNameOf(sim: Pick<Sim, 'unique_name' | 'sid'>): string | undefined {
  if (typeof sim.unique_name === 'string' && sim.unique_name !== '') return sim.unique_name;
  if (typeof sim.sid === 'string' && sim.sid !== '') return sim.sid;
  return undefined;
}
