import type { TokenCache } from './auth';
import { ClientConfigError, SecretRedactor, credentialsFor, resolveUrls, urlFieldOf } from './config';
import type { Endpoint, Endpoints, SuperSimClientOptions } from './config';
import { ErrorWriter } from './errors';
import { ConcurrencyLimiter } from './limiter';
import { DEFAULT_RETRY } from './retry';
import { DEFAULT_TIMEOUTS, Transport, hostOf } from './transport';
import type { FormValue, RequestSpec } from './transport';
import type {
  CreateIpCommandParams,
  CreateSmsCommandParams,
  CreateWirelessCommandParams,
  Fleet,
  IpCommand,
  ListIpCommandsFilter,
  ListMeta,
  ListSmsCommandsFilter,
  ListWirelessCommandsFilter,
  Provider,
  SmsCommand,
  TokenResponse,
  UpdateFleetParams,
  WirelessCommand,
} from './types';
import { wordsFor } from './words';

type Api = 'supersim' | 'wireless';

export interface CallOptions {
  /**
   * Gives up while the call is still waiting for a slot or a retry. A request already sent is left to
   * finish, so its outcome is known: an abort never leaves a command half-sent.
   */
  signal?: AbortSignal;
}

/**
 * The largest PageSize each list endpoint documents (Super SIM OpenAPI; the Programmable Wireless
 * Command docs say 100 where its OpenAPI says 1000, so the stricter one).
 */
