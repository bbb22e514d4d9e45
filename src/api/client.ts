import type { TokenCache } from './auth';
import { SecretRedactor, credentialsFor, resolveUrls } from './config';
import type { SuperSimClientOptions } from './config';
import { ErrorWriter } from './errors';
import { ConcurrencyLimiter } from './limiter';
import { MAX_PAGE_SIZE, Requests, encodeSegment, fetchToken, pageSizeUpTo } from './requests';
import type { CallOptions } from './requests';
import { DEFAULT_RETRY } from './retry';
import { fetchSim, fetchWirelessSim, listFleets, listSims, listWirelessSims, updateWirelessSim } from './sims';
import { DEFAULT_TIMEOUTS, Transport, hostOf } from './transport';
import type {
  CreateIpCommandParams,
  CreateSmsCommandParams,
  CreateWebhookSecretParams,
  CreateWirelessCommandParams,
  CreatedWebhookSecret,
  Fleet,
  IpCommand,
  ListFleetsFilter,
  ListIpCommandsFilter,
  ListSimsFilter,
  ListSmsCommandsFilter,
  ListWebhookSecretsFilter,
  ListWirelessCommandsFilter,
  ListWirelessSimsFilter,
  Provider,
  Sim,
  SmsCommand,
  UpdateFleetParams,
  UpdateWirelessSimParams,
  WebhookSecret,
  WirelessCommand,
  WirelessSim,
} from './types';
import { createWebhookSecret, listWebhookSecrets } from './webhook-secrets';
import type { WebhookAccount } from './webhook-secrets';

export type { CallOptions } from './requests';
export { MAX_PAGE_SIZE } from './requests';

/**
 * One client per account: one connection pool, one token cache, one queue, shared by every node that
 * uses the account. It never sends a create twice unless the server cannot have acted on the first
 * (a 429, a 401 with a stale token, or a connection that failed before the request was written).
 */
export class SuperSimClient {
  readonly provider: Provider;
  readonly supersimUrl: string;
  readonly wirelessUrl: string;
  readonly tokenUrl: string | undefined;
  /** KORE's webhook-secrets API; undefined for Twilio, or when it must be set (see the options). */
  readonly webhookUrl: string | undefined;
  readonly #transport: Transport;
  readonly #requests: Requests;
  readonly #webhookAccount: WebhookAccount;
  readonly #tokenCache: TokenCache | undefined;

  constructor(options: SuperSimClientOptions) {
    const urls = resolveUrls(options);
    this.provider = urls.provider;
    this.supersimUrl = urls.supersimUrl;
    this.wirelessUrl = urls.wirelessUrl;
    this.tokenUrl = urls.tokenUrl;
    this.webhookUrl = urls.webhookUrl;
    const endpoints = urls.endpoints;
    const limiter = new ConcurrencyLimiter(options.maxInFlight ?? 16, options.maxQueue ?? 10_000);
    const redactor = new SecretRedactor();
    const errors = new ErrorWriter(this.provider, redactor, (api) => hostOf(endpoints, api));
    const credentials = credentialsFor(options, redactor, () => fetchToken(this.#transport, errors, credentials.tokenRequestBody));
    this.#tokenCache = credentials.tokenCache;
    this.#transport = new Transport({
      endpoints,
      auth: credentials.auth,
      errors,
      limiter,
      retry: { ...DEFAULT_RETRY, ...options.retry },
      timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
      dispatcher: options.dispatcher,
    });
    this.#requests = new Requests(this.#transport, errors, endpoints);
    this.#webhookAccount = { provider: this.provider, configured: urls.webhookUrl !== undefined, redactor };
  }

  /** Requests being sent now, and waiting for a slot. */
  get inFlight(): number {
    return this.#transport.inFlight;
  }

  get queued(): number {
    return this.#transport.queued;
  }

  /** Token requests made so far (KORE); 0 for Twilio. */
  get tokenFetches(): number {
    return this.#tokenCache?.fetches ?? 0;
  }

  get closed(): boolean {
    return this.#transport.closed;
  }

  // ---- Super SIM IP Commands ------------------------------------------------------------------

