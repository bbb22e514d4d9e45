import type { WebhookSecretStatus } from '../api';
import { deviceState } from './device';
import type { SimulatedDevice } from './device';
import type { Engine } from './engine';
import { SIM_STATUSES } from './engine';
import { absoluteUrl, filterOf, httpMethod, integer } from './params';
import type { Params } from './params';
import { badRequest, jsonReply, notFound } from './reply';
import type { Reply } from './reply';
import { ResourceFactory } from './resources';
import { filterParam, listPage } from './router';
import type { ListFilter, Router } from './router';
import type { WebhookSecrets } from './secrets';
import type { ApiRequest } from './server';
import type { StoredEntry } from './store';
import type { SimulatorMode } from './types';

export interface SimRoutesConfig {
  mode: SimulatorMode;
  accountSid: string;
  supersimUrl: string;
  wirelessUrl: string;
  webhookUrl: string;
  webhookSecrets: WebhookSecrets;
}

type SimEntry = StoredEntry<SimulatedDevice>;

const SECRET_STATUSES: readonly WebhookSecretStatus[] = ['active', 'pending'];
/** The spec gives no bounds for page_size: the same 100 the client caps it at. */
const MAX_SECRET_PAGE_SIZE = 100;
const WEBHOOK_PATH = '/webhook/v1/secrets';

/** Super SIM and Wireless `Sims`, and KORE's webhook secrets. */
export function addSimRoutes(router: Router, engine: Engine, config: SimRoutesConfig): void {
  const resources = new ResourceFactory(config.accountSid, config.supersimUrl, config.wirelessUrl);

  /** A SIM of the other API does not exist as far as this API is concerned. */
  function simOf(api: SimulatedDevice['api'], id: string): SimulatedDevice {
    const device = engine.findSim(id);
    if (device === undefined || device.api !== api) throw notFound(`The requested resource /Sims/${id} was not found`);
    return device;
  }

  /** Status and Iccid, which both APIs filter by, and whatever else one of them adds. */
  function simFilter(api: SimulatedDevice['api'], extra: (params: Params, echo: [string, string][]) => ((device: SimulatedDevice) => boolean) | null): (params: Params) => ListFilter<SimEntry> {
    return (params) => {
      const echo: [string, string][] = [];
      const status = filterOf(params, 'Status', SIM_STATUSES[api]);
      if (status !== null) echo.push(['Status', status]);
      const iccid = filterParam(params, echo, 'Iccid');
      const more = extra(params, echo);
      const match = (entry: SimEntry): boolean => {
        const device = entry.resource;
        return device.api === api && (status === null || device.status === status) && (iccid === null || device.iccid === iccid) && (more === null || more(device));
      };
      return { echo, match };
    };
  }

  // ---- Super SIM Sims -----------------------------------------------------------------------------

  const superSimFilter = simFilter('supersim', (params, echo) => {
    const fleetRef = filterParam(params, echo, 'Fleet');
    if (fleetRef === null) return null;
    // An unknown Fleet matches nothing rather than failing, as the Sim filter of the command lists.
    const fleetSid = engine.findFleet(fleetRef)?.sid;
    return (device) => device[deviceState].fleetSid === fleetSid;
  });
  const presentSim = (entry: SimEntry): unknown => resources.sim(entry.resource, entry.resource[deviceState]);
  router.collection('/supersim/v1/Sims', {
    GET: (request) => listPage(request, { store: engine.simOrder, base: config.supersimUrl, path: '/v1/Sims', key: 'sims', maxPageSize: 1000, filter: superSimFilter, present: presentSim }),
  });
  router.instance('/supersim/v1/Sims', {
    GET: (_request, id) => {
      const device = simOf('supersim', id);
      return jsonReply(200, resources.sim(device, device[deviceState]));
    },
  });

  // ---- Programmable Wireless Sims -----------------------------------------------------------------

  const wirelessSimFilter = simFilter('wireless', (params, echo) => {
    // The simulator's SIMs have no rate plan, registration code or EID: naming one matches none.
    const unmatched = ['RatePlan', 'SimRegistrationCode', 'EId'].filter((name) => filterParam(params, echo, name) !== null);
    return unmatched.length === 0 ? null : () => false;
  });
  const presentWirelessSim = (entry: SimEntry): unknown => resources.wirelessSim(entry.resource, entry.resource[deviceState]);
  router.collection('/wireless/v1/Sims', {
    GET: (request) => listPage(request, { store: engine.simOrder, base: config.wirelessUrl, path: '/v1/Sims', key: 'sims', maxPageSize: 1000, filter: wirelessSimFilter, present: presentWirelessSim }),
  });
  router.instance('/wireless/v1/Sims', {
    GET: (_request, id) => {
      const device = simOf('wireless', id);
      return jsonReply(200, resources.wirelessSim(device, device[deviceState]));
    },
    POST: (request, id) => {
      const device = simOf('wireless', id);
      updateWirelessSim(device, new URLSearchParams(request.body));
      return jsonReply(200, resources.wirelessSim(device, device[deviceState]));
    },
  });

  // ---- KORE webhook secrets -----------------------------------------------------------------------

  if (config.mode === 'kore') {
    router.collection(
      WEBHOOK_PATH,
      {
        GET: (request) => listSecrets(request, config),
        POST: (request) => jsonReply(201, config.webhookSecrets.create(secretName(request.body))),
      },
      { body: 'json' },
    );
  }
}

