import type { CommandDirection, Fleet, HttpMethod, IpCommand, IpPayloadType, Sim, SimStatus, SmsCommand, WirelessCommand, WirelessCommandMode, WirelessSim, WirelessSimStatus } from '../api';
import type { DeviceState } from './device';
import type { CommandKind } from '../shared';
import { newSid } from './ids';

export type { CommandKind } from '../shared';
export type AnyCommand = IpCommand | SmsCommand | WirelessCommand;

/** What a command resource says about its SIM. */
export interface SimRef {
  readonly sid: string;
  readonly uniqueName: string;
  readonly iccid: string;
}

/** What a SIM resource is built from, beside the device's state. */
export interface SimDevice extends SimRef {
  readonly status: string;
}

export interface CommandError {
  code: number;
  message: string;
}

export const DETACHED_ERROR: CommandError = { code: 32001, message: 'Device not attached' };

export interface FleetInit {
  uniqueName: string | null;
  ipCommandsUrl: string | null;
  ipCommandsMethod: HttpMethod;
  smsCommandsUrl: string | null;
  smsCommandsMethod: HttpMethod;
}

/** The one place that builds resources (and their callback fields), so JSON and callbacks always agree with src/api/types. */
export class ResourceFactory {
  constructor(
    private readonly accountSid: string,
    private readonly supersimUrl: string,
    private readonly wirelessUrl: string,
  ) {}

  ipCommand(sim: SimRef, direction: CommandDirection, status: IpCommand['status'], devicePort: number, payloadType: IpPayloadType, payload: string, deviceIp: string | null): IpCommand {
    const sid = newSid('HG');
    const now = new Date().toISOString();
    return {
      sid,
      account_sid: this.accountSid,
      sim_sid: sim.sid,
      sim_iccid: sim.iccid,
      status,
      direction,
      device_ip: deviceIp,
      device_port: devicePort,
      payload_type: payloadType,
      payload,
      date_created: now,
      date_updated: now,
      url: `${this.supersimUrl}/v1/IpCommands/${sid}`,
      error_code: null,
      error_message: null,
    };
  }

  smsCommand(sim: SimRef, direction: CommandDirection, status: SmsCommand['status'], payload: string): SmsCommand {
    const sid = newSid('HC');
    const now = new Date().toISOString();
    return {
      sid,
      account_sid: this.accountSid,
      sim_sid: sim.sid,
      payload,
      status,
      direction,
      date_created: now,
      date_updated: now,
      url: `${this.supersimUrl}/v1/SmsCommands/${sid}`,
      error_code: null,
      error_message: null,
    };
  }

  wirelessCommand(sim: SimRef, direction: CommandDirection, status: WirelessCommand['status'], command: string, commandMode: WirelessCommandMode, deliveryReceiptRequested: boolean): WirelessCommand {
    const sid = newSid('DC');
    const now = new Date().toISOString();
    return {
      sid,
      account_sid: this.accountSid,
      sim_sid: sim.sid,
      command,
      command_mode: commandMode,
      transport: 'sms',
      delivery_receipt_requested: deliveryReceiptRequested,
      status,
      direction,
      date_created: now,
      date_updated: now,
      url: `${this.wirelessUrl}/v1/Commands/${sid}`,
      error_code: null,
      error_message: null,
    };
  }

  fleet(init: FleetInit): Fleet {
    const sid = newSid('HF');
    const now = new Date().toISOString();
    return {
      sid,
      account_sid: this.accountSid,
      unique_name: init.uniqueName,
      data_enabled: true,
      data_limit: 1000,
      data_metering: 'payg',
      sms_commands_enabled: true,
      sms_commands_url: init.smsCommandsUrl,
      sms_commands_method: init.smsCommandsMethod,
      ip_commands_url: init.ipCommandsUrl,
      ip_commands_method: init.ipCommandsMethod,
      network_access_profile_sid: newSid('HA'),
      date_created: now,
      date_updated: now,
      url: `${this.supersimUrl}/v1/Fleets/${sid}`,
    };
  }

  /** A Super SIM as the API shows it now (built on each read: the device's status may change). */
  sim(device: SimDevice, state: Readonly<DeviceState>): Sim {
    const url = `${this.supersimUrl}/v1/Sims/${device.sid}`;
    return {
      sid: device.sid,
      unique_name: device.uniqueName,
      account_sid: this.accountSid,
      iccid: device.iccid,
      status: device.status as SimStatus,
      fleet_sid: state.fleetSid,
      date_created: state.dateCreated,
      date_updated: state.dateUpdated,
      url,
      links: { billing_periods: `${url}/BillingPeriods`, sim_ip_addresses: `${url}/IpAddresses` },
    };
  }

  wirelessSim(device: SimDevice, state: Readonly<DeviceState>): WirelessSim {
    const url = `${this.wirelessUrl}/v1/Sims/${device.sid}`;
    return {
      sid: device.sid,
      unique_name: device.uniqueName,
      friendly_name: state.friendlyName,
      account_sid: this.accountSid,
      status: device.status as WirelessSimStatus,
      rate_plan_sid: null,
      iccid: device.iccid,
      eid: null,
      commands_callback_url: state.commandsCallback.url,
      commands_callback_method: state.commandsCallback.method,
      date_created: state.dateCreated,
      date_updated: state.dateUpdated,
      ip_address: null,
      reset_status: null,
      links: { usage_records: `${url}/UsageRecords`, data_sessions: `${url}/DataSessions` },
      url,
      voice_url: null,
      voice_method: null,
      voice_fallback_url: null,
      voice_fallback_method: null,
      sms_url: null,
      sms_method: null,
      sms_fallback_url: null,
      sms_fallback_method: null,
    };
  }

  /** Moves a command to a new status; error fields are set only on failure, as the vendors do. */
  static setStatus<R extends AnyCommand>(resource: R, status: R['status'], error: CommandError | null = null): void {
    resource.status = status;
    resource.date_updated = new Date().toISOString();
    resource.error_code = error === null ? null : error.code;
    resource.error_message = error === null ? null : error.message;
  }

  /** The fields of a status or from_sim callback, as the vendors document them for each kind of command. */
  static callbackFields(kind: CommandKind, resource: AnyCommand, sim: SimRef): Record<string, string> {
    const fields: Record<string, string> = {
      AccountSid: resource.account_sid,
      CommandSid: resource.sid,
      SimSid: sim.sid,
      SimUniqueName: sim.uniqueName,
    };
    if (kind === 'ip') {
      const ip = resource as IpCommand;
      fields.SimIccid = sim.iccid;
      fields.Payload = ip.payload;
      fields.PayloadType = ip.payload_type;
    } else if (kind === 'sms') {
      fields.Payload = (resource as SmsCommand).payload;
      fields.PayloadType = 'text';
    } else {
      const command = resource as WirelessCommand;
      fields.Command = command.command;
      fields.CommandMode = command.command_mode;
    }
    fields.Direction = resource.direction;
    fields.Status = resource.status;
    if (resource.status === 'failed') {
      fields.ErrorCode = String(resource.error_code ?? '');
      fields.ErrorMessage = resource.error_message ?? '';
    }
    fields.ApiVersion = 'v1';
    return fields;
  }
}
