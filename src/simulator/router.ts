import type { ListMeta } from '../api';
import type { AuthGate } from './auth';
import { integer } from './params';
import type { Params } from './params';
import { ApiError, badRequest, jsonReply, notFound } from './reply';
import type { Reply } from './reply';
import type { ApiRequest } from './server';
import type { CommandStore, PageCursor, StoredEntry } from './store';

export type Handler = (request: ApiRequest, id: string) => Reply;
export type Method = 'GET' | 'POST' | 'DELETE';

/** What a route's request bodies are: forms (both product APIs) or JSON (KORE's webhook API). */
export type BodyType = 'form' | 'json';

interface Route {
  handlers: Partial<Record<Method, Handler>>;
  allow: string;
  /** Reachable without API credentials (the token endpoint). */
  open: boolean;
  body: BodyType;
}

export interface RouteOptions {
  open?: boolean;
  body?: BodyType;
}

const CONTENT_TYPES: Record<BodyType, string> = { form: 'application/x-www-form-urlencoded', json: 'application/json' };
const PAGE_TOKEN = /^P[AB][0-9]{1,15}$/;

function isType(contentType: string | undefined, expected: string): boolean {
  if (contentType === undefined) return false;
  if (contentType === expected) return true;
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === expected;
}

/**
 * A hand-rolled router: a map lookup for collections and a prefix check for instances, so the request
 * path does no regex work beyond the parameters' own checks.
 */
export class Router {
  readonly #exact = new Map<string, Route>();
  readonly #instances: { prefix: string; route: Route }[] = [];

  constructor(private readonly auth: AuthGate) {}

  collection(path: string, handlers: Route['handlers'], options: RouteOptions = {}): void {
    this.#exact.set(path, { handlers, allow: Object.keys(handlers).join(', '), open: options.open ?? false, body: options.body ?? 'form' });
  }

  /** `path` + '/{Sid}'. */
  instance(path: string, handlers: Route['handlers'], options: RouteOptions = {}): void {
    this.#instances.push({ prefix: path + '/', route: { handlers, allow: Object.keys(handlers).join(', '), open: false, body: options.body ?? 'form' } });
  }

  dispatch(request: ApiRequest): Reply {
    const { path } = request;
    let route = this.#exact.get(path);
    let id = '';
    if (route === undefined) {
      for (const candidate of this.#instances) {
        if (!path.startsWith(candidate.prefix)) continue;
        id = path.slice(candidate.prefix.length);
        if (id !== '' && !id.includes('/')) route = candidate.route;
        break;
      }
    }
    if (route === undefined) throw notFound(`The requested resource ${path} was not found`);
    const handler = route.handlers[request.method as Method];
    if (handler === undefined) throw new ApiError(405, 20004, `Method ${request.method} not allowed on ${path}`, { allow: route.allow });
    if (!route.open) this.auth.check(request.headers);
    const contentType = CONTENT_TYPES[route.body];
    if (request.body !== '' && !isType(request.headers['content-type'], contentType)) {
      throw badRequest(`Content-Type must be ${contentType}, got ${request.headers['content-type'] ?? 'none'}`);
    }
    if (id.includes('%')) {
      try {
        id = decodeURIComponent(id);
      } catch {
        throw notFound(`The requested resource ${path} was not found`);
      }
    }
    return handler(request, id);
  }
}

export interface ListFilter<E> {
  /** Filter parameters as the request gave them, echoed in the page URLs. */
  echo: [string, string][];
  match: (entry: E) => boolean;
}

export function filterParam(params: Params, echo: [string, string][], name: string): string | null {
  const value = params.get(name);
  if (value === null || value === '') return null;
  echo.push([name, value]);
  return value;
}

export interface ListPage<R extends { sid: string }, E extends StoredEntry<R>> {
  store: CommandStore<R, E>;
  /** The API's base URL and the collection's path under it, for the page URLs. */
  base: string;
  path: string;
  key: string;
  maxPageSize: number;
  filter: (params: Params) => ListFilter<E>;
  /** What the list shows of an entry; its resource when omitted. */
  present?: (entry: E) => unknown;
}

/** A page of a Super SIM / Wireless list: newest first, PageSize and PageToken checked as the APIs do. */
export function listPage<R extends { sid: string }, E extends StoredEntry<R>>(request: ApiRequest, list: ListPage<R, E>): Reply {
  const { store, base, path, key } = list;
  const params = new URLSearchParams(request.query);
  const { echo, match } = list.filter(params);
  const pageSize = integer(params, 'PageSize', 1, list.maxPageSize) ?? 50;
  const page = integer(params, 'Page', 0, Number.MAX_SAFE_INTEGER) ?? 0;
  const token = params.get('PageToken');
  let cursor: PageCursor | null = null;
  if (token !== null && token !== '') {
    if (!PAGE_TOKEN.test(token)) throw badRequest(`Invalid PageToken: ${token}`);
    cursor = { direction: token[1] === 'A' ? 'older' : 'newer', seq: Number(token.slice(2)) };
  }
  const result = store.page(match, pageSize, cursor);
  const filters = echo.length === 0 ? '' : new URLSearchParams(echo).toString() + '&';
  const urlOf = (n: number, pageToken: string | null): string =>
    `${base}${path}?${filters}PageSize=${pageSize}&Page=${n}${pageToken === null ? '' : `&PageToken=${pageToken}`}`;
  const items = result.items;
  const meta: ListMeta = {
    first_page_url: urlOf(0, null),
    key,
    next_page_url: result.hasOlder && items.length > 0 ? urlOf(page + 1, `PA${items[items.length - 1].seq}`) : null,
    page,
    page_size: pageSize,
    previous_page_url: result.hasNewer && items.length > 0 ? urlOf(Math.max(0, page - 1), `PB${items[0].seq}`) : null,
    url: urlOf(page, cursor === null ? null : token),
  };
  const present = list.present ?? ((entry: E): unknown => entry.resource);
  return jsonReply(200, { [key]: items.map(present), meta });
}
