/**
 * The account's SIMs and Fleets: Super SIM `Sims` and `Fleets`, and Programmable Wireless `Sims`
 * (whose Commands Callback URL is where a Wireless SIM reports the Commands it sends).
 */
import type { CallOptions, Requests } from './requests';
import { MAX_PAGE_SIZE, encodeSegment, pageSizeUpTo } from './requests';
import type { Fleet, ListFleetsFilter, ListSimsFilter, ListWirelessSimsFilter, Sim, UpdateWirelessSimParams, WirelessSim } from './types';

export function listSims(requests: Requests, filter: ListSimsFilter, options: CallOptions): AsyncIterableIterator<Sim> {
  return requests.list<Sim>({
    operation: 'listSims',
    api: 'supersim',
    path: '/v1/Sims',
    key: 'sims',
    query: { Fleet: filter.fleet, Status: filter.status, Iccid: filter.iccid, PageSize: pageSizeUpTo(MAX_PAGE_SIZE.sims, filter.pageSize) },
    signal: options.signal,
  });
}

export function fetchSim(requests: Requests, sidOrUniqueName: string, options: CallOptions): Promise<Sim> {
  return requests.read<Sim>('fetchSim', 'supersim', `/v1/Sims/${encodeSegment(sidOrUniqueName)}`, undefined, options.signal, `SIM ${sidOrUniqueName}`);
}

export function listFleets(requests: Requests, filter: ListFleetsFilter, options: CallOptions): AsyncIterableIterator<Fleet> {
  return requests.list<Fleet>({
    operation: 'listFleets',
    api: 'supersim',
    path: '/v1/Fleets',
    key: 'fleets',
    query: { NetworkAccessProfile: filter.networkAccessProfile, PageSize: pageSizeUpTo(MAX_PAGE_SIZE.fleets, filter.pageSize) },
    signal: options.signal,
  });
}

export function listWirelessSims(requests: Requests, filter: ListWirelessSimsFilter, options: CallOptions): AsyncIterableIterator<WirelessSim> {
  return requests.list<WirelessSim>({
    operation: 'listWirelessSims',
    api: 'wireless',
    path: '/v1/Sims',
    key: 'sims',
    query: {
      Status: filter.status,
      Iccid: filter.iccid,
      RatePlan: filter.ratePlan,
      SimRegistrationCode: filter.simRegistrationCode,
      PageSize: pageSizeUpTo(MAX_PAGE_SIZE.wirelessSims, filter.pageSize),
    },
    signal: options.signal,
  });
}

export function fetchWirelessSim(requests: Requests, sidOrUniqueName: string, options: CallOptions): Promise<WirelessSim> {
  return requests.read<WirelessSim>('fetchWirelessSim', 'wireless', `/v1/Sims/${encodeSegment(sidOrUniqueName)}`, undefined, options.signal, `Wireless SIM ${sidOrUniqueName}`);
}

export function updateWirelessSim(requests: Requests, sidOrUniqueName: string, params: UpdateWirelessSimParams, options: CallOptions): Promise<WirelessSim> {
  return requests.call<WirelessSim>({
    operation: 'updateWirelessSim',
    method: 'POST',
    api: 'wireless',
    path: `/v1/Sims/${encodeSegment(sidOrUniqueName)}`,
    subject: `Wireless SIM ${sidOrUniqueName}`,
    form: { CommandsCallbackUrl: params.commandsCallbackUrl, CommandsCallbackMethod: params.commandsCallbackMethod },
    // Setting the same properties twice leaves the SIM as once.
    idempotent: true,
    expectBody: true,
    authenticate: true,
    signal: options.signal,
  });
}
