import type { CommandDirection, CommandStatus, Fleet, IncludeSid, IpCommand, SmsCommand, WirelessCommand } from '../api';
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
import { NO_CONTENT, badRequest, jsonReply, notFound } from './reply';
import type { Reply } from './reply';
import { Router, filterParam, listPage } from './router';
import type { ListFilter } from './router';
import type { ApiRequest } from './server';
import type { CommandStore, StoredEntry } from './store';
import { addSimRoutes } from './sim-routes';
import type { WebhookSecrets } from './secrets';
import type { SimulatorMode } from './types';

const IP_STATUSES: readonly IpCommand['status'][] = ['queued', 'sent', 'received', 'failed'];
const STATUSES: readonly CommandStatus[] = ['queued', 'sent', 'delivered', 'received', 'failed'];
const DIRECTIONS: readonly CommandDirection[] = ['to_sim', 'from_sim'];

export interface ApiConfig {
  mode: SimulatorMode;
  accountSid: string;
  supersimUrl: string;
  wirelessUrl: string;
  webhookUrl: string;
  webhookSecrets: WebhookSecrets;
}

/** Builds the request handler of both APIs, the token endpoint and (KORE) the webhook-secrets API. */
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
    router.collection(TOKEN_PATH, { POST: (request) => auth.issueToken(new URLSearchParams(request.body), request.headers) }, { open: true });
  }

  // ---- Super SIM IP Commands ----------------------------------------------------------------------

  const ipPath = '/supersim/v1/IpCommands';
  const ipFilter = commandFilter(IP_STATUSES, (params, echo) => {
    const iccid = filterParam(params, echo, 'SimIccid');
    return iccid === null ? null : (entry) => (entry.resource as IpCommand).sim_iccid === iccid;
  });
  router.collection(ipPath, {
    GET: (request) => listPage(request, { store: engine.ip, base: config.supersimUrl, path: '/v1/IpCommands', key: 'ip_commands', maxPageSize: 100, filter: ipFilter }),
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
    GET: (request) => listPage(request, { store: engine.sms, base: config.supersimUrl, path: '/v1/SmsCommands', key: 'sms_commands', maxPageSize: 1000, filter: smsFilter }),
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
    GET: (request) => listPage(request, { store: engine.wireless, base: config.wirelessUrl, path: '/v1/Commands', key: 'commands', maxPageSize: 100, filter: wirelessFilter }),
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
  const fleetFilter = (params: Params): ListFilter<StoredEntry<Fleet>> => {
    const echo: [string, string][] = [];
    const profile = filterParam(params, echo, 'NetworkAccessProfile');
    return { echo, match: (entry) => profile === null || entry.resource.network_access_profile_sid === profile };
  };
  router.collection(fleetPath, {
    GET: (request) => listPage(request, { store: engine.fleets, base: config.supersimUrl, path: '/v1/Fleets', key: 'fleets', maxPageSize: 1000, filter: fleetFilter }),
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

  addSimRoutes(router, engine, config);

  return (request) => router.dispatch(request);
}
