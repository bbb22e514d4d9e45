import type { Fleet, HttpMethod, IpCommand, IpPayloadType, SmsCommand, WirelessCommand, WirelessCommandMode } from '../api';
import { SUPERSIM_SMS_MAX_CHARS, WIRELESS_BINARY_MAX_BYTES, WIRELESS_TEXT_MAX_CHARS } from '../commands';
import { CallbackSender } from './callbacks';
import type { CallbackTarget } from './callbacks';
import { Carrier } from './carrier';
import { SimulatedDevice, deliverSms, deliverWireless, deviceState, disposeDevice, expectIp, takeOutgoing } from './device';
import type { DeviceHost } from './device';
import { newIccid, newSid } from './ids';
import { absoluteUrl } from './params';
import { characterCount } from '../commands';
import { badRequest } from './reply';
import { DETACHED_ERROR, ResourceFactory } from './resources';
import type { AnyCommand, CommandError, CommandKind, FleetInit } from './resources';
import type { Stats } from './stats';
import { CommandStore } from './store';
import type { StoredEntry } from './store';
import type { Timers } from './timers';
import type { SimulatedFleetOptions, SimulatedSimOptions, SimulatorCredentials, SimulatorMode, SimulatorTiming } from './types';

export const DEFAULT_FLEET_NAME = 'default';
/** Each API's own statuses (Super SIM `sim_enum_status`, Wireless `SimStatus`). */
export const SIM_STATUSES: Readonly<Record<'supersim' | 'wireless', readonly string[]>> = {
  supersim: ['active', 'ready', 'inactive', 'new', 'scheduled'],
  wireless: ['active', 'ready', 'suspended', 'deactivated', 'canceled', 'new', 'scheduled', 'updating'],
};

interface CommandEntry<R extends AnyCommand> extends StoredEntry<R> {
  device: SimulatedDevice;
  callback: CallbackTarget | null;
}
export interface IpEntry extends CommandEntry<IpCommand> {
  /** The decoded payload until it is sent; dropped then, so a full store holds resources, not datagrams. */
  bytes: Buffer | null;
}
export type SmsEntry = CommandEntry<SmsCommand>;
export interface WirelessEntry extends CommandEntry<WirelessCommand> {
  /** What reaches the device: the text with its SID when IncludeSid asks for it, or the decoded bytes. */
  delivered: string | Buffer;
}

export interface EngineConfig {
  mode: SimulatorMode;
  credentials: SimulatorCredentials;
  /** KORE: what signs callbacks now (the webhook secrets' newest active one). */
  signingSecret: () => string;
  timing: Required<SimulatorTiming>;
  callbackRetries: number;
  maxStoredCommands: number;
  supersimUrl: string;
  wirelessUrl: string;
  /** Shared with the HTTP server, which exists (and knows the port) before the engine. */
  stats: Stats;
  timers: Timers;
}

export interface FleetChanges {
  uniqueName?: string;
  dataLimit?: number;
  ipCommandsUrl?: string | null;
  ipCommandsMethod?: HttpMethod;
  smsCommandsUrl?: string | null;
  smsCommandsMethod?: HttpMethod;
}

function optionalUrl(name: string, value: string | null | undefined): string | null {
  return value === undefined || value === null || value === '' ? null : absoluteUrl(name, value);
}

/** State and behaviour of the simulated network: SIMs, fleets, commands and their lifecycles. */
export class Engine implements DeviceHost {
  readonly stats: Stats;
  readonly timers: Timers;
  readonly ip: CommandStore<IpCommand, IpEntry>;
  readonly sms: CommandStore<SmsCommand, SmsEntry>;
  readonly wireless: CommandStore<WirelessCommand, WirelessEntry>;
  /** Fleets never expire; a store gives them the same paging as the commands. */
  readonly fleets = new CommandStore<Fleet>(Infinity);
  readonly devices: SimulatedDevice[] = [];
  /** Every SIM of both APIs, in the order they were added: the SIM lists page through it. */
  readonly simOrder = new CommandStore<SimulatedDevice>(Infinity);
  readonly defaultFleet: Fleet;
  readonly #resources: ResourceFactory;
  readonly #callbacks: CallbackSender;
  readonly #carrier: Carrier;
  /** SIMs by SID and by unique name. */
  readonly #sims = new Map<string, SimulatedDevice>();
  readonly #fleetNames = new Map<string, Fleet>();