/** Checks everything before changing anything, so a refused update leaves the SIM as it was. */
function updateWirelessSim(device: SimulatedDevice, params: Params): void {
  if (params.has('UniqueName') && params.get('UniqueName') !== device.uniqueName) {
    throw badRequest('Invalid UniqueName: the simulator does not rename SIMs; start it with the name you need');
  }
  const url = params.get('CommandsCallbackUrl');
  const callbackUrl = url === null ? undefined : url === '' ? null : absoluteUrl('CommandsCallbackUrl', url);
  const method = params.has('CommandsCallbackMethod') ? httpMethod(params, 'CommandsCallbackMethod') : undefined;
  const status = filterOf(params, 'Status', SIM_STATUSES.wireless);
  // Checked as the API checks them, though the simulator has no use for them.
  for (const name of ['CallbackMethod', 'SmsMethod', 'SmsFallbackMethod', 'VoiceMethod', 'VoiceFallbackMethod']) if (params.has(name)) httpMethod(params, name);
  for (const name of ['CallbackUrl', 'SmsUrl', 'SmsFallbackUrl', 'VoiceUrl', 'VoiceFallbackUrl']) {
    const value = params.get(name);
    if (value !== null && value !== '') absoluteUrl(name, value);
  }
  const state = device[deviceState];
  if (callbackUrl !== undefined) state.commandsCallback.url = callbackUrl;
  if (method !== undefined) state.commandsCallback.method = method;
  if (status !== null) device.status = status;
  if (params.has('FriendlyName')) state.friendlyName = params.get('FriendlyName') || null;
  state.dateUpdated = new Date().toISOString();
}

function secretName(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body === '' ? '{}' : body);
  } catch {
    throw badRequest('Invalid request body: expected a JSON object');
  }
  const name = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>).Name : undefined;
  if (name === undefined || name === '') throw badRequest('Missing required parameter Name in the request body');
  if (typeof name !== 'string') throw badRequest('Invalid Name: expected a string');
  return name;
}

/** Oldest first, by page_number from 1 (as the spec's example pages). */
function listSecrets(request: ApiRequest, config: SimRoutesConfig): Reply {
  const params = new URLSearchParams(request.query);
  const status = filterOf(params, 'status', SECRET_STATUSES);
  const pageSize = integer(params, 'page_size', 1, MAX_SECRET_PAGE_SIZE) ?? 10;
  const pageNumber = integer(params, 'page_number', 1, Number.MAX_SAFE_INTEGER) ?? 1;
  const all = config.webhookSecrets.list(status);
  const data = all.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
  const urlOf = (n: number): string => `${config.webhookUrl}/v1/secrets?${status === null ? '' : `status=${status}&`}page_size=${pageSize}&page_number=${n}`;
  return jsonReply(200, {
    data,
    meta_data: {
      count: data.length,
      page_size: pageSize,
      page_number: pageNumber,
      previous_page_url: pageNumber > 1 ? urlOf(pageNumber - 1) : null,
      next_page_url: pageNumber * pageSize < all.length ? urlOf(pageNumber + 1) : null,
    },
  });
}
