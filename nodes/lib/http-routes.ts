import type { Application, NextFunction, Request, RequestHandler, Response } from 'express';
import type { CallbackRequest } from '../../src/callbacks';
import { MAX_URL_CHARS, collapseRuns, trimTrailing } from '../../src/shared/text';
import type { NodeAPI } from './red';

/** What a route answers: the status at once, then `after` runs once the answer is on its way. */
export interface RouteAnswer {
  status: number;
  reason?: string;
  after?: () => void;
}

export interface RouteOptions {
  /** Path under httpNodeRoot, e.g. '/supersim/in'. */
  path: string;
  methods: readonly ('GET' | 'POST')[];
  maxBodyBytes: number;
  /** Who holds the path, for the error when a second node claims it. */
  owner: string;
  handle(request: CallbackRequest): RouteAnswer;
  /** Told of requests refused before they reach `handle` (too large, wrong method), for the node's status. */
  onRefused?(status: 405 | 413, reason: string): void;
}

interface RawBodyRequest extends Request {
  _body?: boolean;
  supersimRawBody?: Buffer;
}

/** Express keeps its middleware stack here in Express 4, which Node-RED 4 and 5 both ship. */
interface RouterStack {
  stack: { handle: unknown }[];
}

export class RouteConflictError extends Error {
  override readonly name = 'RouteConflictError';
}

const registries = new WeakMap<Application, WebhookRoutes>();

/** Trailing slashes and repeated slashes do not make another path. */
export function normalisePath(path: string): string {
  const cleaned = trimTrailing(collapseRuns(`/${path}`, '/'), '/');
  return cleaned === '' ? '/' : cleaned;
}

/**
 * The route key of a request's path; undefined for a path longer than any route can be. Every request
 * to the server passes here, so what it costs is bounded by the cap, whatever a sender makes of it.
 */
function routeKeyOf(path: string): string | undefined {
  return path.length > MAX_URL_CHARS ? undefined : normalisePath(path);
}

/**
 * Whether the peer is a proxy that the app is set to trust (its `trust proxy` setting, which Node-RED
 * takes from `httpServerOptions`), asked as Express asks it for `req.protocol`.
 */
function fromTrustedProxy(req: Request): boolean {
  const trust: unknown = req.app?.get('trust proxy fn');
  return typeof trust === 'function' && (trust as (address: string | undefined, hop: number) => boolean)(req.socket?.remoteAddress, 0) === true;
}

function rootOf(app: Application): Application {
  let current = app;
  while ((current as { parent?: Application }).parent) current = (current as unknown as { parent: Application }).parent;
  return current;
}

/**
 * The webhook routes of every supersim node on one Node-RED. One dispatcher serves them all, so a
 * route disappears the moment its node closes (no surgery on Express's route list), and a raw-body
 * capture at the very front of the root app keeps the exact bytes that signatures are computed over,
 * even where Node-RED's admin body parsers share the root path and would otherwise consume them.
 */
export class WebhookRoutes {
  readonly #red: NodeAPI;
  readonly #routes = new Map<string, RouteOptions>();

  static for(red: NodeAPI): WebhookRoutes {
    let registry = registries.get(red.httpNode);
    if (!registry) {
      registry = new WebhookRoutes(red);
      registries.set(red.httpNode, registry);
    }
    return registry;
  }

