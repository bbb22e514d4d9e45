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
