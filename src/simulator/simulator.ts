import type { Fleet, IpCommand, SmsCommand, WirelessCommand } from '../api';
import { createApi } from './api';
import { AuthGate } from './auth';
import { createControl } from './control';
import type { SimulatedDevice } from './device';
import { Engine } from './engine';
import { FaultInjector } from './faults';
import { WebhookSecrets } from './secrets';
import type { Reply } from './reply';
import { ApiServer } from './server';
import type { ApiRequest } from './server';
import { Stats } from './stats';
import { Timers } from './timers';
import type { SimulatedSimOptions, SimulatorCredentials, SimulatorMode, SimulatorOptions, SimulatorStats, SimulatorTiming } from './types';

export const DEFAULT_ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';

const DEFAULT_TIMING: Required<SimulatorTiming> = { ipSentMs: 50, smsSentMs: 50, smsDeliveredMs: 100, callbackRetryMs: 200 };

function nonNegative(name: string, value: number): number {
  if (!(value >= 0)) throw new RangeError(`${name} must be a number >= 0, got ${value}`);
  return value;
}

interface Parts {
  mode: SimulatorMode;
  port: number;
  credentials: SimulatorCredentials;
  faults: FaultInjector;
  engine: Engine;
  auth: AuthGate;
  server: ApiServer;
  webhookSecrets: WebhookSecrets;
}

/**
 * The Super SIM and Programmable Wireless APIs, the KORE token endpoint and simulated devices, on
 * 127.0.0.1: for tests, the demo and users without a SIM.
 */
export class Simulator {
  readonly mode: SimulatorMode;
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly baseUrl: string;
  /** API paths `${supersimUrl}/v1/IpCommands` etc. */
  readonly supersimUrl: string;
  /** `${wirelessUrl}/v1/Commands` */
  readonly wirelessUrl: string;
  /** KORE only; answers 404 in twilio mode. */
  readonly tokenUrl: string;
  /** KORE's webhook-secrets API: `${webhookUrl}/v1/secrets` (KORE only; 404 in twilio mode). */
  readonly webhookUrl: string;
  /**
   * `${baseUrl}/simulator`: POST `${controlUrl}/sims/{unique name or SID}/detach` (optionally
   * `?for=30s`) or `/attach` answers `{ sim, sid, attached }`. No credentials: 127.0.0.1 only.
   */
  readonly controlUrl: string;
  readonly credentials: Readonly<SimulatorCredentials>;
  readonly faults: FaultInjector;
  readonly stats: SimulatorStats;
  readonly #engine: Engine;
  readonly #auth: AuthGate;
  readonly #server: ApiServer;
  readonly #webhookSecrets: WebhookSecrets;
  #closing: Promise<void> | null = null;

  private constructor(parts: Parts) {
    this.mode = parts.mode;
    this.port = parts.port;
    this.baseUrl = `http://127.0.0.1:${parts.port}`;
    this.supersimUrl = `${this.baseUrl}/supersim`;
    this.wirelessUrl = `${this.baseUrl}/wireless`;
    this.tokenUrl = `${this.baseUrl}/api-services/v1/auth/token`;
    this.webhookUrl = `${this.baseUrl}/webhook`;
    this.controlUrl = `${this.baseUrl}/simulator`;
    this.credentials = parts.credentials;
    this.faults = parts.faults;
    this.stats = parts.engine.stats;
    this.#engine = parts.engine;
    this.#auth = parts.auth;
    this.#server = parts.server;
    this.#webhookSecrets = parts.webhookSecrets;
  }