export const MAX_PAGE_SIZE = { ipCommands: 100, smsCommands: 1000, wirelessCommands: 100 } as const;

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
  readonly #endpoints: Endpoints;
  readonly #transport: Transport;
  readonly #errors: ErrorWriter;
  readonly #tokenCache: TokenCache | undefined;
  readonly #tokenRequestBody: string | undefined;

  constructor(options: SuperSimClientOptions) {
    const urls = resolveUrls(options);
    this.provider = urls.provider;
    this.supersimUrl = urls.supersimUrl;
    this.wirelessUrl = urls.wirelessUrl;
    this.tokenUrl = urls.tokenUrl;
    this.#endpoints = urls.endpoints;
    const limiter = new ConcurrencyLimiter(options.maxInFlight ?? 16, options.maxQueue ?? 10_000);
    const redactor = new SecretRedactor();
    this.#errors = new ErrorWriter(this.provider, redactor, (api) => hostOf(this.#endpoints, api));
    const credentials = credentialsFor(options, redactor, () => this.#fetchToken());
    this.#tokenCache = credentials.tokenCache;
    this.#tokenRequestBody = credentials.tokenRequestBody;
    this.#transport = new Transport({
      endpoints: this.#endpoints,
      auth: credentials.auth,
      errors: this.#errors,
      limiter,
      retry: { ...DEFAULT_RETRY, ...options.retry },
      timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
      dispatcher: options.dispatcher,
    });
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
    return this.#create<IpCommand>('createIpCommand', 'supersim', '/v1/IpCommands', `SIM ${params.sim}`, {
      Sim: params.sim,
      Payload: params.payload,
      DevicePort: params.devicePort,
      PayloadType: params.payloadType,
      CallbackUrl: params.callbackUrl,
      CallbackMethod: params.callbackMethod,
    }, options);
  }

  fetchIpCommand(sid: string, options: CallOptions = {}): Promise<IpCommand> {
    return this.#read<IpCommand>('fetchIpCommand', 'supersim', `/v1/IpCommands/${encodeSegment(sid)}`, undefined, options.signal, `IP Command ${sid}`);
  }

  listIpCommands(filter: ListIpCommandsFilter = {}): AsyncIterableIterator<IpCommand> {
    return this.#list<IpCommand>('listIpCommands', 'supersim', '/v1/IpCommands', 'ip_commands', {
      Sim: filter.sim,
      SimIccid: filter.simIccid,
      Status: filter.status,
      Direction: filter.direction,
      PageSize: pageSizeUpTo(MAX_PAGE_SIZE.ipCommands, filter.pageSize),
    });
  }

  // ---- Super SIM SMS Commands -----------------------------------------------------------------

  createSmsCommand(params: CreateSmsCommandParams, options: CallOptions = {}): Promise<SmsCommand> {
    return this.#create<SmsCommand>('createSmsCommand', 'supersim', '/v1/SmsCommands', `SIM ${params.sim}`, {
      Sim: params.sim,
      Payload: params.payload,
      CallbackUrl: params.callbackUrl,
      CallbackMethod: params.callbackMethod,
    }, options);
  }

  fetchSmsCommand(sid: string, options: CallOptions = {}): Promise<SmsCommand> {
    return this.#read<SmsCommand>('fetchSmsCommand', 'supersim', `/v1/SmsCommands/${encodeSegment(sid)}`, undefined, options.signal, `SMS Command ${sid}`);
  }

  listSmsCommands(filter: ListSmsCommandsFilter = {}): AsyncIterableIterator<SmsCommand> {
    return this.#list<SmsCommand>('listSmsCommands', 'supersim', '/v1/SmsCommands', 'sms_commands', {
      Sim: filter.sim,
      Status: filter.status,
      Direction: filter.direction,
      PageSize: pageSizeUpTo(MAX_PAGE_SIZE.smsCommands, filter.pageSize),
    });
  }

  // ---- Programmable Wireless Commands ---------------------------------------------------------

  createWirelessCommand(params: CreateWirelessCommandParams, options: CallOptions = {}): Promise<WirelessCommand> {
    return this.#create<WirelessCommand>('createWirelessCommand', 'wireless', '/v1/Commands', `SIM ${params.sim}`, {
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
    return this.#read<WirelessCommand>('fetchWirelessCommand', 'wireless', `/v1/Commands/${encodeSegment(sid)}`, undefined, options.signal, `Wireless Command ${sid}`);
  }

  listWirelessCommands(filter: ListWirelessCommandsFilter = {}): AsyncIterableIterator<WirelessCommand> {
    return this.#list<WirelessCommand>('listWirelessCommands', 'wireless', '/v1/Commands', 'commands', {
      Sim: filter.sim,
      Status: filter.status,
      Direction: filter.direction,
      Transport: filter.transport,
      PageSize: pageSizeUpTo(MAX_PAGE_SIZE.wirelessCommands, filter.pageSize),
    });
  }

  async deleteWirelessCommand(sid: string): Promise<void> {
    await this.#call<undefined>({
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
    return this.#read<Fleet>('fetchFleet', 'supersim', `/v1/Fleets/${encodeSegment(sidOrUniqueName)}`, undefined, undefined, `Fleet ${sidOrUniqueName}`);
  }

  updateFleet(sidOrUniqueName: string, params: UpdateFleetParams): Promise<Fleet> {
    return this.#call<Fleet>({
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
    const page = this.#list<Fleet>('verifyCredentials', 'supersim', '/v1/Fleets', 'fleets', { PageSize: 1 });
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
    return { provider: this.provider, supersimUrl: this.supersimUrl, wirelessUrl: this.wirelessUrl, tokenUrl: this.tokenUrl };
  }

  // ---- requests ------------------------------------------------------------------------------

  /** Creates are the requests never sent twice once they may have reached the server. */
  #create<T>(operation: string, api: Api, path: string, subject: string, form: Record<string, FormValue>, options: CallOptions): Promise<T> {
    return this.#call<T>({ operation, method: 'POST', api, path, form, idempotent: false, expectBody: true, authenticate: true, signal: options.signal, subject });
  }

  #read<T>(operation: string, api: Api, path: string, query?: Record<string, FormValue>, signal?: AbortSignal, subject?: string): Promise<T> {
    return this.#call<T>({ operation, method: 'GET', api, path, query, idempotent: true, expectBody: true, authenticate: true, signal, subject });
  }

  async *#list<T>(operation: string, api: Api, path: string, key: string, query: Record<string, FormValue>): AsyncIterableIterator<T> {
    let page = await this.#read<Record<string, unknown>>(operation, api, path, query);
    for (;;) {
      const items = page[key];
      if (!Array.isArray(items)) {
        throw this.#errors.error(`The provider's answer to ${wordsFor(operation).doing} has no "${key}" list: check the ${urlFieldOf(api)} of the account node`, 'invalid-response', { operation, method: 'GET', path }, 'done', 1);
      }
      for (const item of items) yield item as T;
      const meta = page.meta as Partial<ListMeta> | undefined;
      const next = meta?.next_page_url;
      if (typeof next !== 'string' || next === '') return;
      page = await this.#read<Record<string, unknown>>(operation, api, this.#pagePath(operation, api, next));
    }
  }

  /**
   * A next-page URL comes from the server; following it anywhere but the account's own API would let
   * an answer send our credentials to another host.
   */
  #pagePath(operation: string, api: Api, nextPageUrl: string): string {
    const endpoint = this.#endpoints[api] as Endpoint;
    let url: URL;
    try {
      url = new URL(nextPageUrl);
    } catch {
      throw this.#errors.error(`The provider's answer to ${wordsFor(operation).doing} links to a next page that is not a URL`, 'invalid-response', { operation, method: 'GET', path: '' }, 'done', 1);
    }
    if (url.origin !== endpoint.origin || !url.pathname.startsWith(endpoint.basePath + '/')) {
      throw this.#errors.error(
        `The provider's answer to ${wordsFor(operation).doing} links to a next page outside the configured API (${endpoint.origin}${endpoint.basePath}); not followed`,
        'invalid-response',
        { operation, method: 'GET', path: url.pathname },
        'done',
        1,
      );
    }
    return url.pathname.slice(endpoint.basePath.length) + url.search;
  }

  async #fetchToken(): Promise<TokenResponse> {
    // Not through #call: requests holding every slot may be the ones waiting for this token.
    const answer = await this.#transport.attempt<Partial<TokenResponse>>({
      operation: 'fetchToken',
      method: 'POST',
      api: 'token',
      path: '',
      body: this.#tokenRequestBody,
      // Asking for a token twice only yields two tokens: harmless, so retry it like a read.
      idempotent: true,
      expectBody: true,
      authenticate: false,
    });
    if (typeof answer.access_token !== 'string' || answer.access_token === '' || typeof answer.expires_in !== 'number') {
      throw this.#errors.error('The token endpoint answered without access_token and expires_in: check the Token URL of the account node', 'invalid-response', { operation: 'fetchToken', method: 'POST', path: '' }, 'done', 1);
    }
    return answer as TokenResponse;
  }

  #call<T>(spec: RequestSpec): Promise<T> {
    return this.#transport.call<T>(spec);
  }
}

/** The caller's page size, never above what the endpoint documents (more is refused or ignored). */
function pageSizeUpTo(max: number, requested: number | undefined): number | undefined {
  return requested === undefined ? undefined : Math.min(requested, max);
}

function encodeSegment(value: string): string {
  if (typeof value !== 'string' || value === '') throw new ClientConfigError('sid', 'a SID or unique name is required');
  return encodeURIComponent(value);
}

