import type * as Undici from 'undici';
import type { Dispatcher, Pool } from 'undici';
import { BasicAuthenticator, TokenCache } from './auth';
import type { Authenticator } from './auth';
import { ApiError, SecretRedactor, capitalised, classifyNetworkError, credentialFields, readErrorBody, wordsFor } from './errors';
import type { ApiErrorKind, Effect, NetworkFailure } from './errors';
import { AcquireAbortedError, ConcurrencyLimiter, LimiterClosedError, QueueFullError } from './limiter';
import { DEFAULT_RETRY, backoffDelay, parseRetryAfter, retryDelay } from './retry';
import type { RetryOptions } from './retry';
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
import { MAX_URL_CHARS, trimTrailing } from '../shared/text';

export const DEFAULT_URLS: Readonly<Record<Provider, { supersimUrl: string; wirelessUrl: string; tokenUrl?: string }>> = {
  kore: {
    supersimUrl: 'https://supersim.api.korewireless.com',
    wirelessUrl: 'https://programmable-wireless.api.korewireless.com',
    tokenUrl: 'https://api.korewireless.com/api-services/v1/auth/token',
  },
  twilio: {
    supersimUrl: 'https://supersim.twilio.com',
    wirelessUrl: 'https://wireless.twilio.com',
  },
};

export interface ClientTimeouts {
  /** To open a connection (TCP + TLS). */
  connectMs: number;
  /** From the request written to the answer's headers. */
  headersMs: number;
  /** Between two chunks of the answer's body. */
  bodyMs: number;
}

export const DEFAULT_TIMEOUTS: ClientTimeouts = { connectMs: 10_000, headersMs: 30_000, bodyMs: 30_000 };

export interface SuperSimClientOptions {
  provider: Provider;
  /** KORE OAuth2 client credentials. */
  clientId?: string;
  clientSecret?: string;
  /** Twilio Account SID and Auth Token. */
  accountSid?: string;
  authToken?: string;
  /** Blank or undefined means the provider's default. */
  supersimUrl?: string;
  wirelessUrl?: string;
  tokenUrl?: string;
  /** Requests of this account in flight at once; the rest wait in the queue. */
  maxInFlight?: number;
  /** Requests that may wait; past it a call fails at once. */
  maxQueue?: number;
  retry?: Partial<RetryOptions>;
  timeouts?: Partial<ClientTimeouts>;
  /** Refresh a KORE token this long before it expires (less for short-lived tokens). */
  tokenRefreshMarginMs?: number;
}

