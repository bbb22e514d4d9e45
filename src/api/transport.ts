/**
 * Sends one request and brings back its answer: a pool per origin (or the dispatcher the caller
 * gave), the account's queue, timeouts, the attempt loop that retries what retry.ts allows, and the
 * answer read up to its cap. What a request is and means stays in client.ts.
 */
import type * as Undici from 'undici';
import type { Dispatcher, Pool } from 'undici';
import type { Authenticator } from './auth';
import type { ApiName, Endpoint, Endpoints } from './config';
import { ApiError } from './errors';
import type { ErrorWriter, RequestFacts } from './errors';
import { AcquireAbortedError, LimiterClosedError, QueueFullError } from './limiter';
import type { ConcurrencyLimiter } from './limiter';
import { AnswerTooLargeError, classifyNetworkError, readCapped } from './network';
import { decideRetry } from './retry';
import type { RetryOptions, RetryPhase } from './retry';

export interface ClientTimeouts {
  /** To open a connection (TCP + TLS). */
  connectMs: number;
  /** From the request written to the answer's headers. */
  headersMs: number;
  /** Between two chunks of the answer's body. */
  bodyMs: number;
}

export const DEFAULT_TIMEOUTS: ClientTimeouts = { connectMs: 10_000, headersMs: 30_000, bodyMs: 30_000 };

export type FormValue = string | number | boolean | undefined;

export interface RequestSpec extends RequestFacts {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path under the API's base path; query included when following a page URL. */
  path: string;
  query?: Record<string, FormValue>;
  form?: Record<string, FormValue>;
  /** A body already encoded (the token request's, a JSON one). */
  body?: string;
  /** Of `body`; a form unless said otherwise. */
  contentType?: string;
  expectBody: boolean;
  /** Token requests carry their own credentials and must not ask for a token themselves. */
  authenticate: boolean;
  /** Cancels the call while it waits (queue, retry pause); never a request already on the wire. */
  signal?: AbortSignal;
}

export interface TransportOptions {
  endpoints: Endpoints;
  auth: Authenticator;
  errors: ErrorWriter;
  limiter: ConcurrencyLimiter;
  retry: RetryOptions;
  timeouts: ClientTimeouts;
  /** Used for every origin instead of the transport's own pools, and never closed by it. */
  dispatcher?: Dispatcher;
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

export class Transport {
  readonly #endpoints: Endpoints;
  readonly #auth: Authenticator;
  readonly #errors: ErrorWriter;
  readonly #limiter: ConcurrencyLimiter;
  readonly #retry: RetryOptions;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #poolOptions: Pool.Options;
  readonly #timeouts: ClientTimeouts;
  readonly #pools = new Map<string, Pool>();
  readonly #sleeps = new Set<{ timer: NodeJS.Timeout; reject: (err: Error) => void }>();
  #closed = false;

  constructor(options: TransportOptions) {
    this.#endpoints = options.endpoints;
    this.#auth = options.auth;
    this.#errors = options.errors;
    this.#limiter = options.limiter;
    this.#retry = options.retry;
    this.#dispatcher = options.dispatcher;
    this.#timeouts = options.timeouts;
    this.#poolOptions = {
      // One socket per request in flight, plus one for the token request that may run beside them.
      connections: options.limiter.maxInFlight + 1,
      pipelining: 1,
      connect: { timeout: options.timeouts.connectMs },
      headersTimeout: options.timeouts.headersMs,
      bodyTimeout: options.timeouts.bodyMs,
    };
  }

  get inFlight(): number {
    return this.#limiter.inFlight;
  }

  get queued(): number {
    return this.#limiter.queued;
  }

  get closed(): boolean {
    return this.#closed;
  }

  assertOpen(operation: string): void {
    if (this.#closed) {
      throw this.#errors.closed({ operation, method: '', path: '' }, 0);
    }
  }

  /**
   * Stops taking requests, fails the queued ones and any retry still waiting, lets requests already
   * on the wire finish, then closes the pools. A dispatcher the caller gave is left open: it is theirs.
   */
  async close(): Promise<void> {
    this.#beginClose();
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
  }

  /** As close(), but also aborts requests on the wire: their outcome is unknown (effect `unknown`). */
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

  /** A request in its turn: it waits for a slot in the account's queue first. */
  async call<T>(spec: RequestSpec): Promise<T> {
    this.assertOpen(spec.operation);
    try {
      const wait = this.#limiter.acquire(spec.signal);
      if (wait) await wait;
    } catch (err) {
      if (err instanceof AcquireAbortedError) throw this.#errors.cancelled(spec, 0);
      if (err instanceof QueueFullError) throw this.#errors.queueFull(spec, this.#limiter.maxQueue, this.#limiter.inFlight);
      throw this.#errors.closed(spec, 0);
    }
    try {
      return await this.attempt<T>(spec);
    } finally {
      this.#limiter.release();
    }
  }