  static async start(options: SimulatorOptions = {}): Promise<Simulator> {
    const mode = options.mode ?? 'kore';
    if (mode !== 'kore' && mode !== 'twilio') throw new TypeError(`mode must be 'kore' or 'twilio', got ${String(mode)}`);
    const credentials: SimulatorCredentials = Object.freeze({
      clientId: options.clientId ?? 'sim-client-id',
      clientSecret: options.clientSecret ?? 'sim-client-secret',
      accountSid: options.accountSid ?? DEFAULT_ACCOUNT_SID,
      authToken: options.authToken ?? 'sim-auth-token',
      webhookSecret: options.webhookSecret ?? 'sim-webhook-secret',
    });
    const timing = { ...DEFAULT_TIMING, ...options.timing };
    for (const [name, value] of Object.entries(timing)) nonNegative(`timing.${name}`, value);
    const callbackRetries = nonNegative('callbackRetries', options.callbackRetries ?? 2);
    const maxStoredCommands = options.maxStoredCommands ?? 100_000;
    if (!(maxStoredCommands >= 1)) throw new RangeError(`maxStoredCommands must be >= 1, got ${maxStoredCommands}`);
    const tokenTtlSeconds = nonNegative('tokenTtlSeconds', options.tokenTtlSeconds ?? 3600);

    const stats = new Stats();
    const timers = new Timers();
    const faults = new FaultInjector();
    // Resources carry absolute URLs, so the API is built once the port is known; nothing can reach it before.
    const starting = (): Reply => {
      throw new Error('the simulator is starting');
    };
    let dispatch: (request: ApiRequest) => Reply = starting;
    let control: (request: ApiRequest) => Reply = starting;
    const server = new ApiServer({ mode, stats, faults, timers, dispatch: (request) => dispatch(request), control: (request) => control(request) });
    const port = await server.listen(options.port ?? 0);
    const baseUrl = `http://127.0.0.1:${port}`;
    const supersimUrl = `${baseUrl}/supersim`;
    const wirelessUrl = `${baseUrl}/wireless`;
    const webhookUrl = `${baseUrl}/webhook`;
    const webhookSecrets = new WebhookSecrets(credentials.webhookSecret);
    const signingSecret = (): string => webhookSecrets.signingSecret;
    const engine = new Engine({ mode, credentials, signingSecret, timing, callbackRetries, maxStoredCommands, supersimUrl, wirelessUrl, stats, timers });
    const auth = new AuthGate(mode, credentials, tokenTtlSeconds);
    const simulator = new Simulator({ mode, port, credentials, faults, engine, auth, server, webhookSecrets });
    try {
      await engine.start();
      for (const fleet of options.fleets ?? []) engine.addFleet(fleet);
      for (const sim of options.sims ?? []) engine.addSim(sim);
    } catch (error) {
      await simulator.close();
      throw error;
    }
    dispatch = createApi(engine, auth, { mode, accountSid: credentials.accountSid, supersimUrl, wirelessUrl, webhookUrl, webhookSecrets });
    control = createControl((ref) => engine.findSim(ref));
    return simulator;
  }

  /** Adds a SIM (and the device it sits in); what `sims` in the options does. */
  addSim(options: SimulatedSimOptions): SimulatedDevice {
    return this.#engine.addSim(options);
  }

  /** The SIM with this unique name or SID; throws if there is none. */
  sim(uniqueNameOrSid: string): SimulatedDevice {
    const device = this.#engine.findSim(uniqueNameOrSid);
    if (device === undefined) throw new Error(`no simulated SIM ${uniqueNameOrSid}`);
    return device;
  }

  /**
   * What signs KORE callbacks now: `credentials.webhookSecret` until a secret is created through the
   * webhook-secrets API, that secret from then on ('' when callbacks go unsigned).
   */
  get webhookSecret(): string {
    return this.#webhookSecrets.signingSecret;
  }

  get devices(): readonly SimulatedDevice[] {
    return this.#engine.devices;
  }

  /** The current fleet resource (a copy); the default fleet when omitted. */
  fleet(uniqueNameOrSid?: string): Fleet {
    const fleet = uniqueNameOrSid === undefined ? this.#engine.defaultFleet : this.#engine.findFleet(uniqueNameOrSid);
    if (fleet === undefined) throw new Error(`no simulated fleet ${uniqueNameOrSid}`);
    return { ...fleet };
  }

  /** Stored IP Commands (copies), oldest first. */
  ipCommands(): IpCommand[] {
    return this.#engine.ip.all().map((entry) => ({ ...entry.resource }));
  }

  smsCommands(): SmsCommand[] {
    return this.#engine.sms.all().map((entry) => ({ ...entry.resource }));
  }

  wirelessCommands(): WirelessCommand[] {
    return this.#engine.wireless.all().map((entry) => ({ ...entry.resource }));
  }

  /**
   * How many commands to SIMs (to_sim) of this kind are stored and match `predicate`, e.g. the
   * creates of one payload: createdCount('ip', (c) => c.payload === 'reboot'). Unlike stats.created
   * it counts what is stored now, so past maxStoredCommands the oldest are no longer counted.
   */
  createdCount(kind: 'ip', predicate?: (command: IpCommand) => boolean): number;
  createdCount(kind: 'sms', predicate?: (command: SmsCommand) => boolean): number;
  createdCount(kind: 'wireless', predicate?: (command: WirelessCommand) => boolean): number;
  createdCount(kind: 'ip' | 'sms' | 'wireless', predicate: (command: never) => boolean = () => true): number {
    const store = kind === 'ip' ? this.#engine.ip : kind === 'sms' ? this.#engine.sms : kind === 'wireless' ? this.#engine.wireless : undefined;
    if (store === undefined) throw new TypeError(`kind must be 'ip', 'sms' or 'wireless', got ${String(kind)}`);
    const matches = predicate as (command: IpCommand | SmsCommand | WirelessCommand) => boolean;
    let count = 0;
    for (const entry of store.all()) if (entry.resource.direction === 'to_sim' && matches({ ...entry.resource })) count++;
    return count;
  }

  /** Every KORE token issued so far stops working: the next API call with one gets a 401. */
  revokeTokens(): void {
    this.#auth.revokeAll();
  }

  /** Releases every socket, timer and UDP socket; hung and delayed requests are cut off. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#server.close();
      await this.#engine.close();
    })();
    return this.#closing;
  }
}
