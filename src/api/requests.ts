/**
 * The kinds of request every resource method is built from (a create, a read, a list that follows its
 * pages), over the account's one transport. What each operation sends stays with its method.
 */
import type { Endpoint, Endpoints } from './config';
import { ClientConfigError, urlFieldOf } from './config';
import type { ErrorWriter } from './errors';
import type { FormValue, RequestSpec, Transport } from './transport';
import type { ListMeta, TokenResponse } from './types';
import { wordsFor } from './words';

/** The APIs resource methods call (the token endpoint is the transport's own business). */
export type Api = 'supersim' | 'wireless' | 'webhook';

export interface CallOptions {
  /**
   * Gives up while the call is still waiting for a slot or a retry. A request already sent is left to
   * finish, so its outcome is known: an abort never leaves a command half-sent. For a list, it also
   * stops the paging: the next page is not asked for.
   */
  signal?: AbortSignal;
}

export interface ListSpec {
  operation: string;
  api: Api;
  path: string;
  /** The answer's property that holds the page's items. */
  key: string;
  query: Record<string, FormValue>;
  signal?: AbortSignal;
  /** Where the answer keeps next_page_url: `meta` (Super SIM, Wireless) or `meta_data` (webhook secrets). */
  metaKey?: 'meta' | 'meta_data';
}

export class Requests {
  readonly #transport: Transport;
  readonly #errors: ErrorWriter;
  readonly #endpoints: Endpoints;

  constructor(transport: Transport, errors: ErrorWriter, endpoints: Endpoints) {
    this.#transport = transport;
    this.#errors = errors;
    this.#endpoints = endpoints;
  }

  call<T>(spec: RequestSpec): Promise<T> {
    return this.#transport.call<T>(spec);
  }

  /** Creates are the requests never sent twice once they may have reached the server. */
  create<T>(operation: string, api: Api, path: string, subject: string, form: Record<string, FormValue>, options: CallOptions): Promise<T> {
    return this.call<T>({ operation, method: 'POST', api, path, form, idempotent: false, expectBody: true, authenticate: true, signal: options.signal, subject });
  }

  read<T>(operation: string, api: Api, path: string, query?: Record<string, FormValue>, signal?: AbortSignal, subject?: string): Promise<T> {
    return this.call<T>({ operation, method: 'GET', api, path, query, idempotent: true, expectBody: true, authenticate: true, signal, subject });
  }

  /** One page at a time, as the caller iterates: memory holds a page, never the whole list. */
  async *list<T>(spec: ListSpec): AsyncIterableIterator<T> {
    const { operation, api, key, signal } = spec;
    let page = await this.read<Record<string, unknown>>(operation, api, spec.path, spec.query, signal);
    for (;;) {
      const items = page[key];
      if (!Array.isArray(items)) {
        throw this.#errors.error(`The provider's answer to ${wordsFor(operation).doing} has no "${key}" list: check the ${urlFieldOf(api)} of the account node`, 'invalid-response', { operation, method: 'GET', path: spec.path }, 'done', 1);
      }
      for (const item of items) yield item as T;
      const meta = page[spec.metaKey ?? 'meta'] as Partial<ListMeta> | undefined;
      const next = meta?.next_page_url;
      if (typeof next !== 'string' || next === '') return;
      page = await this.read<Record<string, unknown>>(operation, api, this.#pagePath(operation, api, next), undefined, signal);
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
}

/** A KORE token. Not through the queue: requests holding every slot may be the ones waiting for it. */
export async function fetchToken(transport: Transport, errors: ErrorWriter, body: string | undefined): Promise<TokenResponse> {
  const answer = await transport.attempt<Partial<TokenResponse>>({
    operation: 'fetchToken',
    method: 'POST',
    api: 'token',
    path: '',
    body,
    // Asking for a token twice only yields two tokens: harmless, so retry it like a read.
    idempotent: true,
    expectBody: true,
    authenticate: false,
  });
  if (typeof answer.access_token !== 'string' || answer.access_token === '' || typeof answer.expires_in !== 'number') {
    throw errors.error('The token endpoint answered without access_token and expires_in: check the Token URL of the account node', 'invalid-response', { operation: 'fetchToken', method: 'POST', path: '' }, 'done', 1);
  }
  return answer as TokenResponse;
}

/**
 * The largest PageSize each list endpoint documents: the OpenAPI files, except where the vendor's
 * docs say less (Programmable Wireless Commands: the docs say 100, the OpenAPI 1000, so 100). The
 * webhook-secrets spec gives no maximum for `page_size`: 100, which KORE's other lists all allow.
 */
export const MAX_PAGE_SIZE = {
  ipCommands: 100,
  smsCommands: 1000,
  wirelessCommands: 100,
  sims: 1000,
  fleets: 1000,
  wirelessSims: 1000,
  webhookSecrets: 100,
} as const;

/** The caller's page size, never above what the endpoint documents (more is refused or ignored). */
export function pageSizeUpTo(max: number, requested: number | undefined): number | undefined {
  return requested === undefined ? undefined : Math.min(requested, max);
}

/** One path segment: a SID or unique name, encoded; a blank one is the caller's mistake. */
export function encodeSegment(value: string): string {
  if (typeof value !== 'string' || value === '') throw new ClientConfigError('sid', 'a SID or unique name is required');
  return encodeURIComponent(value);
}