export class ClientConfigError extends Error {
  override readonly name = 'ClientConfigError';
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

type Api = 'supersim' | 'wireless';
type FormValue = string | number | boolean | undefined;

interface RequestSpec {
  operation: string;
  method: 'GET' | 'POST' | 'DELETE';
  api: Api | 'token';
  /** Path under the API's base path; query included when following a page URL. */
  path: string;
  query?: Record<string, FormValue>;
  form?: Record<string, FormValue>;
  /** A body already encoded (the token request's). */
  body?: string;
  /** True when doing it twice is harmless, so it may be retried after the server may have acted. */
  idempotent: boolean;
  expectBody: boolean;
  /** Token requests carry their own credentials and must not ask for a token themselves. */
  authenticate: boolean;
  /** Cancels the call while it waits (queue, retry pause); never a request already on the wire. */
  signal?: AbortSignal;
  /** What a 404 says is missing, in words: "SIM thermostat", "Fleet HF…". */
  subject?: string;
}

export interface CallOptions {
  /**
   * Gives up while the call is still waiting for a slot or a retry. A request already sent is left to
   * finish, so its outcome is known: an abort never leaves a command half-sent.
   */
  signal?: AbortSignal;
}

/** What an error names of the request it is about. */
interface RequestRef {
  operation: string;
  method: string;
  path: string;
}

interface Endpoint {
  origin: string;
  basePath: string;
}

const USER_AGENT = 'node-red-contrib-supersim';

let undiciModule: typeof Undici | undefined;

/**
 * undici is most of what this package loads; loading it with the first client rather than with the
 * node files keeps Node-RED's start-up as fast with the package installed as without it.
 */
function undici(): typeof Undici {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  undiciModule ??= require('undici') as typeof Undici;
  return undiciModule;
}
const MAX_ERROR_SNIPPET = 200;

/** Answers longer than this are not read: no documented answer comes near it, and memory stays bounded. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

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
  readonly #endpoints: Record<Api | 'token', Endpoint | undefined>;
  readonly #poolOptions: Pool.Options;
  readonly #pools = new Map<string, Pool>();
  readonly #limiter: ConcurrencyLimiter;
  readonly #retry: RetryOptions;
  readonly #auth: Authenticator;
  readonly #tokenCache: TokenCache | undefined;
  readonly #tokenRequestBody: string | undefined;
  readonly #redactor = new SecretRedactor();
  readonly #sleeps = new Set<{ timer: NodeJS.Timeout; reject: (err: Error) => void }>();
  #closed = false;

  constructor(options: SuperSimClientOptions) {
    const provider = options.provider;
    if (provider !== 'kore' && provider !== 'twilio') {
      throw new ClientConfigError('provider', `The Provider must be KORE Wireless or Twilio; got ${JSON.stringify(provider)}`);
    }
    this.provider = provider;
    const defaults = DEFAULT_URLS[provider];
    this.supersimUrl = pickUrl('supersimUrl', options.supersimUrl, defaults.supersimUrl);
    this.wirelessUrl = pickUrl('wirelessUrl', options.wirelessUrl, defaults.wirelessUrl);
    this.tokenUrl = provider === 'kore' ? pickUrl('tokenUrl', options.tokenUrl, defaults.tokenUrl as string) : undefined;
    this.#endpoints = {
      supersim: endpointOf(this.supersimUrl),
      wireless: endpointOf(this.wirelessUrl),
      token: this.tokenUrl === undefined ? undefined : endpointOf(this.tokenUrl),
    };

    const maxInFlight = options.maxInFlight ?? 16;
    this.#limiter = new ConcurrencyLimiter(maxInFlight, options.maxQueue ?? 10_000);
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.#poolOptions = {
      // One socket per request in flight, plus one for the token request that may run beside them.
      connections: maxInFlight + 1,
      pipelining: 1,
      connect: { timeout: timeouts.connectMs },
      headersTimeout: timeouts.headersMs,
      bodyTimeout: timeouts.bodyMs,
    };

    if (provider === 'kore') {
      const clientId = requireCredential('clientId', options.clientId, 'KORE accounts need a Client ID');
      const clientSecret = requireCredential('clientSecret', options.clientSecret, 'KORE accounts need a Client Secret');
      this.#redactor.addWithEncodings(clientSecret);
      this.#tokenRequestBody = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
      }).toString();
      this.#redactor.add(this.#tokenRequestBody);
      this.#tokenCache = new TokenCache(() => this.#fetchToken(), {
        refreshMarginMs: options.tokenRefreshMarginMs ?? 60_000,
        onToken: (token) => this.#redactor.add(token),
        // Old tokens stay redacted: an error may still quote one after it was replaced.
      });
      this.#auth = this.#tokenCache;
    } else {
      const accountSid = requireCredential('accountSid', options.accountSid, 'Twilio accounts need an Account SID');
      const authToken = requireCredential('authToken', options.authToken, 'Twilio accounts need an Auth Token');
      this.#redactor.addWithEncodings(authToken);
      const basic = new BasicAuthenticator(accountSid, authToken);
      this.#redactor.add(basic.headerValue.slice('Basic '.length));
      this.#auth = basic;
    }
  }

  /** Requests being sent now, and waiting for a slot. */
  get inFlight(): number {
    return this.#limiter.inFlight;
  }

  get queued(): number {
    return this.#limiter.queued;
  }

  /** Token requests made so far (KORE); 0 for Twilio. */
  get tokenFetches(): number {
    return this.#tokenCache?.fetches ?? 0;
  }

