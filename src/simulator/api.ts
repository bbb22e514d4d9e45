import type { CommandDirection, CommandStatus, IncludeSid, IpCommand, SmsCommand, WirelessCommand } from '../api';
import type { ListMeta } from '../api';
import {
  DEVICE_PORT_MAX,
  DEVICE_PORT_MIN,
  IP_PAYLOAD_MAX_BYTES,
  SUPERSIM_SMS_MAX_CHARS,
  WIRELESS_BINARY_MAX_BYTES,
  WIRELESS_TEXT_MAX_CHARS,
  WIRELESS_TEXT_WITH_SID_MAX_CHARS,
} from '../commands';
import type { AuthGate } from './auth';
import type { SimulatedDevice } from './device';
import type { Engine } from './engine';
import { TOKEN_PATH } from './faults';
import { boolean, callbackTarget, decodeBase64, filterOf, httpMethod, integer, oneOf, required } from './params';
import { characterCount } from '../commands';
import type { Params } from './params';
import { ApiError, NO_CONTENT, badRequest, jsonReply, notFound } from './reply';
import type { Reply } from './reply';
import type { ApiRequest } from './server';
import type { CommandStore, PageCursor, StoredEntry } from './store';
import type { SimulatorMode } from './types';

type Handler = (request: ApiRequest, id: string) => Reply;
type Method = 'GET' | 'POST' | 'DELETE';

interface Route {
  handlers: Partial<Record<Method, Handler>>;
  allow: string;
  /** Reachable without API credentials (the token endpoint). */
  open: boolean;
}

const FORM_TYPE = 'application/x-www-form-urlencoded';
const PAGE_TOKEN = /^P[AB][0-9]{1,15}$/;
const IP_STATUSES: readonly IpCommand['status'][] = ['queued', 'sent', 'received', 'failed'];
const STATUSES: readonly CommandStatus[] = ['queued', 'sent', 'delivered', 'received', 'failed'];
const DIRECTIONS: readonly CommandDirection[] = ['to_sim', 'from_sim'];

function isForm(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  if (contentType === FORM_TYPE) return true;
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === FORM_TYPE;
}

/**
 * A hand-rolled router: a map lookup for collections and a prefix check for instances, so the request
 * path does no regex work beyond the parameters' own checks.
 */
class Router {
  readonly #exact = new Map<string, Route>();
  readonly #instances: { prefix: string; route: Route }[] = [];

  constructor(private readonly auth: AuthGate) {}

  collection(path: string, handlers: Route['handlers'], open = false): void {
    this.#exact.set(path, { handlers, allow: Object.keys(handlers).join(', '), open });
  }

  /** `path` + '/{Sid}'. */
  instance(path: string, handlers: Route['handlers']): void {
    this.#instances.push({ prefix: path + '/', route: { handlers, allow: Object.keys(handlers).join(', '), open: false } });
  }

  dispatch(request: ApiRequest): Reply {
    const { path } = request;
    let route = this.#exact.get(path);
    let id = '';
    if (route === undefined) {
      for (const candidate of this.#instances) {
        if (!path.startsWith(candidate.prefix)) continue;
        id = path.slice(candidate.prefix.length);
        if (id !== '' && !id.includes('/')) route = candidate.route;
        break;
      }
    }
    if (route === undefined) throw notFound(`The requested resource ${path} was not found`);
    const handler = route.handlers[request.method as Method];
    if (handler === undefined) throw new ApiError(405, 20004, `Method ${request.method} not allowed on ${path}`, { allow: route.allow });
    if (!route.open) this.auth.check(request.headers);
    if (request.body !== '' && !isForm(request.headers['content-type'])) {
      throw badRequest(`Content-Type must be ${FORM_TYPE}, got ${request.headers['content-type'] ?? 'none'}`);
    }
    if (id.includes('%')) {
      try {
        id = decodeURIComponent(id);
      } catch {
        throw notFound(`The requested resource ${path} was not found`);
      }
    }
    return handler(request, id);
  }
}

interface ListFilter<E> {
  /** Filter parameters as the request gave them, echoed in the page URLs. */
  echo: [string, string][];
  match: (entry: E) => boolean;
}