  constructor(private readonly config: EngineConfig) {
    this.stats = config.stats;
    this.timers = config.timers;
    this.ip = new CommandStore(config.maxStoredCommands);
    this.sms = new CommandStore(config.maxStoredCommands);
    this.wireless = new CommandStore(config.maxStoredCommands);
    this.#resources = new ResourceFactory(config.credentials.accountSid, config.supersimUrl, config.wirelessUrl);
    this.#callbacks = new CallbackSender({
      mode: config.mode,
      credentials: config.credentials,
      signingSecret: config.signingSecret,
      retries: config.callbackRetries,
      retryMs: config.timing.callbackRetryMs,
      stats: this.stats,
      timers: this.timers,
    });
    this.#carrier = new Carrier((device, devicePort, bytes) => this.#datagramFromDevice(device, devicePort, bytes));
    this.defaultFleet = this.addFleet({ uniqueName: DEFAULT_FLEET_NAME });
  }

  start(): Promise<void> {
    return this.#carrier.start();
  }

  get carrierPort(): number {
    return this.#carrier.port;
  }

  // ---- SIMs and fleets ------------------------------------------------------------------------

  addSim(options: SimulatedSimOptions): SimulatedDevice {
    if (this.timers.closed) throw new Error('the simulator was closed');
    const uniqueName = options.uniqueName;
    if (typeof uniqueName !== 'string' || uniqueName === '') throw new TypeError('a simulated SIM needs a uniqueName');
    if (this.#sims.has(uniqueName)) throw new Error(`a SIM named ${uniqueName} already exists`);
    const api = options.api ?? 'supersim';
    if (api !== 'supersim' && api !== 'wireless') throw new TypeError(`api must be 'supersim' or 'wireless', got ${String(api)}`);
    // 'inactive' of a Wireless SIM is taken as the Wireless word for it, so options can vary statuses alike.
    const status = api === 'wireless' && options.status === 'inactive' ? 'suspended' : (options.status ?? 'active');
    if (!SIM_STATUSES[api].includes(status)) throw new TypeError(`status of a ${api} SIM must be one of ${SIM_STATUSES[api].join(', ')}, got ${status}`);
    const fleet = options.fleet === undefined ? this.defaultFleet : this.findFleet(options.fleet);
    if (fleet === undefined) throw new Error(`unknown fleet ${options.fleet}`);
    const n = this.devices.length + 2;
    const callbackUrl = optionalUrl('commandsCallbackUrl', options.commandsCallbackUrl);
    const device = new SimulatedDevice(this, {
      sid: newSid(api === 'wireless' ? 'DE' : 'HS'),
      uniqueName,
      iccid: options.iccid ?? newIccid(),
      api,
      status,
      attached: options.attached ?? true,
      fleetSid: fleet.sid,
      // 100.64.0.1 is the carrier's own address; devices get the ones after it.
      deviceIp: `100.64.${n >> 8}.${n & 255}`,
      commandsCallback: { url: callbackUrl, method: options.commandsCallbackMethod ?? 'POST' },
    });
    // Checked (and started) before the SIM exists anywhere, so a bad schedule leaves nothing behind.
    if (options.sleep !== undefined) device.sleep(options.sleep);
    this.devices.push(device);
    this.simOrder.add({ seq: this.simOrder.nextSeq(), resource: device, deleted: false });
    this.#sims.set(device.sid, device);
    this.#sims.set(uniqueName, device);
    return device;
  }

  findSim(sidOrName: string): SimulatedDevice | undefined {
    return this.#sims.get(sidOrName);
  }

  addFleet(options: SimulatedFleetOptions): Fleet {
    const uniqueName = options.uniqueName ?? null;
    const existing = uniqueName === null ? undefined : this.#fleetNames.get(uniqueName);
    if (existing !== undefined) {
      // The default fleet exists from the start: options naming it configure it.
      this.updateFleet(existing, options);
      return existing;
    }
    const init: FleetInit = {
      uniqueName,
      ipCommandsUrl: optionalUrl('ipCommandsUrl', options.ipCommandsUrl),
      ipCommandsMethod: options.ipCommandsMethod ?? 'POST',
      smsCommandsUrl: optionalUrl('smsCommandsUrl', options.smsCommandsUrl),
      smsCommandsMethod: options.smsCommandsMethod ?? 'POST',
    };
    const fleet = this.#resources.fleet(init);
    this.fleets.add({ seq: this.fleets.nextSeq(), resource: fleet, deleted: false });
    if (uniqueName !== null) this.#fleetNames.set(uniqueName, fleet);
    return fleet;
  }

  findFleet(sidOrName: string): Fleet | undefined {
    return this.fleets.get(sidOrName)?.resource ?? this.#fleetNames.get(sidOrName);
  }

  /** Validates everything first, so a bad change leaves the fleet untouched. */
  updateFleet(fleet: Fleet, changes: FleetChanges): void {
    const ipUrl = changes.ipCommandsUrl === undefined ? undefined : optionalUrl('IpCommandsUrl', changes.ipCommandsUrl);
    const smsUrl = changes.smsCommandsUrl === undefined ? undefined : optionalUrl('SmsCommandsUrl', changes.smsCommandsUrl);
    if (changes.uniqueName !== undefined && changes.uniqueName !== fleet.unique_name) {
      if (this.#fleetNames.has(changes.uniqueName)) throw badRequest(`Invalid UniqueName: a fleet named ${changes.uniqueName} already exists`);
      if (fleet.unique_name !== null) this.#fleetNames.delete(fleet.unique_name);
      this.#fleetNames.set(changes.uniqueName, fleet);
      fleet.unique_name = changes.uniqueName;
    }
    if (changes.dataLimit !== undefined) fleet.data_limit = changes.dataLimit;
    if (ipUrl !== undefined) fleet.ip_commands_url = ipUrl;
    if (changes.ipCommandsMethod !== undefined) fleet.ip_commands_method = changes.ipCommandsMethod;
    if (smsUrl !== undefined) fleet.sms_commands_url = smsUrl;
    if (changes.smsCommandsMethod !== undefined) fleet.sms_commands_method = changes.smsCommandsMethod;
    fleet.date_updated = new Date().toISOString();
  }

  // ---- commands to SIMs (already validated by the API layer) -----------------------------------

  createIp(device: SimulatedDevice, devicePort: number, payloadType: IpPayloadType, payload: string, bytes: Buffer, callback: CallbackTarget | null): IpCommand {
    const resource = this.#resources.ipCommand(device, 'to_sim', 'queued', devicePort, payloadType, payload, null);
    const entry: IpEntry = { seq: this.ip.nextSeq(), resource, deleted: false, device, callback, bytes };
    this.ip.add(entry);
    this.stats.created.ip++;
    this.timers.set(() => this.#sendIp(entry), this.config.timing.ipSentMs);
    return resource;
  }

  createSms(device: SimulatedDevice, payload: string, callback: CallbackTarget | null): SmsCommand {
    const resource = this.#resources.smsCommand(device, 'to_sim', 'queued', payload);
    const entry: SmsEntry = { seq: this.sms.nextSeq(), resource, deleted: false, device, callback };
    this.sms.add(entry);
    this.stats.created.sms++;
    this.timers.set(() => this.#sendSms('sms', entry, payload), this.config.timing.smsSentMs);
    return resource;
  }

  /** `delivered` builds what reaches the device once the SID is known (IncludeSid). */
  createWireless(device: SimulatedDevice, command: string, mode: WirelessCommandMode, receipt: boolean, delivered: (sid: string) => string | Buffer, callback: CallbackTarget | null): WirelessCommand {
    const resource = this.#resources.wirelessCommand(device, 'to_sim', 'queued', command, mode, receipt);
    const entry: WirelessEntry = { seq: this.wireless.nextSeq(), resource, deleted: false, device, callback, delivered: delivered(resource.sid) };
    this.wireless.add(entry);
    this.stats.created.wireless++;
    this.timers.set(() => this.#sendSms('wireless', entry, entry.delivered), this.config.timing.smsSentMs);
    return resource;
  }

  #sendIp(entry: IpEntry): void {
    const { device, resource, bytes } = entry;
    entry.bytes = null;
    if (!device.attached) {
      this.#setStatus('ip', entry, 'failed', DETACHED_ERROR);
      return;
    }
    resource.device_ip = device[deviceState].deviceIp;
    const localPort = device[expectIp](resource.device_port, resource.sid);
    // Like UDP: nothing listening on that port means the datagram is lost, and the command is still 'sent'.
    if (localPort !== undefined && bytes !== null) this.#carrier.send(bytes, localPort);
    this.#setStatus('ip', entry, 'sent');
  }

  #sendSms(kind: 'sms' | 'wireless', entry: SmsEntry | WirelessEntry, content: string | Buffer): void {
    if (entry.deleted) return;
    if (!entry.device.attached) {
      this.#setStatus(kind, entry, 'failed', DETACHED_ERROR);
      return;
    }
    this.#setStatus(kind, entry, 'sent');
    if (kind === 'sms') {
      entry.device[deliverSms](entry.resource.sid, content as string);
      this.timers.set(() => this.#setStatus(kind, entry, 'delivered'), this.config.timing.smsDeliveredMs);
      return;
    }
    const resource = entry.resource as WirelessCommand;
    entry.device[deliverWireless](resource.sid, content, resource.command_mode);
    if (resource.delivery_receipt_requested) {
      this.timers.set(() => {
        if (!entry.deleted) this.#setStatus(kind, entry, 'delivered');
      }, this.config.timing.smsDeliveredMs);
    }
  }

  #setStatus(kind: CommandKind, entry: CommandEntry<AnyCommand>, status: AnyCommand['status'], error: CommandError | null = null): void {
    ResourceFactory.setStatus(entry.resource, status, error);
    if (entry.callback !== null) {
      void this.#callbacks.send(entry.resource.sid, entry.callback, ResourceFactory.callbackFields(kind, entry.resource, entry.device));
    }
  }

  // ---- commands from SIMs ---------------------------------------------------------------------

  smsFromDevice(device: SimulatedDevice, content: string | Buffer): Promise<SmsCommand | WirelessCommand> {
    if (device.api === 'supersim') {
      if (typeof content !== 'string') return Promise.reject(new TypeError('Super SIM SMS Commands are text only: pass a string'));
      if (characterCount(content) > SUPERSIM_SMS_MAX_CHARS) return Promise.reject(new RangeError(`an SMS carries at most ${SUPERSIM_SMS_MAX_CHARS} characters`));
      const resource = this.#resources.smsCommand(device, 'from_sim', 'received', content);
      this.sms.add({ seq: this.sms.nextSeq(), resource, deleted: false, device, callback: null });
      const fleet = this.#fleetOf(device);
      return this.#reportFromSim('sms', resource, device, fleet.sms_commands_url, fleet.sms_commands_method);
    }
    const binary = typeof content !== 'string';
    if (binary ? content.length > WIRELESS_BINARY_MAX_BYTES : characterCount(content) > WIRELESS_TEXT_MAX_CHARS) {
      return Promise.reject(new RangeError(`a Command carries at most ${WIRELESS_TEXT_MAX_CHARS} characters of text or ${WIRELESS_BINARY_MAX_BYTES} bytes`));
    }
    const command = binary ? content.toString('base64') : content;
    const resource = this.#resources.wirelessCommand(device, 'from_sim', 'received', command, binary ? 'binary' : 'text', false);
    this.wireless.add({ seq: this.wireless.nextSeq(), resource, deleted: false, device, callback: null, delivered: content });
    const target = device[deviceState].commandsCallback;
    return this.#reportFromSim('wireless', resource, device, target.url, target.method);
  }

  #datagramFromDevice(device: SimulatedDevice, devicePort: number, bytes: Buffer): void {
    // The carrier sees datagrams in the order each device socket sent them: match this one to its sender.
    const pending = device[takeOutgoing](devicePort);
    const resource = this.#resources.ipCommand(device, 'from_sim', 'received', devicePort, 'binary', bytes.toString('base64'), device[deviceState].deviceIp);
    this.ip.add({ seq: this.ip.nextSeq(), resource, deleted: false, device, callback: null, bytes: null });
    const fleet = this.#fleetOf(device);
    this.#reportFromSim('ip', resource, device, fleet.ip_commands_url, fleet.ip_commands_method).then(
      (command) => pending?.resolve(command),
      (error: Error) => pending?.reject(error),
    );
  }

  /** Calls the from_sim webhook, if any; resolves with a copy of the resource once the first try is done. */
  async #reportFromSim<R extends AnyCommand>(kind: CommandKind, resource: R, device: SimulatedDevice, url: string | null, method: HttpMethod): Promise<R> {
    if (url !== null) await this.#callbacks.send(resource.sid, { url, method }, ResourceFactory.callbackFields(kind, resource, device));
    return { ...resource };
  }

  #fleetOf(device: SimulatedDevice): Fleet {
    return this.fleets.get(device[deviceState].fleetSid)?.resource ?? this.defaultFleet;
  }

  async close(): Promise<void> {
    this.timers.clear();
    await Promise.all([this.#callbacks.close(), this.#carrier.close(), ...this.devices.map((device) => device[disposeDevice]())]);
  }

  socketBound(device: SimulatedDevice, devicePort: number, localPort: number): void {
    this.#carrier.register(localPort, device, devicePort);
  }
}