  get closed(): boolean {
    return this.#closed;
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
      this.#assertOpen('verifyCredentials');
      await this.#tokenCache.refreshNow();
      return;
    }
    const page = this.#list<Fleet>('verifyCredentials', 'supersim', '/v1/Fleets', 'fleets', { PageSize: 1 });
    await page.next();
    await page.return?.(undefined);
  }

  /**
   * Stops taking requests, fails the queued ones and any retry still waiting, lets requests already
   * on the wire finish, then closes the pool. Safe to call more than once.
   */
  async close(): Promise<void> {
    this.#beginClose();
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
  }

  /** As close(), but also aborts requests on the wire: their outcome is unknown (effect `maybe`). */
  async destroy(): Promise<void> {
    this.#beginClose();
    await Promise.all([...this.#pools.values()].map((pool) => pool.destroy()));
  }

  #beginClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#limiter.close();
    for (const sleep of this.#sleeps) {
      clearTimeout(sleep.timer);
      sleep.reject(new LimiterClosedError('closed'));
    }
    this.#sleeps.clear();
  }

  /** Never shows credentials, whatever inspects the client. */
  toString(): string {
    return `SuperSimClient(${this.provider}, ${this.supersimUrl})`;
  }

  toJSON(): Record<string, unknown> {
    return { provider: this.provider, supersimUrl: this.supersimUrl, wirelessUrl: this.wirelessUrl, tokenUrl: this.tokenUrl };
  }

  // ---- the one request path -------------------------------------------------------------------

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
        throw this.#error(`The provider's answer to ${wordsFor(operation).doing} has no "${key}" list: check the ${this.#urlField(api)} of the account node`, 'invalid-response', { operation, method: 'GET', path }, 'done', 1);
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
      throw this.#error(`The provider's answer to ${wordsFor(operation).doing} links to a next page that is not a URL`, 'invalid-response', { operation, method: 'GET', path: '' }, 'done', 1);
    }
    if (url.origin !== endpoint.origin || !url.pathname.startsWith(endpoint.basePath + '/')) {
      throw this.#error(
        `The provider's answer to ${wordsFor(operation).doing} links to a next page outside the configured API (${endpoint.origin}${endpoint.basePath}); not followed`,
        'invalid-response',
        { operation, method: 'GET', path: url.pathname },
        'done',
        1,
      );
    }
    return url.pathname.slice(endpoint.basePath.length) + url.search;
  }

  async #call<T>(spec: RequestSpec): Promise<T> {
    this.#assertOpen(spec.operation);
    try {
      const wait = this.#limiter.acquire(spec.signal);
      if (wait) await wait;
    } catch (err) {
      if (err instanceof AcquireAbortedError) throw this.#cancelledError(spec, 0);
      if (err instanceof QueueFullError) {
        throw this.#error(
          `Too many messages at once: ${this.#limiter.maxQueue} requests are already waiting for this account ` +
            `(${this.#limiter.inFlight} in flight), so ${wordsFor(spec.operation).doing} was not sent. Slow the flow down (e.g. a delay node in rate-limit mode).`,
          'queue-full',
          spec,
          'none',
          0,
        );
      }
      throw this.#closedError(spec, 0);
    }
    try {
      return await this.#attempt<T>(spec);
    } finally {
      this.#limiter.release();
    }
  }

  async #attempt<T>(spec: RequestSpec): Promise<T> {
    const endpoint = this.#endpoints[spec.api] as Endpoint;
    const path = endpoint.basePath + spec.path + queryString(spec.query);
    const body = spec.body ?? (spec.form ? formBody(spec.form) : undefined);
    let attempts = 0;
    let reauthenticated = false;

    for (;;) {
      if (spec.signal?.aborted) throw this.#cancelledError(spec, attempts);
      attempts++;
      const headers: Record<string, string> = { accept: 'application/json', 'user-agent': USER_AGENT };
      if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      let authorization = '';
      if (spec.authenticate) {
        const cached = this.#auth.authorization();
        // A header at hand (Basic, a cached token) costs no extra turn of the event loop.
        authorization = typeof cached === 'string' ? cached : await this.#authorize(spec, attempts, cached);
        headers.authorization = authorization;
      }

      let response: Dispatcher.ResponseData;
      try {
        response = await this.#poolFor(endpoint.origin).request({ path, method: spec.method, headers, body });
      } catch (err) {
        const failure = classifyNetworkError(err);
        if (this.#closed) throw this.#closedError(spec, attempts, failure.beforeWrite ? 'none' : 'unknown');
        if ((failure.beforeWrite || spec.idempotent) && attempts < this.#retry.maxAttempts) {
          await this.#pause(spec, attempts, backoffDelay(attempts, this.#retry));
          continue;
        }
        throw this.#networkError(spec, failure, attempts);
      }

      const status = response.statusCode;
      if (status >= 200 && status < 300) {
        try {
          return await this.#readSuccess<T>(spec, response);
        } catch (err) {
          if (err instanceof ApiError) throw err;
          // The same request would bring the same oversized answer: not worth a retry.
          if (err instanceof AnswerTooLargeError) throw this.#tooLargeError(spec, status, attempts);
          const failure = classifyNetworkError(err);
          if (spec.idempotent && attempts < this.#retry.maxAttempts && !this.#closed) {
            await this.#pause(spec, attempts, backoffDelay(attempts, this.#retry));
            continue;
          }
          const words = wordsFor(spec.operation);
          throw this.#error(
            spec.idempotent || words.acted === undefined
              ? `The provider's answer to ${words.doing} could not be read (HTTP ${status}): ${failure.description}`
              : `${capitalised(words.acted)} (HTTP ${status}), but its answer could not be read: ${failure.description}. ` +
                  'It was not sent again (no duplicates): check the command list before resending',
            failure.timeout ? 'timeout' : 'network',
            spec,
            'done',
            attempts,
            { status, networkCode: failure.networkCode },
          );
        }
      }

      let errorBodyTooLarge = false;
      const errorBody = await readCapped(response).catch((err: unknown) => {
        errorBodyTooLarge = err instanceof AnswerTooLargeError;
        return '';
      });
      if (status === 401 && spec.authenticate && !reauthenticated && this.#auth.invalidate(authorization)) {
        // The token went stale (expired early, revoked): the server did nothing, so one more try is safe.
        reauthenticated = true;
        attempts--;
        continue;
      }
      const retryable = status === 429 || (status >= 500 && spec.idempotent);
      if (retryable && attempts < this.#retry.maxAttempts) {
        const retryAfterMs = status === 429 ? parseRetryAfter(response.headers['retry-after']) : undefined;
        await this.#pause(spec, attempts, retryDelay(attempts, retryAfterMs, this.#retry));
        continue;
      }
      throw this.#httpError(spec, status, errorBodyTooLarge ? undefined : errorBody, attempts, response.headers['retry-after']);
    }
  }

  /** One pool per origin: the Super SIM API, the Wireless API and the token endpoint may differ. */
  #poolFor(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (!pool) {
      pool = new (undici().Pool)(origin, this.#poolOptions);
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  async #authorize(spec: RequestSpec, attempts: number, pending: Promise<string>): Promise<string> {
    try {
      return await pending;
    } catch (err) {
      if (this.#closed) throw this.#closedError(spec, attempts);
      const cause = err instanceof ApiError ? err : undefined;
      // The request itself never left: the token is missing, so nothing was sent.
      throw new ApiError(
        `${withoutFullStop(cause ? cause.message : 'Could not get an access token')}. Nothing was sent: ${wordsFor(spec.operation).doing} needs an access token first.`,
        {
          kind: cause?.kind === 'api' ? 'auth' : (cause?.kind ?? 'auth'),
          operation: spec.operation,
          method: spec.method,
          path: spec.path,
          effect: 'none',
          status: cause?.status,
          code: cause?.code,
          apiMessage: cause?.apiMessage,
          moreInfo: cause?.moreInfo,
          networkCode: cause?.networkCode,
          attempts,
        },
      );
    }
  }

  async #fetchToken(): Promise<TokenResponse> {
    // Not through #call: requests holding every slot may be the ones waiting for this token.
    const answer = await this.#attempt<Partial<TokenResponse>>({
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
      throw this.#error('The token endpoint answered without access_token and expires_in: check the Token URL of the account node', 'invalid-response', { operation: 'fetchToken', method: 'POST', path: '' }, 'done', 1);
    }
    return answer as TokenResponse;
  }

  async #readSuccess<T>(spec: RequestSpec, response: Dispatcher.ResponseData): Promise<T> {
    if (!spec.expectBody) {
      await response.body.dump();
      return undefined as T;
    }
    const text = await readCapped(response);
    try {
      return JSON.parse(text) as T;
    } catch {
      const words = wordsFor(spec.operation);
      const acted = spec.idempotent || words.acted === undefined ? '' : ` ${capitalised(words.acted)}, but it was not sent again, so check the command list before resending.`;
      throw this.#error(
        `The provider's answer to ${words.doing} is not JSON (HTTP ${response.statusCode}): check the ${this.#urlField(spec.api)} of the account node.${acted} ` +
          `The answer began: ${this.#snippet(text)}`,
        'invalid-response',
        spec,
        'done',
        1,
        { status: response.statusCode },
      );
    }
  }

  #pause(spec: RequestSpec, attempts: number, ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(entry.timer);
        this.#sleeps.delete(entry);
        reject(this.#cancelledError(spec, attempts));
      };
      const entry = {
        timer: setTimeout(() => {
          this.#sleeps.delete(entry);
          spec.signal?.removeEventListener('abort', onAbort);
          resolve();
        }, ms),
        reject: () => {
          spec.signal?.removeEventListener('abort', onAbort);
          reject(this.#closedError(spec, attempts, 'none'));
        },
      };
      this.#sleeps.add(entry);
      spec.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #cancelledError(spec: RequestRef, attempts: number): ApiError {
    // Only reached between attempts or in the queue: whatever went out before was refused (429) or never sent.
    return this.#error(`${capitalised(wordsFor(spec.operation).doing)} was cancelled before it was sent`, 'cancelled', spec, 'none', attempts);
  }

  #assertOpen(operation: string): void {
    if (this.#closed) {
      throw this.#closedError({ operation, method: '', path: '' }, 0);
    }
  }

  #closedError(spec: RequestRef, attempts: number, effect: Effect = 'none'): ApiError {
    const words = wordsFor(spec.operation);
    const tail = effect === 'none' ? 'it was not sent' : (words.mayHaveActed ?? 'it may have reached the provider');
    return this.#error(`${capitalised(words.doing)} stopped: the account was closed (redeploy or shutdown); ${tail}`, 'closed', spec, effect, attempts);
  }

  #networkError(spec: RequestSpec, failure: NetworkFailure, attempts: number): ApiError {
    const host = new URL(spec.api === 'token' ? (this.tokenUrl as string) : (this.#endpoints[spec.api] as Endpoint).origin).host;
    const words = wordsFor(spec.operation);
    const details = `${failure.description}, ${failure.networkCode}${attempts > 1 ? `, ${attempts} attempts` : ''}`;
    const broke = failure.timeout ? `${host} did not answer in time` : `the connection to ${host} broke`;
    let message: string;
    let effect: Effect;
    if (failure.beforeWrite) {
      effect = 'none';
      // A token request's error is wrapped in one that says nothing was sent.
      const tail = spec.api === 'token' ? '' : ' Nothing was sent.';
      message = `Could not reach ${host}: check the ${this.#urlField(spec.api)} of the account node and that the host is reachable (${details}).${tail}`;
    } else if (spec.idempotent || words.mayHaveActed === undefined) {
      effect = 'unknown';
      message = `${capitalised(broke)} while ${words.doing} (${details}).`;
    } else {
      effect = 'unknown';
      message =
        `${capitalised(words.mayHaveActed)}: ${broke} after the request was sent (${details}). ` +
        'It was not sent again (no duplicates): check the command list before resending.';
    }
    return this.#error(message, failure.timeout ? 'timeout' : 'network', spec, effect, attempts, { networkCode: failure.networkCode });
  }

  /** `bodyText` undefined: the answer was too large to read. */
  #httpError(spec: RequestSpec, status: number, bodyText: string | undefined, attempts: number, retryAfter: string | string[] | undefined): ApiError {
    let parsed: ReturnType<typeof readErrorBody> = {};
    try {
      if (bodyText !== undefined) parsed = readErrorBody(JSON.parse(bodyText));
    } catch {
      // Not JSON (a proxy's HTML page, say): the snippet below says what came back.
    }
    const apiMessage = parsed.message !== undefined ? this.#redactor.redact(parsed.message) : undefined;
    const kind: ApiErrorKind = status === 401 || status === 403 || (spec.api === 'token' && status < 500 && status !== 429) ? 'auth' : 'api';
    const words = wordsFor(spec.operation);
    const codes = parsed.code !== undefined ? `HTTP ${status}, code ${parsed.code}` : `HTTP ${status}`;
    const urlField = this.#urlField(spec.api);
    let lead: string;
    if (spec.api === 'token' && status === 404) {
      lead = `Nothing answers at the Token URL (${codes}): check the Token URL of the account node`;
    } else if (kind === 'auth') {
      lead = `The provider refused the credentials (${codes}): check the ${credentialFields(this.provider)} of the account node`;
    } else if (status === 404) {
      lead = spec.subject !== undefined ? `${spec.subject} is not in this account (${codes})` : `The provider found nothing to ${words.todo} (${codes}): check the ${urlField} of the account node`;
    } else if (status === 429) {
      const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
      lead = `The provider is rate limiting this account (${codes}): ${words.doing} was still refused${tries}, so it was not done. Slow the flow down (e.g. a delay node in rate-limit mode)`;
    } else if (status >= 500 && !spec.idempotent && words.mayHaveActed !== undefined) {
      lead = `The provider had an error while ${words.doing} (${codes}), and ${words.mayHaveActed} anyway: it was not sent again (no duplicates), so check the command list before resending`;
    } else if (status >= 500) {
      lead = `The provider had an error while ${words.doing} (${codes})${attempts > 1 ? `, still after ${attempts} attempts` : ''}`;
    } else {
      lead = `The provider refused to ${words.todo} (${codes})`;
    }
    const said = apiMessage ?? (bodyText === undefined ? `an answer larger than ${MAX_ANSWER_BYTES} bytes, not read` : this.#snippet(bodyText));
    let message = said === '' ? `${lead}.` : `${lead}. The provider said: ${said}`;
    const moreInfo = parsed.more_info !== undefined ? this.#redactor.redact(parsed.more_info) : undefined;
    if (moreInfo) message += ` (${moreInfo})`;
    const retryAfterMs = parseRetryAfter(retryAfter);
    // A refusal (4xx) means the server did nothing; after a 5xx nobody can tell.
    const effect: Effect = status >= 500 ? 'unknown' : 'none';
    return this.#error(message, kind, spec, effect, attempts, {
      status,
      code: parsed.code,
      apiMessage,
      moreInfo,
      retryAfterMs,
    });
  }

  /** A 2xx answer too large to read: the request was done, but what it answered is unknown. */
  #tooLargeError(spec: RequestSpec, status: number, attempts: number): ApiError {
    const words = wordsFor(spec.operation);
    const acted =
      spec.idempotent || words.acted === undefined
        ? ''
        : `: ${words.acted}, but it was not sent again (no duplicates), so check the command list before resending`;
    return this.#error(
      `The provider's answer to ${words.doing} is larger than ${MAX_ANSWER_BYTES} bytes (1 MB), so it was not read (HTTP ${status})${acted}. Check the ${this.#urlField(spec.api)} of the account node`,
      'invalid-response',
      spec,
      'done',
      attempts,
      { status },
    );
  }

  /** The account node's field that holds the URL of an API, by its editor label. */
  #urlField(api: Api | 'token'): string {
    return URL_FIELDS[api === 'token' ? 'tokenUrl' : api === 'supersim' ? 'supersimUrl' : 'wirelessUrl'];
  }

  #error(
    message: string,
    kind: ApiErrorKind,
    spec: RequestRef,
    effect: Effect,
    attempts: number,
    extra: { status?: number; code?: number; apiMessage?: string; moreInfo?: string; networkCode?: string; retryAfterMs?: number } = {},
  ): ApiError {
    return new ApiError(this.#redactor.redact(message), {
      kind,
      operation: spec.operation,
      method: spec.method,
      path: spec.path,
      effect,
      attempts,
      ...extra,
    });
  }

  /** Redacted before it is cut: a secret that straddles the cut would otherwise leak its first characters. */
  #snippet(text: string): string {
    const oneLine = this.#redactor.redact(text).replace(/\s+/g, ' ').trim();
    return oneLine.length > MAX_ERROR_SNIPPET ? `${oneLine.slice(0, MAX_ERROR_SNIPPET)}…` : oneLine;
  }
}