function filterParam(params: Params, echo: [string, string][], name: string): string | null {
  const value = params.get(name);
  if (value === null || value === '') return null;
  echo.push([name, value]);
  return value;
}

export interface ApiConfig {
  mode: SimulatorMode;
  supersimUrl: string;
  wirelessUrl: string;
}

/** Builds the request handler of both APIs and the token endpoint. */
export function createApi(engine: Engine, auth: AuthGate, config: ApiConfig): (request: ApiRequest) => Reply {
  const router = new Router(auth);

  /** The SIM a command may be sent to, checked as the real APIs check it. */
  function commandableSim(ref: string, api: SimulatedDevice['api'], what: string): SimulatedDevice {
    const device = engine.findSim(ref);
    // A SIM of the other API does not exist as far as this API is concerned.
    if (device === undefined || device.api !== api) throw notFound(`The requested resource /Sims/${ref} was not found`);
    if (device.status !== 'active' && device.status !== 'ready') {
      throw badRequest(`The SIM ${ref} is ${device.status}: ${what} can only be sent to a SIM that is active or ready`);
    }
    return device;
  }

  function simFilter(params: Params, echo: [string, string][]): string | null | undefined {
    const ref = filterParam(params, echo, 'Sim');
    // An unknown SIM matches nothing rather than failing, so a filter never reveals which SIMs exist.
    return ref === null ? null : (engine.findSim(ref)?.sid ?? undefined);
  }

  function list<R extends { sid: string }, E extends StoredEntry<R>>(
    request: ApiRequest,
    store: CommandStore<R, E>,
    base: string,
    path: string,
    key: string,
    maxPageSize: number,
    filter: (params: Params) => ListFilter<E>,
  ): Reply {
    const params = new URLSearchParams(request.query);
    const { echo, match } = filter(params);
    const pageSize = integer(params, 'PageSize', 1, maxPageSize) ?? 50;
    const page = integer(params, 'Page', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const token = params.get('PageToken');
    let cursor: PageCursor | null = null;
    if (token !== null && token !== '') {
      if (!PAGE_TOKEN.test(token)) throw badRequest(`Invalid PageToken: ${token}`);
      cursor = { direction: token[1] === 'A' ? 'older' : 'newer', seq: Number(token.slice(2)) };
    }
    const result = store.page(match, pageSize, cursor);
    const filters = echo.length === 0 ? '' : new URLSearchParams(echo).toString() + '&';
    const urlOf = (n: number, pageToken: string | null): string =>
      `${base}${path}?${filters}PageSize=${pageSize}&Page=${n}${pageToken === null ? '' : `&PageToken=${pageToken}`}`;
    const items = result.items;
    const meta: ListMeta = {
      first_page_url: urlOf(0, null),
      key,
      next_page_url: result.hasOlder && items.length > 0 ? urlOf(page + 1, `PA${items[items.length - 1].seq}`) : null,
      page,
      page_size: pageSize,
      previous_page_url: result.hasNewer && items.length > 0 ? urlOf(Math.max(0, page - 1), `PB${items[0].seq}`) : null,
      url: urlOf(page, cursor === null ? null : token),
    };
    return jsonReply(200, { [key]: items.map((entry) => entry.resource), meta });
  }

  function commandFilter<E extends StoredEntry<{ sid: string; sim_sid: string; status: string; direction: string }>>(
    statuses: readonly string[],
    extra?: (params: Params, echo: [string, string][]) => ((entry: E) => boolean) | null,
  ): (params: Params) => ListFilter<E> {
    return (params) => {
      const echo: [string, string][] = [];
      const sim = simFilter(params, echo);
      const status = filterOf(params, 'Status', statuses);
      if (status !== null) echo.push(['Status', status]);
      const direction = filterOf(params, 'Direction', DIRECTIONS);
      if (direction !== null) echo.push(['Direction', direction]);
      const more = extra?.(params, echo) ?? null;
      const match = (entry: E): boolean => {
        const r = entry.resource;
        return (
          (sim === null || r.sim_sid === sim) && (status === null || r.status === status) && (direction === null || r.direction === direction) && (more === null || more(entry))
        );
      };
      return { echo, match };
    };
  }

  function fetchOne<R extends { sid: string }>(store: CommandStore<R>, kind: string, id: string): Reply {
    const entry = store.get(id);
    if (entry === undefined) throw notFound(`The requested resource /${kind}/${id} was not found`);
    return jsonReply(200, entry.resource);
  }

  // ---- KORE token endpoint ----------------------------------------------------------------------

  if (config.mode === 'kore') {
    router.collection(TOKEN_PATH, { POST: (request) => auth.issueToken(new URLSearchParams(request.body), request.headers) }, true);
  }

  // ---- Super SIM IP Commands ----------------------------------------------------------------------

  const ipPath = '/supersim/v1/IpCommands';
  const ipFilter = commandFilter(IP_STATUSES, (params, echo) => {
    const iccid = filterParam(params, echo, 'SimIccid');
    return iccid === null ? null : (entry) => (entry.resource as IpCommand).sim_iccid === iccid;
  });
  router.collection(ipPath, {
    GET: (request) => list(request, engine.ip, config.supersimUrl, '/v1/IpCommands', 'ip_commands', 100, ipFilter),
    POST: (request) => {
      const params = new URLSearchParams(request.body);
      const simRef = required(params, 'Sim');
      const payload = required(params, 'Payload');
      const devicePort = integer(params, 'DevicePort', DEVICE_PORT_MIN, DEVICE_PORT_MAX);
      if (devicePort === null) required(params, 'DevicePort');
      const payloadType = oneOf(params, 'PayloadType', ['text', 'binary'] as const, 'text');
      const callback = callbackTarget(params);
      const device = commandableSim(simRef, 'supersim', 'IP Commands');
      let bytes: Buffer | null;
      if (payloadType === 'binary') {
        bytes = decodeBase64(payload);
        if (bytes === null) throw badRequest('Invalid Payload: with PayloadType binary the Payload must be valid Base64');
      } else {
        bytes = Buffer.from(payload, 'utf8');
      }
      if (bytes.length > IP_PAYLOAD_MAX_BYTES) {
        throw badRequest(`Invalid Payload: ${bytes.length} bytes; an IP Command carries at most ${IP_PAYLOAD_MAX_BYTES} bytes`);
      }
      return jsonReply(201, engine.createIp(device, devicePort as number, payloadType, payload, bytes, callback));
    },
  });
  router.instance(ipPath, { GET: (_request, id) => fetchOne(engine.ip, 'IpCommands', id) });

  // ---- Super SIM SMS Commands ---------------------------------------------------------------------

  const smsPath = '/supersim/v1/SmsCommands';
  const smsFilter = commandFilter<StoredEntry<SmsCommand>>(STATUSES);
  router.collection(smsPath, {
    GET: (request) => list(request, engine.sms, config.supersimUrl, '/v1/SmsCommands', 'sms_commands', 1000, smsFilter),
    POST: (request) => {
      const params = new URLSearchParams(request.body);
      const simRef = required(params, 'Sim');
      const payload = required(params, 'Payload');
      const callback = callbackTarget(params);
      const device = commandableSim(simRef, 'supersim', 'SMS Commands');
      if (payload.length > SUPERSIM_SMS_MAX_CHARS && characterCount(payload) > SUPERSIM_SMS_MAX_CHARS) {
        throw badRequest(`Invalid Payload: ${characterCount(payload)} characters; an SMS Command carries at most ${SUPERSIM_SMS_MAX_CHARS}`);
      }
      return jsonReply(201, engine.createSms(device, payload, callback));
    },
  });
  router.instance(smsPath, { GET: (_request, id) => fetchOne(engine.sms, 'SmsCommands', id) });

  // ---- Programmable Wireless Commands -------------------------------------------------------------

  const wirelessPath = '/wireless/v1/Commands';
  const wirelessFilter = commandFilter<StoredEntry<WirelessCommand>>(STATUSES, (params, echo) => {
    const transport = filterOf(params, 'Transport', ['sms', 'ip'] as const);
    if (transport === null) return null;
    echo.push(['Transport', transport]);
    return (entry) => entry.resource.transport === transport;
  });
  router.collection(wirelessPath, {
    GET: (request) => list(request, engine.wireless, config.wirelessUrl, '/v1/Commands', 'commands', 100, wirelessFilter),
    POST: (request) => {
      const params = new URLSearchParams(request.body);
      const command = required(params, 'Command');
      const simRef = required(params, 'Sim');
      const mode = oneOf(params, 'CommandMode', ['text', 'binary'] as const, 'text');
      const includeSid = oneOf<IncludeSid>(params, 'IncludeSid', ['none', 'start', 'end'], 'none');
      const receipt = boolean(params, 'DeliveryReceiptRequested', true);
      const callback = callbackTarget(params);
      const device = commandableSim(simRef, 'wireless', 'Commands');
      let delivered: (sid: string) => string | Buffer;
      if (mode === 'binary') {
        if (includeSid !== 'none') throw badRequest('Invalid IncludeSid: the SID can only be included in text Commands');
        const bytes = decodeBase64(command);
        if (bytes === null) throw badRequest('Invalid Command: with CommandMode binary the Command must be valid Base64');
        if (bytes.length > WIRELESS_BINARY_MAX_BYTES) {
          throw badRequest(`Invalid Command: ${bytes.length} bytes; a binary Command carries at most ${WIRELESS_BINARY_MAX_BYTES} bytes`);
        }
        delivered = () => bytes;
      } else {
        const limit = includeSid === 'none' ? WIRELESS_TEXT_MAX_CHARS : WIRELESS_TEXT_WITH_SID_MAX_CHARS;
        const length = command.length > limit ? characterCount(command) : command.length;
        if (length > limit) {
          const why = includeSid === 'none' ? '' : ` with IncludeSid ${includeSid} (the SID takes the rest of the 160)`;
          throw badRequest(`Invalid Command: ${length} characters; a text Command carries at most ${limit}${why}`);
        }
        delivered = includeSid === 'start' ? (sid) => `${sid} ${command}` : includeSid === 'end' ? (sid) => `${command} ${sid}` : () => command;
      }
      return jsonReply(201, engine.createWireless(device, command, mode, receipt, delivered, callback));
    },
  });
  router.instance(wirelessPath, {
    GET: (_request, id) => fetchOne(engine.wireless, 'Commands', id),
    DELETE: (_request, id) => {
      if (!engine.wireless.delete(id)) throw notFound(`The requested resource /Commands/${id} was not found`);
      return NO_CONTENT;
    },
  });

  // ---- Fleets -------------------------------------------------------------------------------------

  const fleetPath = '/supersim/v1/Fleets';
  router.collection(fleetPath, {
    GET: (request) => list(request, engine.fleets, config.supersimUrl, '/v1/Fleets', 'fleets', 1000, () => ({ echo: [], match: () => true })),
  });
  const fleetOf = (id: string) => {
    const fleet = engine.findFleet(id);
    if (fleet === undefined) throw notFound(`The requested resource /Fleets/${id} was not found`);
    return fleet;
  };
  router.instance(fleetPath, {
    GET: (_request, id) => jsonReply(200, fleetOf(id)),
    POST: (request, id) => {
      const fleet = fleetOf(id);
      const params = new URLSearchParams(request.body);
      const given = (name: string): string | undefined => params.get(name) ?? undefined;
      engine.updateFleet(fleet, {
        uniqueName: given('UniqueName') || undefined,
        dataLimit: integer(params, 'DataLimit', 1, 2_000_000) ?? undefined,
        // Given but empty clears the webhook; absent leaves it as it is.
        ipCommandsUrl: given('IpCommandsUrl'),
        ipCommandsMethod: params.has('IpCommandsMethod') ? httpMethod(params, 'IpCommandsMethod') : undefined,
        smsCommandsUrl: given('SmsCommandsUrl'),
        smsCommandsMethod: params.has('SmsCommandsMethod') ? httpMethod(params, 'SmsCommandsMethod') : undefined,
      });
      return jsonReply(200, fleet);
    },
  });

  return (request) => router.dispatch(request);
}
