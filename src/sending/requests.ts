import type { CreateIpCommandParams, CreateSmsCommandParams, CreateWirelessCommandParams } from '../api';
import {
  CommandValidationError,
  encodeIpPayload,
  encodeSupersimSmsPayload,
  encodeWirelessCommand,
  validateCallbackMethod,
  validateCallbackUrl,
  validateCommandMode,
  validateDevicePort,
  validateIncludeSid,
  validateIpPayloadType,
  validateSimReference,
} from '../commands';
import { isBlank } from '../shared';
import type { HttpMethod, IncludeSid, WirelessCommandMode } from '../shared';

/** The message properties a send node reads; anything else on the message is left alone. */
export interface SendMessage {
  payload?: unknown;
  sim?: unknown;
  devicePort?: unknown;
  payloadType?: unknown;
  commandMode?: unknown;
  callbackUrl?: unknown;
  callbackMethod?: unknown;
}

/** A node's configured fields, as the editor stores them: blank strings mean "take it from msg". */
export interface IpCommandSettings {
  sim?: string;
  devicePort?: string | number;
  payloadType?: string;
  callbackUrl?: string;
  callbackMethod?: string;
}

export interface SmsCommandSettings {
  api?: string;
  sim?: string;
  commandMode?: string;
  includeSid?: string;
  deliveryReceipt?: boolean;
  callbackUrl?: string;
  callbackMethod?: string;
}

/** The node's configured value wins, as in core nodes; the message fills only what the node left blank. */
function pick(configured: unknown, fromMsg: unknown): unknown {
  return isBlank(configured) ? fromMsg : configured;
}

function callbackOf(settings: { callbackUrl?: string; callbackMethod?: string }, msg: SendMessage): { callbackUrl?: string; callbackMethod?: HttpMethod } {
  const callbackUrl = validateCallbackUrl(pick(settings.callbackUrl, msg.callbackUrl), 'callbackUrl');
  const callbackMethod = validateCallbackMethod(pick(settings.callbackMethod, msg.callbackMethod), 'callbackMethod');
  return { callbackUrl, callbackMethod };
}

function requireSim(settings: { sim?: string }, msg: SendMessage): string {
  const sim = pick(settings.sim, msg.sim);
  return validateSimReference(sim, isBlank(settings.sim) ? 'msg.sim' : 'sim');
}

/**
 * Builds a create request from the node's settings and the message, or throws a
 * CommandValidationError that names the field and the limit. Nothing is sent before this passes.
 */
export function buildIpCommandRequest(settings: IpCommandSettings, msg: SendMessage): CreateIpCommandParams {
  const sim = requireSim(settings, msg);
  const devicePort = validateDevicePort(pick(settings.devicePort, msg.devicePort), isBlank(settings.devicePort) ? 'msg.devicePort' : 'devicePort');
  // 'auto' leaves the choice open, so msg.payloadType may still pin it; text or binary on the node win.
  const configuredType = validateIpPayloadType(settings.payloadType, 'payloadType');
  const payloadType = configuredType === 'auto' ? validateIpPayloadType(msg.payloadType, 'msg.payloadType') : configuredType;
  const encoded = encodeIpPayload(msg.payload, payloadType);
  return { sim, devicePort, payload: encoded.payload, payloadType: encoded.payloadType, ...callbackOf(settings, msg) };
}

export type SmsCommandRequest =
  | { api: 'supersim'; params: CreateSmsCommandParams }
  | { api: 'wireless'; params: CreateWirelessCommandParams };

export function buildSmsCommandRequest(settings: SmsCommandSettings, msg: SendMessage): SmsCommandRequest {
  const sim = requireSim(settings, msg);
  const callback = callbackOf(settings, msg);
  const api = settings.api === undefined || settings.api === '' ? 'supersim' : settings.api;
  if (api !== 'supersim' && api !== 'wireless') {
    throw new CommandValidationError('api', `API must be Super SIM or Programmable Wireless; got ${JSON.stringify(api)}`, { limit: 'supersim|wireless', actual: String(api) });
  }
  if (api === 'supersim') {
    return { api: 'supersim', params: { sim, payload: encodeSupersimSmsPayload(msg.payload), ...callback } };
  }
  const commandMode: WirelessCommandMode = validateCommandMode(pick(settings.commandMode, msg.commandMode), 'commandMode');
  const includeSid: IncludeSid = validateIncludeSid(settings.includeSid, 'includeSid');
  const encoded = encodeWirelessCommand(msg.payload, { commandMode, includeSid });
  return {
    api: 'wireless',
    params: {
      sim,
      command: encoded.command,
      commandMode: encoded.commandMode,
      includeSid,
      deliveryReceiptRequested: settings.deliveryReceipt !== false,
      ...callback,
    },
  };
}

/**
 * The request with the account's tracking callback URL when tracking follows the command by callback.
 * A CallbackUrl the user set wins (tracking then polls); the account's status route takes POST.
 */
export function withTrackingCallback<T extends { callbackUrl?: string; callbackMethod?: HttpMethod }>(params: T, trackingCallbackUrl: string | undefined): T {
  return trackingCallbackUrl && !params.callbackUrl ? { ...params, callbackUrl: trackingCallbackUrl, callbackMethod: 'POST' } : params;
}