/** The account node's URL fields by their editor labels: what an error about one of them names. */
const URL_FIELDS: Readonly<Record<string, string>> = { supersimUrl: 'Super SIM API URL', wirelessUrl: 'Wireless API URL', tokenUrl: 'Token URL' };

function pickUrl(field: string, value: string | undefined, fallback: string): string {
  const label = URL_FIELDS[field] ?? field;
  const chosen = value === undefined || value.trim() === '' ? fallback : value.trim();
  if (chosen.length > MAX_URL_CHARS) {
    throw new ClientConfigError(field, `The ${label} is ${chosen.length} characters long; at most ${MAX_URL_CHARS} are accepted. Enter the API's base URL, or leave it blank for the provider's own`);
  }
  let url: URL;
  try {
    url = new URL(chosen);
  } catch {
    throw new ClientConfigError(field, `The ${label} must be an absolute http:// or https:// URL, or blank for the provider's own; got ${JSON.stringify(chosen)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ClientConfigError(field, `The ${label} must start with http:// or https://; got ${url.protocol}`);
  }
  if (url.username || url.password) {
    // Credentials belong in the account node's credentials, where they are stored encrypted.
    throw new ClientConfigError(field, `The ${label} must not carry a user name or password: enter the credentials in their own fields`);
  }
  return trimTrailing(chosen, '/');
}

function endpointOf(url: string): Endpoint {
  const parsed = new URL(url);
  return { origin: parsed.origin, basePath: trimTrailing(parsed.pathname, '/') };
}

function requireCredential(field: string, value: string | undefined, message: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ClientConfigError(field, message);
  return value.trim();
}

function withoutFullStop(text: string): string {
  return trimTrailing(text, '.');
}

/** The caller's page size, never above what the endpoint documents (more is refused or ignored). */
function pageSizeUpTo(max: number, requested: number | undefined): number | undefined {
  return requested === undefined ? undefined : Math.min(requested, max);
}

function encodeSegment(value: string): string {
  if (typeof value !== 'string' || value === '') throw new ClientConfigError('sid', 'a SID or unique name is required');
  return encodeURIComponent(value);
}

function formBody(form: Record<string, FormValue>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) {
    if (value !== undefined) params.append(name, String(value));
  }
  return params.toString();
}

function queryString(query: Record<string, FormValue> | undefined): string {
  if (!query) return '';
  const text = formBody(query);
  return text === '' ? '' : `?${text}`;
}

/** Thrown by readCapped: the answer was longer than MAX_ANSWER_BYTES, and the rest was not read. */
class AnswerTooLargeError extends Error {
  override readonly name = 'AnswerTooLargeError';
}

/**
 * The body as text, read only up to MAX_ANSWER_BYTES: past it the body is destroyed (the connection
 * with it) instead of buffering whatever a broken or hostile server keeps sending.
 */
async function readCapped(response: Dispatcher.ResponseData): Promise<string> {
  const body = response.body;
  const declared = Number(response.headers['content-length']);
  const tooLarge = (): never => {
    // Destroying a body mid-read makes undici emit an abort error nobody else listens for.
    body.on('error', () => undefined);
    body.destroy();
    throw new AnswerTooLargeError(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`);
  };
  if (declared > MAX_ANSWER_BYTES) tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ANSWER_BYTES) tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}
