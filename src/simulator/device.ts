import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { HttpMethod, IpCommand, SmsCommand, WirelessCommand, WirelessCommandMode } from '../api';
import { DEVICE_PORT_MAX, DEVICE_PORT_MIN } from '../commands';
import { Attachment } from './attachment';
import type { AttachmentChange, SleepSchedule } from './attachment';
import type { Timers } from './timers';
import type { IpReceiveInfo, ReceivedItem } from './types';

const LOOPBACK = '127.0.0.1';

/** What a device needs from the simulator it belongs to. */
export interface DeviceHost {
  /** The carrier's UDP port: stands for 100.64.0.1, delivers IP Commands and takes what devices send. */
  readonly carrierPort: number;
  /** The simulator's timers: close() cancels a detachFor() or a sleep schedule with them. */
  readonly timers: Timers;
  /** A device socket for `devicePort` now listens at `localPort`: datagrams from there belong to this SIM. */
  socketBound(device: SimulatedDevice, devicePort: number, localPort: number): void;
  smsFromDevice(device: SimulatedDevice, content: string | Buffer): Promise<SmsCommand | WirelessCommand>;
}

/** Settles one datagram the device sent, once the carrier has turned it into a from_sim IP Command. */
export interface OutgoingDatagram {
  resolve(command: IpCommand): void;
  reject(error: Error): void;
}

interface DeviceSocket {
  socket: Socket;
  localPort: number;
  /** SIDs of the IP Commands on their way to this socket, in send order (UDP on loopback keeps it). */
  expected: string[];
  /** What the device sent from this socket and the carrier has not processed yet, in send order. */
  outgoing: OutgoingDatagram[];
}

interface Waiter {
  resolve(item: ReceivedItem): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export type DeviceEvents = {
  ip: [bytes: Buffer, info: IpReceiveInfo];
  sms: [text: string, info: { commandSid: string }];
  wireless: [command: string | Buffer, info: { commandSid: string; mode: WirelessCommandMode }];
  attached: [change: AttachmentChange];
  detached: [change: AttachmentChange];
};

export interface DeviceInit {
  sid: string;
  uniqueName: string;
  iccid: string;
  api: 'supersim' | 'wireless';
  status: string;
  attached: boolean;
  fleetSid: string;
  deviceIp: string;
  commandsCallback: CommandsCallback;
}

/** Where a Wireless SIM's own Commands (from_sim) are reported; url null: nowhere. */
export interface CommandsCallback {
  url: string | null;
  method: HttpMethod;
}

/** What the SIM resources show beside the device's own fields. */
export interface DeviceState {
  fleetSid: string;
  deviceIp: string;
  commandsCallback: CommandsCallback;
  friendlyName: string | null;
  dateCreated: string;
  dateUpdated: string;
}

/** The simulator's hooks into a device; symbols keep them off the public surface. */
export const deviceState = Symbol('deviceState');
export const expectIp = Symbol('expectIp');
export const takeOutgoing = Symbol('takeOutgoing');
export const deliverSms = Symbol('deliverSms');
export const deliverWireless = Symbol('deliverWireless');
export const disposeDevice = Symbol('disposeDevice');

function closedError(): Error {
  return new Error('the simulator was closed');
}

/** A SIM and the device it sits in: real UDP sockets on 127.0.0.1 stand for the device's ports. */
export class SimulatedDevice extends EventEmitter<DeviceEvents> {
  readonly sid: string;
  readonly uniqueName: string;
  readonly iccid: string;
  readonly api: 'supersim' | 'wireless';
  /** Read when a command is created: commands to a SIM neither active nor ready are refused. */
  status: string;
  /** Every datagram, SMS and Command the device received, in order. */
  readonly received: ReceivedItem[] = [];

  readonly [deviceState]: DeviceState;
  readonly #host: DeviceHost;
  readonly #attachment: Attachment;
  readonly #sockets = new Map<number, DeviceSocket>();
  readonly #binding = new Map<number, Promise<{ address: string; port: number }>>();
  #cursor = 0;
  #waiters: Waiter[] = [];
  #closed = false;

  constructor(host: DeviceHost, init: DeviceInit) {
    super();
    this.#host = host;
    this.sid = init.sid;
    this.uniqueName = init.uniqueName;
    this.iccid = init.iccid;
    this.api = init.api;
    this.status = init.status;
    this.#attachment = new Attachment(init.attached, host.timers, (attached, change) => this.emit(attached ? 'attached' : 'detached', change));
    const now = new Date().toISOString();
    this[deviceState] = { fleetSid: init.fleetSid, deviceIp: init.deviceIp, commandsCallback: { ...init.commandsCallback }, friendlyName: null, dateCreated: now, dateUpdated: now };
  }