  private constructor(red: NodeAPI) {
    this.#red = red;
    const root = rootOf(red.httpNode);
    root.use(this.#captureRawBody);
    const stack = (root as unknown as { _router?: RouterStack })._router?.stack;
    if (stack) {
      // Other middleware may have been added after ours; find ours rather than assume it is last.
      const index = stack.findIndex((layer) => layer.handle === this.#captureRawBody);
      if (index > 0) stack.unshift(...stack.splice(index, 1));
    }
    red.httpNode.use(this.#dispatch);
  }

  /** Claims a path; returns the function that releases it. */
  add(options: RouteOptions): () => void {
    const key = normalisePath(options.path);
    const holder = this.#routes.get(key);
    if (holder) {
      throw new RouteConflictError(`the path ${key} is already used by ${holder.owner}; give each node its own path`);
    }
    const route = { ...options, path: key };
    this.#routes.set(key, route);
    return () => {
      if (this.#routes.get(key) === route) this.#routes.delete(key);
    };
  }

  has(path: string): boolean {
    return this.#routes.has(normalisePath(path));
  }

  /** The route a request at the root app is for, if any: the root sees httpNodeRoot in the path. */
  #routeAtRoot(req: Request): RouteOptions | undefined {
    if (this.#routes.size === 0) return undefined;
    const mount = (this.#red.httpNode as unknown as { mountpath?: string | string[] }).mountpath;
    const prefix = rootOf(this.#red.httpNode) === this.#red.httpNode ? '/' : normalisePath(Array.isArray(mount) ? mount[0] : (mount ?? '/'));
    // Ahead of Express's own init the request has no `path` yet: read it off the raw URL.
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = routeKeyOf(queryAt === -1 ? url : url.slice(0, queryAt));
    if (path === undefined) return undefined;
    if (prefix !== '/' && !(path === prefix || path.startsWith(prefix + '/'))) return undefined;
    return this.#routes.get(normalisePath(prefix === '/' ? path : path.slice(prefix.length)));
  }

  readonly #captureRawBody = (req: RawBodyRequest, res: Response, next: NextFunction): void => {
    if (req.method !== 'POST' || req._body) return next();
    const route = this.#routeAtRoot(req);
    if (!route) return next();
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > route.maxBodyBytes) {
      // Refuse before reading: a body past the limit is never buffered.
      answerPlain(res, 413, 'Payload Too Large');
      route.onRefused?.(413, `declared body of ${declared} bytes over the ${route.maxBodyBytes}-byte limit`);
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > route.maxBodyBytes) {
        refused = true;
        answerPlain(res, 413, 'Payload Too Large');
        route.onRefused?.(413, `body over the ${route.maxBodyBytes}-byte limit`);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      req.supersimRawBody = Buffer.concat(chunks);
      // Tells every body parser after us that the body is taken.
      req._body = true;
      req.body = {};
      next();
    });
    req.on('error', () => {
      if (!refused && !res.headersSent) answerPlain(res, 400, 'Bad Request');
      refused = true;
    });
  };

  readonly #dispatch = (req: RawBodyRequest, res: Response, next: NextFunction): void => {
    const key = routeKeyOf(req.path);
    const route = key === undefined ? undefined : this.#routes.get(key);
    if (!route) return next();
    const chain = [...middlewareOf(this.#red), corsOf(this.#red)];
    runChain(chain, req, res, (err?: unknown) => {
      if (err) return next(err);
      if (req.method === 'OPTIONS') {
        res.status(204).end();
        return;
      }
      if (!route.methods.includes(req.method as 'GET' | 'POST')) {
        res.status(405).set('Allow', route.methods.join(', ')).type('text/plain').send('Method Not Allowed');
        route.onRefused?.(405, `method ${req.method} (only ${route.methods.join(' and ')})`);
        return;
      }
      const rawBody = req.supersimRawBody ?? rebuildBody(req);
      const answer = route.handle({
        method: req.method,
        // As the server received it, httpNodeRoot included: the provider signed the public form of it.
        url: req.originalUrl,
        headers: req.headers,
        rawBody,
        // Express's protocol already follows X-Forwarded-Proto, but only from a trusted proxy.
        protocol: req.protocol === 'https' ? 'https' : 'http',
        host: req.headers.host,
        viaTrustedProxy: fromTrustedProxy(req),
      });
      res.status(answer.status);
      if (answer.status >= 400) res.type('text/plain').send(answer.reason ?? '');
      else res.end();
      answer.after?.();
    });
  };
}

/**
 * An answer with node:http's own API: the raw-body capture runs ahead of Express's init, where `res`
 * has none of Express's methods (status, type, send) yet.
 */
function answerPlain(res: Response, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/**
 * Only when something ahead of us parsed the body (another raw capture, a custom middleware): a form
 * body rebuilt from its fields. Twilio signatures survive this; KORE's, over the raw bytes, may not.
 */
function rebuildBody(req: Request): Buffer {
  if (req.method !== 'POST' || req.body === undefined || req.body === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(req.body)) return req.body;
  if (typeof req.body === 'string') return Buffer.from(req.body, 'utf8');
  if (typeof req.body === 'object') {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(req.body as Record<string, unknown>)) {
      for (const item of Array.isArray(value) ? value : [value]) params.append(name, String(item));
    }
    return Buffer.from(params.toString(), 'utf8');
  }
  return Buffer.alloc(0);
}

function middlewareOf(red: NodeAPI): RequestHandler[] {
  const configured = red.settings.httpNodeMiddleware;
  if (typeof configured === 'function') return [configured];
  if (Array.isArray(configured)) return configured.filter((m): m is RequestHandler => typeof m === 'function');
  return [];
}

/** httpNodeCors as core nodes honour it, without depending on the cors package Node-RED keeps to itself. */
function corsOf(red: NodeAPI): RequestHandler {
  return (req, res, next) => {
    const cors = red.settings.httpNodeCors as { origin?: unknown; methods?: unknown } | undefined;
    if (!cors) return next();
    const requestOrigin = req.headers.origin;
    let allowed: string | undefined;
    if (cors.origin === '*' || cors.origin === undefined) allowed = '*';
    else if (cors.origin === true) allowed = requestOrigin;
    else if (typeof cors.origin === 'string') allowed = cors.origin;
    else if (Array.isArray(cors.origin) && requestOrigin && cors.origin.includes(requestOrigin)) allowed = requestOrigin;
    if (allowed) res.set('Access-Control-Allow-Origin', allowed);
    if (req.method === 'OPTIONS') {
      const methods = Array.isArray(cors.methods) ? cors.methods.join(',') : typeof cors.methods === 'string' ? cors.methods : 'GET,POST';
      res.set('Access-Control-Allow-Methods', methods);
      const requested = req.headers['access-control-request-headers'];
      if (requested) res.set('Access-Control-Allow-Headers', requested);
    }
    next();
  };
}

function runChain(chain: RequestHandler[], req: Request, res: Response, done: (err?: unknown) => void): void {
  let index = 0;
  const step = (err?: unknown): void => {
    if (err || index >= chain.length) return done(err);
    const handler = chain[index++];
    try {
      handler(req, res, step);
    } catch (thrown) {
      done(thrown);
    }
  };
  step();
}