  createIpCommand(params: CreateIpCommandParams, options: CallOptions = {}): Promise<IpCommand> {
    return this.#requests.create<IpCommand>('createIpCommand', 'supersim', '/v1/IpCommands', `SIM ${params.sim}`, {
      Sim: params.sim,
      Payload: params.payload,
      DevicePort: params.devicePort,
      PayloadType: params.payloadType,
      CallbackUrl: params.callbackUrl,
      CallbackMethod: params.callbackMethod,
    }, options);
  }

  fetchIpCommand(sid: string, options: CallOptions = {}): Promise<IpCommand> {
    return this.#requests.read<IpCommand>('fetchIpCommand', 'supersim', `/v1/IpCommands/${encodeSegment(sid)}`, undefined, options.signal, `IP Command ${sid}`);
  }

  listIpCommands(filter: ListIpCommandsFilter = {}, options: CallOptions = {}): AsyncIterableIterator<IpCommand> {
    return this.#requests.list<IpCommand>({
      operation: 'listIpCommands',
      api: 'supersim',
      path: '/v1/IpCommands',
      key: 'ip_commands',
      query: {
        Sim: filter.sim,
        SimIccid: filter.simIccid,
        Status: filter.status,
        Direction: filter.direction,
        PageSize: pageSizeUpTo(MAX_PAGE_SIZE.ipCommands, filter.pageSize),
      },
      signal: options.signal,
    });
  }

  // ---- Super SIM SMS Commands -----------------------------------------------------------------

  createSmsCommand(params: CreateSmsCommandParams, options: CallOptions = {}): Promise<SmsCommand> {
    return this.#requests.create<SmsCommand>('createSmsCommand', 'supersim', '/v1/SmsCommands', `SIM ${params.sim}`, {
      Sim: params.sim,
      Payload: params.payload,
      CallbackUrl: params.callbackUrl,
      CallbackMethod: params.callbackMethod,
    }, options);
  }

  fetchSmsCommand(sid: string, options: CallOptions = {}): Promise<SmsCommand> {
    return this.#requests.read<SmsCommand>('fetchSmsCommand', 'supersim', `/v1/SmsCommands/${encodeSegment(sid)}`, undefined, options.signal, `SMS Command ${sid}`);
  }

  listSmsCommands(filter: ListSmsCommandsFilter = {}, options: CallOptions = {}): AsyncIterableIterator<SmsCommand> {
    return this.#requests.list<SmsCommand>({
      operation: 'listSmsCommands',
      api: 'supersim',
      path: '/v1/SmsCommands',
      key: 'sms_commands',
      query: {
        Sim: filter.sim,
        Status: filter.status,
        Direction: filter.direction,
        PageSize: pageSizeUpTo(MAX_PAGE_SIZE.smsCommands, filter.pageSize),
      },
      signal: options.signal,
    });
  }

  // ---- Programmable Wireless Commands ---------------------------------------------------------

  createWirelessCommand(params: CreateWirelessCommandParams, options: CallOptions = {}): Promise<WirelessCommand> {
    return this.#requests.create<WirelessCommand>('createWirelessCommand', 'wireless', '/v1/Commands', `SIM ${params.sim}`, {
      Command: params.command,
      Sim: params.sim,
      CommandMode: params.commandMode,
      IncludeSid: params.includeSid,
      DeliveryReceiptRequested: params.deliveryReceiptRequested,
      CallbackUrl: params.callbackUrl,
      CallbackMethod: params.callbackMethod,
    }, options);
  }

  fetchWirelessCommand(sid: string, options: CallOptions = {}): Promise<WirelessCommand> {
    return this.#requests.read<WirelessCommand>('fetchWirelessCommand', 'wireless', `/v1/Commands/${encodeSegment(sid)}`, undefined, options.signal, `Wireless Command ${sid}`);
  }

  listWirelessCommands(filter: ListWirelessCommandsFilter = {}, options: CallOptions = {}): AsyncIterableIterator<WirelessCommand> {
    return this.#requests.list<WirelessCommand>({
      operation: 'listWirelessCommands',
      api: 'wireless',
      path: '/v1/Commands',
      key: 'commands',
      query: {
        Sim: filter.sim,
        Status: filter.status,
        Direction: filter.direction,
        Transport: filter.transport,
        PageSize: pageSizeUpTo(MAX_PAGE_SIZE.wirelessCommands, filter.pageSize),
      },
      signal: options.signal,
    });
  }

  async deleteWirelessCommand(sid: string): Promise<void> {
    await this.#requests.call<undefined>({
      operation: 'deleteWirelessCommand',
      method: 'DELETE',
      api: 'wireless',
      path: `/v1/Commands/${encodeSegment(sid)}`,
      subject: `Wireless Command ${sid}`,
      // A second DELETE could only answer 404 for a command the first one removed: not worth hiding.
      idempotent: false,
      expectBody: false,
      authenticate: true,
    });
  }

  // ---- Fleets ---------------------------------------------------------------------------------

  fetchFleet(sidOrUniqueName: string): Promise<Fleet> {
    return this.#requests.read<Fleet>('fetchFleet', 'supersim', `/v1/Fleets/${encodeSegment(sidOrUniqueName)}`, undefined, undefined, `Fleet ${sidOrUniqueName}`);
  }

  updateFleet(sidOrUniqueName: string, params: UpdateFleetParams): Promise<Fleet> {
    return this.#requests.call<Fleet>({
      operation: 'updateFleet',
      method: 'POST',
      api: 'supersim',
      path: `/v1/Fleets/${encodeSegment(sidOrUniqueName)}`,
      subject: `Fleet ${sidOrUniqueName}`,
      form: {
        IpCommandsUrl: params.ipCommandsUrl,
        IpCommandsMethod: params.ipCommandsMethod,
        SmsCommandsUrl: params.smsCommandsUrl,
        SmsCommandsMethod: params.smsCommandsMethod,
      },
      // Setting the same properties twice leaves the fleet as once.
      idempotent: true,
      expectBody: true,
      authenticate: true,
    });
  }

  // ---- SIMs and Fleets (sims.ts) -------------------------------------------------------------

  /** Super SIMs, filtered by Fleet (SID or unique name), status and ICCID, page by page. */
  listSims(filter: ListSimsFilter = {}, options: CallOptions = {}): AsyncIterableIterator<Sim> {
    return listSims(this.#requests, filter, options);
  }

  fetchSim(sidOrUniqueName: string, options: CallOptions = {}): Promise<Sim> {
    return fetchSim(this.#requests, sidOrUniqueName, options);
  }

  listFleets(filter: ListFleetsFilter = {}, options: CallOptions = {}): AsyncIterableIterator<Fleet> {
    return listFleets(this.#requests, filter, options);
  }

  listWirelessSims(filter: ListWirelessSimsFilter = {}, options: CallOptions = {}): AsyncIterableIterator<WirelessSim> {
    return listWirelessSims(this.#requests, filter, options);
  }

  fetchWirelessSim(sidOrUniqueName: string, options: CallOptions = {}): Promise<WirelessSim> {
    return fetchWirelessSim(this.#requests, sidOrUniqueName, options);
  }

  /** Points the Commands a Wireless SIM sends at a URL (empty clears it). */
  updateWirelessSim(sidOrUniqueName: string, params: UpdateWirelessSimParams, options: CallOptions = {}): Promise<WirelessSim> {
    return updateWirelessSim(this.#requests, sidOrUniqueName, params, options);
  }

  // ---- KORE webhook secrets (webhook-secrets.ts) ----------------------------------------------

  /** KORE only. The answer is the one time the secret's value is shown; this client redacts it from then on. */
  createWebhookSecret(params: CreateWebhookSecretParams, options: CallOptions = {}): Promise<CreatedWebhookSecret> {
    return createWebhookSecret(this.#requests, this.#webhookAccount, params, options);
  }

  /** KORE only: a Twilio account's first next() rejects with a ClientConfigError naming the provider. */
  listWebhookSecrets(filter: ListWebhookSecretsFilter = {}, options: CallOptions = {}): AsyncIterableIterator<WebhookSecret> {
    return listWebhookSecrets(this.#requests, this.#webhookAccount, filter, options);
  }

  // ---- Account ---------------------------------------------------------------------------------

  /**
   * Proves the credentials work with the cheapest call there is: a fresh token for KORE, a one-item
   * read for Twilio. Throws the ApiError that says why not.
   */
  async verifyCredentials(): Promise<void> {
    if (this.#tokenCache) {
      this.#transport.assertOpen('verifyCredentials');
      await this.#tokenCache.refreshNow();
      return;
    }
    const page = this.#requests.list<Fleet>({ operation: 'verifyCredentials', api: 'supersim', path: '/v1/Fleets', key: 'fleets', query: { PageSize: 1 } });
    await page.next();
    await page.return?.(undefined);
  }

  /**
   * Stops taking requests, fails the queued ones and any retry still waiting, lets requests already
   * on the wire finish, then closes the pools (never a dispatcher given in the options). Safe to call
   * more than once.
   */
  close(): Promise<void> {
    return this.#transport.close();
  }

  /** As close(), but also aborts requests on the wire: their outcome is unknown (effect `unknown`). */
  destroy(): Promise<void> {
    return this.#transport.destroy();
  }

  /** Never shows credentials, whatever inspects the client. */
  toString(): string {
    return `SuperSimClient(${this.provider}, ${this.supersimUrl})`;
  }

  toJSON(): Record<string, unknown> {
    return { provider: this.provider, supersimUrl: this.supersimUrl, wirelessUrl: this.wirelessUrl, tokenUrl: this.tokenUrl, webhookUrl: this.webhookUrl };
  }
}