  /**
   * Read when a command is sent (its send step, after the create): a command to a detached device
   * ends `failed` with error 32001. Setting it is attach() or detach().
   */
  get attached(): boolean {
    return this.#attachment.attached;
  }

  set attached(value: boolean) {
    this.#attachment.set(value);
  }

  /** Wireless SIMs: where the Commands this device sends are reported (a copy); what the SIM update sets. */
  get commandsCallback(): Readonly<CommandsCallback> {
    return { ...this[deviceState].commandsCallback };
  }

  /** The sleep schedule the device follows, or null. */
  get sleepSchedule(): Readonly<Required<SleepSchedule>> | null {
    return this.#attachment.schedule;
  }

  /**
   * Attached from now on, ending any detachFor() or sleep schedule. Emits 'attached' unless it was
   * attached with nothing scheduled (likewise detach() and 'detached').
   */
  attach(): void {
    this.#attachment.set(true);
  }

  /** Detached until attach() (or a new detachFor() or sleep()), ending any schedule. */
  detach(): void {
    this.#attachment.set(false);
  }

  /** Detached now, attached again after ms (unless something else is called first, or the simulator closes). */
  detachFor(ms: number): void {
    this.#attachment.detachFor(ms);
  }

  /**
   * Starts asleep (detached) for asleepMs, then awake (attached) for awakeMs (default asleepMs), and
   * so on until wake(), attach(), detach() or close. Every change emits 'detached' or 'attached' with
   * `{ forMs, sleeping: true }`.
   */
  sleep(schedule: SleepSchedule): void {
    this.#attachment.sleep(schedule);
  }

  /** Ends the sleep schedule (or a detachFor) and stays attached: attach() by its sleepy name. */
  wake(): void {
    this.#attachment.set(true);
  }

