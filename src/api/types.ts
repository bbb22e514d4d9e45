/**
 * Resources exactly as the Super SIM and Programmable Wireless APIs return them (snake_case JSON),
 * and the parameters of the operations in the client's own camelCase.
 */

import type { CommandDirection, CommandStatus, HttpMethod, IncludeSid, IpPayloadType, WirelessCommandMode } from '../shared';

export type { CommandDirection, CommandStatus, HttpMethod, IncludeSid, IpPayloadType, WirelessCommandMode } from '../shared';

export type Provider = 'kore' | 'twilio';

export interface IpCommand {
  sid: string;
  account_sid: string;
  sim_sid: string;
  sim_iccid: string | null;
  status: 'queued' | 'sent' | 'received' | 'failed';
  direction: CommandDirection;
  device_ip: string | null;
  device_port: number;
  payload_type: IpPayloadType;
  payload: string;
  date_created: string;
  date_updated: string;
  url: string;
  error_code?: number | null;
  error_message?: string | null;
}

export interface SmsCommand {
  sid: string;
  account_sid: string;
  sim_sid: string;
  payload: string;
  status: CommandStatus;
  direction: CommandDirection;
  date_created: string;
  date_updated: string;
  url: string;
  error_code?: number | null;
  error_message?: string | null;
}

export interface WirelessCommand {
  sid: string;
  account_sid: string;
  sim_sid: string;
  command: string;
  command_mode: WirelessCommandMode;
  transport: 'sms' | 'ip';
  delivery_receipt_requested: boolean;
  status: CommandStatus;
  direction: CommandDirection;
  date_created: string;
  date_updated: string;
  url: string;
  error_code?: number | null;
  error_message?: string | null;
}

export interface Fleet {
  sid: string;
  account_sid: string;
  unique_name: string | null;
  data_enabled: boolean;
  data_limit: number;
  data_metering: string;
  sms_commands_enabled: boolean;
  sms_commands_url: string | null;
  sms_commands_method: HttpMethod;
  ip_commands_url: string | null;
  ip_commands_method: HttpMethod;
  network_access_profile_sid: string | null;
  date_created: string;
  date_updated: string;
  url: string;
}

export interface ListMeta {
  first_page_url: string;
  key: string;
  next_page_url: string | null;
  page: number;
  page_size: number;
  previous_page_url: string | null;
  url: string;
}

/** The error body both providers answer with. */
export interface ApiErrorBody {
  status: number;
  code: number;
  message: string;
  more_info: string;
}

export interface TokenResponse {
  access_token: string;
  expires_in: number;
  token_type: string;
}

export interface CreateIpCommandParams {
  sim: string;
  payload: string;
  devicePort: number;
  payloadType?: IpPayloadType;
  callbackUrl?: string;
  callbackMethod?: HttpMethod;
}

export interface CreateSmsCommandParams {
  sim: string;
  payload: string;
  callbackUrl?: string;
  callbackMethod?: HttpMethod;
}

export interface CreateWirelessCommandParams {
  command: string;
  sim?: string;
  commandMode?: WirelessCommandMode;
  includeSid?: IncludeSid;
  deliveryReceiptRequested?: boolean;
  callbackUrl?: string;
  callbackMethod?: HttpMethod;
}

export interface UpdateFleetParams {
  ipCommandsUrl?: string;
  ipCommandsMethod?: HttpMethod;
  smsCommandsUrl?: string;
  smsCommandsMethod?: HttpMethod;
}

export interface ListIpCommandsFilter {
  sim?: string;
  simIccid?: string;
  status?: IpCommand['status'];
  direction?: CommandDirection;
  pageSize?: number;
}

export interface ListSmsCommandsFilter {
  sim?: string;
  status?: CommandStatus;
  direction?: CommandDirection;
  pageSize?: number;
}

export interface ListWirelessCommandsFilter {
  sim?: string;
  status?: CommandStatus;
  direction?: CommandDirection;
  transport?: 'sms' | 'ip';
  pageSize?: number;
}