  /** A request outside the queue (the token request, which queued requests may be waiting for). */
  async attempt<T>(spec: RequestSpec): Promise<T> {
    const endpoint = this.#endpoints[spec.api] as Endpoint;
    const path = endpoint.basePath + spec.path + queryString(spec.query);
    const body = spec.body ?? (spec.form ? formBody(spec.form) : undefined);
    let attempts = 0;
    let reauthenticated = false;

    for (;;) {
      if (spec.signal?.aborted) throw this.#errors.cancelled(spec, attempts);
      attempts++;
      const headers: Record<string, string> = { accept: 'application/json', 'user-agent': USER_AGENT };
      if (body !== undefined) headers['content-type'] = spec.contentType ?? 'application/x-www-form-urlencoded';
      let authorization = '';
      if (spec.authenticate) {
        const cached = this.#auth.authorization();
        // A header at hand (Basic, a cached token) costs no extra turn of the event loop.
        authorization = typeof cached === 'string' ? cached : await this.#authorize(spec, attempts, cached);
        headers.authorization = authorization;
      }

      let response: Dispatcher.ResponseData;
      try {
        response = await this.#send(endpoint.origin, path, spec.method, headers, body);
      } catch (err) {
        const failure = classifyNetworkError(err);
        if (this.#closed) throw this.#errors.closed(spec, attempts, failure.beforeWrite ? 'none' : 'unknown');
        if (await this.#retried(spec, attempts, failure.beforeWrite ? 'before-write' : 'after-write')) continue;
        throw this.#errors.network(spec, failure, attempts, err);
      }

      const status = response.statusCode;
      if (status >= 200 && status < 300) {
        try {
          return await this.#readSuccess<T>(spec, response);
        } catch (err) {
          if (err instanceof ApiError) throw err;
          // The same request would bring the same oversized answer: not worth a retry.
          if (err instanceof AnswerTooLargeError) throw this.#errors.tooLarge(spec, status, attempts);
          if (!this.#closed && (await this.#retried(spec, attempts, 'after-write'))) continue;
          throw this.#errors.unreadable(spec, status, classifyNetworkError(err), attempts, err);
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
      if (await this.#retried(spec, attempts, 'answered', status, response.headers['retry-after'])) continue;
      throw this.#errors.http(spec, status, errorBodyTooLarge ? undefined : errorBody, attempts, response.headers['retry-after']);
    }
  }

  /** Asks the retry policy, and waits as long as it says when it says yes. */
  async #retried(spec: RequestSpec, attempt: number, phase: RetryPhase, status?: number, retryAfter?: string | string[]): Promise<boolean> {
    const decision = decideRetry({ idempotent: spec.idempotent, phase, status, attempt, retryAfter }, this.#retry);
    if (!decision.retry) return false;
    await this.#pause(spec, attempt, decision.delayMs);
    return true;
  }

  #send(origin: string, path: string, method: RequestSpec['method'], headers: Record<string, string>, body: string | undefined): Promise<Dispatcher.ResponseData> {
    if (this.#dispatcher) {
      // A caller's dispatcher serves every origin, so each request names its own, and carries the timeouts a pool would have.
      return this.#dispatcher.request({ origin, path, method, headers, body, headersTimeout: this.#timeouts.headersMs, bodyTimeout: this.#timeouts.bodyMs });
    }
    return this.#poolFor(origin).request({ path, method, headers, body });
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
      if (this.#closed) throw this.#errors.closed(spec, attempts);
      throw this.#errors.noToken(spec, attempts, err);
    }
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
      throw this.#errors.notJson(spec, response.statusCode, text);
    }
  }

  #pause(spec: RequestSpec, attempts: number, ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(entry.timer);
        this.#sleeps.delete(entry);
        reject(this.#errors.cancelled(spec, attempts));
      };
      const entry = {
        timer: setTimeout(() => {
          this.#sleeps.delete(entry);
          spec.signal?.removeEventListener('abort', onAbort);
          resolve();
        }, ms),
        reject: () => {
          spec.signal?.removeEventListener('abort', onAbort);
          reject(this.#errors.closed(spec, attempts, 'none'));
        },
      };
      this.#sleeps.add(entry);
      spec.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** The host an error names for an API: where the request was going. */
export function hostOf(endpoints: Endpoints, api: ApiName): string {
  return new URL((endpoints[api] as Endpoint).origin).host;
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