  /**
   * Listen for IP Commands sent to `devicePort`: binds a real UDP socket on 127.0.0.1 (an OS-chosen port
   * unless localPort is given) that stands for that port on the device.
   */
  listen(devicePort: number, localPort = 0): Promise<{ address: string; port: number }> {
    if (this.#closed) return Promise.reject(closedError());
    if (!Number.isInteger(devicePort) || devicePort < DEVICE_PORT_MIN || devicePort > DEVICE_PORT_MAX) {
      return Promise.reject(new RangeError(`devicePort must be an integer ${DEVICE_PORT_MIN}-${DEVICE_PORT_MAX}, got ${devicePort}`));
    }
    const existing = this.#binding.get(devicePort);
    if (existing !== undefined) return existing;
    const bound = this.#bind(devicePort, localPort);
    this.#binding.set(devicePort, bound);
    bound.catch(() => this.#binding.delete(devicePort));
    return bound;
  }

  /** Wait for the next received item not yet returned by this method (each item once, in order), rejecting after timeoutMs. */
  nextReceived(timeoutMs = 2000): Promise<ReceivedItem> {
    if (this.#cursor < this.received.length) return Promise.resolve(this.received[this.#cursor++]);
    if (this.#closed) return Promise.reject(closedError());
    return new Promise<ReceivedItem>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(new Error(`${this.uniqueName}: nothing received within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /**
   * The device sends a UDP datagram to the carrier's IP Commands address (from its socket for
   * sourcePort, default the first port it listens on). Resolves with the from_sim IP Command once its
   * callback to the fleet's ip_commands_url was attempted.
   */
  async sendIpCommand(bytes: Buffer | string, sourcePort?: number): Promise<IpCommand> {
    if (this.api !== 'supersim') throw new Error(`${this.uniqueName} is a Programmable Wireless SIM: IP Commands need a Super SIM`);
    const devicePort = sourcePort ?? this.#sockets.keys().next().value;
    if (devicePort === undefined) throw new Error(`${this.uniqueName} listens on no port: call listen(devicePort) first or pass sourcePort`);
    await this.listen(devicePort);
    const entry = this.#sockets.get(devicePort) as DeviceSocket;
    return new Promise<IpCommand>((resolve, reject) => this.#send(entry, bytes, { resolve, reject }));
  }

  /** The device sends an SMS to 000 (Super SIM: text only) or, for a Wireless SIM, to 2936 (text, or binary as a Buffer). */
  sendSms(text: string | Buffer): Promise<SmsCommand | WirelessCommand> {
    if (this.#closed) return Promise.reject(closedError());
    return this.#host.smsFromDevice(this, text);
  }

  /** Pushes the SID of an IP Command about to reach `devicePort`; the local port to send it to, or undefined if nothing listens there. */
  [expectIp](devicePort: number, commandSid: string): number | undefined {
    const entry = this.#sockets.get(devicePort);
    if (entry === undefined) return undefined;
    entry.expected.push(commandSid);
    return entry.localPort;
  }

  [takeOutgoing](devicePort: number): OutgoingDatagram | undefined {
    return this.#sockets.get(devicePort)?.outgoing.shift();
  }

  [deliverSms](commandSid: string, text: string): void {
    this.#receive({ channel: 'sms', bytes: Buffer.from(text, 'utf8'), text, commandSid, at: Date.now() });
    this.emit('sms', text, { commandSid });
  }

  [deliverWireless](commandSid: string, command: string | Buffer, mode: WirelessCommandMode): void {
    const text = typeof command === 'string' ? command : undefined;
    const bytes = typeof command === 'string' ? Buffer.from(command, 'utf8') : command;
    this.#receive({ channel: 'wireless', bytes, text, commandSid, at: Date.now() });
    this.emit('wireless', command, { commandSid, mode });
  }

  async [disposeDevice](): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(closedError());
    }
    this.#waiters = [];
    // A listen() still binding adds its socket after this; wait for it so it is closed too.
    await Promise.allSettled(this.#binding.values());
    const closing: Promise<void>[] = [];
    for (const entry of this.#sockets.values()) {
      for (const pending of entry.outgoing) pending.reject(closedError());
      entry.outgoing = [];
      closing.push(new Promise<void>((resolve) => entry.socket.close(() => resolve())));
    }
    this.#sockets.clear();
    await Promise.all(closing);
  }

  async #bind(devicePort: number, localPort: number): Promise<{ address: string; port: number }> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(localPort, LOOPBACK, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // Late errors (e.g. ICMP port unreachable surfacing on send) must not crash the process.
    socket.on('error', () => undefined);
    const port = socket.address().port;
    if (this.#closed) {
      socket.close();
      throw closedError();
    }
    const entry: DeviceSocket = { socket, localPort: port, expected: [], outgoing: [] };
    this.#sockets.set(devicePort, entry);
    socket.on('message', (bytes, from) => this.#onDatagram(devicePort, entry, bytes, from.address, from.port));
    this.#host.socketBound(this, devicePort, port);
    return { address: LOOPBACK, port };
  }

  #onDatagram(devicePort: number, entry: DeviceSocket, bytes: Buffer, address: string, port: number): void {
    // Only the carrier can reach a device behind the mobile network's NAT.
    if (port !== this.#host.carrierPort || address !== LOOPBACK) return;
    const commandSid = entry.expected.shift() ?? '';
    this.#receive({ channel: 'ip', devicePort, bytes, commandSid, at: Date.now() });
    const reply = (answer: Buffer | string): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        // Nobody awaits the from_sim command a reply becomes, but its place in the queue must be kept.
        this.#send(entry, answer, { resolve: () => undefined, reject: () => undefined }, reject, resolve);
      });
    this.emit('ip', bytes, { devicePort, commandSid, reply });
  }

  /**
   * Sends from a device socket to the carrier. `pending` takes this datagram's place in the socket's
   * queue, which is how the carrier matches what it receives to whoever awaits it.
   */
  #send(entry: DeviceSocket, bytes: Buffer | string, pending: OutgoingDatagram, onError = pending.reject, onSent?: () => void): void {
    if (this.#closed) {
      onError(closedError());
      return;
    }
    entry.outgoing.push(pending);
    const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    entry.socket.send(data, this.#host.carrierPort, LOOPBACK, (error) => {
      if (error) {
        entry.outgoing = entry.outgoing.filter((p) => p !== pending);
        onError(error);
      } else {
        onSent?.();
      }
    });
  }

  #receive(item: ReceivedItem): void {
    this.received.push(item);
    while (this.#waiters.length > 0 && this.#cursor < this.received.length) {
      const waiter = this.#waiters.shift() as Waiter;
      clearTimeout(waiter.timer);
      waiter.resolve(this.received[this.#cursor++]);
    }
  }
}