// ---- the account's SIMs, Fleets and webhook secrets ---------------------------------------------
// The specs mark every field of these resources nullable, so each one is typed as possibly null.

/** A Super SIM's status (Super SIM API `sim_enum_status`). */
export type SimStatus = 'new' | 'ready' | 'active' | 'inactive' | 'scheduled';

/** A Super SIM, as `GET /v1/Sims` lists it. */
export interface Sim {
  sid: string | null;
  unique_name: string | null;
  account_sid: string | null;
  iccid: string | null;
  status: SimStatus | null;
  fleet_sid: string | null;
  date_created: string | null;
  date_updated: string | null;
  url: string | null;
  links: Record<string, string> | null;
}

/** What a Programmable Wireless SIM may be (`SimResourceStatus`). */
export type WirelessSimStatus = 'new' | 'ready' | 'active' | 'suspended' | 'deactivated' | 'canceled' | 'scheduled' | 'updating' | 'deleted';

/** The statuses a Wireless SIM list can be filtered by (`SimStatus`: every one but `deleted`). */
export type WirelessSimStatusFilter = Exclude<WirelessSimStatus, 'deleted'>;

/** A Programmable Wireless SIM (`GET /v1/Sims` of the Wireless API). */
export interface WirelessSim {
  sid: string | null;
  unique_name: string | null;
  friendly_name: string | null;
  account_sid: string | null;
  status: WirelessSimStatus | null;
  rate_plan_sid: string | null;
  iccid: string | null;
  eid: string | null;
  /** Where the SIM's own Commands (from_sim) are reported. */
  commands_callback_url: string | null;
  commands_callback_method: HttpMethod | null;
  date_created: string | null;
  date_updated: string | null;
  ip_address: string | null;
  reset_status: 'resetting' | null;
  links: { rate_plan?: string; usage_records?: string; data_sessions?: string } | null;
  url: string | null;
  voice_url: string | null;
  voice_method: HttpMethod | null;
  voice_fallback_url: string | null;
  voice_fallback_method: HttpMethod | null;
  sms_url: string | null;
  sms_method: HttpMethod | null;
  sms_fallback_url: string | null;
  sms_fallback_method: HttpMethod | null;
}

export type WebhookSecretStatus = 'active' | 'pending';

/** A KORE webhook secret as listed: never its value (kore-webhook-secrets-v1 `SecretResponse`). */
export interface WebhookSecret {
  /** `whs_` and 26 more characters. */
  id: string;
  name: string;
  status: WebhookSecretStatus;
  last_modified: string;
}

/** The answer to a create: the only time the secret's value is shown. */
export interface CreatedWebhookSecret extends WebhookSecret {
  secret: string;
}

/** The paging block of the webhook API's lists (not the Super SIM `meta`). */
export interface WebhookListMeta {
  count?: number;
  page_size?: number;
  page_number?: number;
  previous_page_url?: string | null;
  next_page_url?: string | null;
}

export interface ListSimsFilter {
  /** A Fleet's SID or unique name. */
  fleet?: string;
  status?: SimStatus;
  iccid?: string;
  pageSize?: number;
}

export interface ListFleetsFilter {
  /** A Network Access Profile's SID or unique name. */
  networkAccessProfile?: string;
  pageSize?: number;
}

export interface ListWirelessSimsFilter {
  status?: WirelessSimStatusFilter;
  iccid?: string;
  /** A Rate Plan's SID or unique name. */
  ratePlan?: string;
  simRegistrationCode?: string;
  pageSize?: number;
}

export interface UpdateWirelessSimParams {
  /** An empty string clears it. */
  commandsCallbackUrl?: string;
  commandsCallbackMethod?: HttpMethod;
}

export interface CreateWebhookSecretParams {
  name: string;
}

export interface ListWebhookSecretsFilter {
  status?: WebhookSecretStatus;
  pageSize?: number;
}
