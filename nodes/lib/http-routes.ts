import cors from 'cors';
import type { CorsOptions, CorsOptionsDelegate } from 'cors';
import type { Application, NextFunction, Request, RequestHandler, Response } from 'express';
import { CALLBACK_METHODS, bodySizeProblem, methodProblem } from '../../src/callbacks';
import type { AcceptedCallback, CallbackRequest, ReceiverResult, RefusalKind, RefusalStatus } from '../../src/callbacks';
import { RefusalLog } from '../../src/receiving';
import type { RefusalReport } from '../../src/receiving';
import { MAX_URL_CHARS, collapseRuns, trimTrailing } from '../../src/shared';
import type { NodeAPI } from './red';

export interface RouteOptions {
  /** Path under httpNodeRoot, e.g. '/supersim/in'. */
  path: string;
  /** Who holds the path, for the error when a second node claims it. */
  owner: string;
  /**
   * The node's check of one request (`receive` from src/callbacks, with whatever the node adds); a
   * promise when a shared store has the last word (`receiveOnce`), answered once it settles.
   */
  receive(request: CallbackRequest): ReceiverResult | Promise<ReceiverResult>;
  /** Runs once the 2xx of an accepted callback is on its way: a slow or failing flow never delays or changes the answer. */
  onAccepted?(result: AcceptedCallback): void;
  /** Every refusal, the route's own (too large, wrong method) and the receiver's, for the node's status. */
  onRefused?(status: RefusalStatus, reason: string, refusal?: RefusalKind): void;
  /** A refusal worth a log line: the first, then at most one per minute with the count of those left out. */
  warn(report: RefusalReport): void;
}

interface Route extends RouteOptions {
  refusals: RefusalLog;
}

/**
 * httpNodeRoot as core http in reads it: false turns every HTTP node off; anything else that is not a
 * string means the default '/'.
 */
export function httpNodeRootOf(red: Pick<NodeAPI, 'settings'>): string | false {
  const root = red.settings.httpNodeRoot;
  if (root === false) return false;
  return typeof root === 'string' ? root : '/';
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
  readonly #routes = new Map<string, Route>();
  #cors: { settings: unknown; handler: RequestHandler | undefined } | undefined;

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
    const route: Route = { ...options, path: key, refusals: new RefusalLog() };
    this.#routes.set(key, route);
    return () => {
      if (this.#routes.get(key) === route) this.#routes.delete(key);
    };
  }

  /** The one place a refusal is told: to the node's status every time, to its log when RefusalLog says so. */
  #refuse(route: Route, status: RefusalStatus, reason: string, refusal?: RefusalKind): void {
    route.onRefused?.(status, reason, refusal);
    const report = route.refusals.note(status, reason);
    if (report !== undefined) route.warn(report);
  }

  /**
   * httpNodeCors as core http in applies it: handed whole to the cors package, built once for the
   * settings it was built from (settings do not change while Node-RED runs; the test helper swaps them).
   */
  #corsHandler(): RequestHandler | undefined {
    const settings: unknown = this.#red.settings.httpNodeCors;
    if (this.#cors === undefined || this.#cors.settings !== settings) {
      this.#cors = { settings, handler: settings ? cors(settings as CorsOptions | CorsOptionsDelegate) : undefined };
    }
    return this.#cors.handler;
  }

  /** The route a request at the root app is for, if any: the root sees httpNodeRoot in the path. */
  #routeAtRoot(req: Request): Route | undefined {
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
    const declaredTooLarge = Number.isFinite(declared) ? bodySizeProblem(declared) : undefined;
    if (declaredTooLarge !== undefined) {
      // Refuse before reading: a body past the limit is never buffered.
      answerPlain(res, 413, 'Payload Too Large');
      this.#refuse(route, 413, declaredTooLarge);
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      const tooLarge = bodySizeProblem(size);
      if (tooLarge !== undefined) {
        refused = true;
        answerPlain(res, 413, 'Payload Too Large');
        this.#refuse(route, 413, tooLarge);
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
    const corsHandler = this.#corsHandler();
    if (req.method === 'OPTIONS' && corsHandler) {
      // As core http in: a preflight is the cors package's alone (httpNodeMiddleware does not see it).
      runChain([corsHandler], req, res, (err?: unknown) => (err ? next(err) : res.status(204).end()));
      return;
    }
    const chain = corsHandler ? [...middlewareOf(this.#red), corsHandler] : middlewareOf(this.#red);
    runChain(chain, req, res, (err?: unknown) => {
      if (err) return next(err);
      if (req.method === 'OPTIONS') {
        res.status(204).end();
        return;
      }
      const wrongMethod = methodProblem(req.method);
      if (wrongMethod !== undefined) {
        res.status(405).set('Allow', CALLBACK_METHODS.join(', ')).type('text/plain').send('Method Not Allowed');
        this.#refuse(route, 405, wrongMethod);
        return;
      }
      const rawBody = req.supersimRawBody ?? rebuildBody(req);
      const result = route.receive({
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
      if (!isPromise(result)) {
        this.#answer(route, res, result);
        return;
      }
      result.then(
        (settled) => this.#answer(route, res, settled),
        () => {
          // receiveOnce never rejects (a store that cannot answer leaves the local verdict standing), so
          // this is a bug: nothing was emitted, and a 503 has the provider retry rather than lose it.
          if (!res.headersSent) res.status(503).set('Retry-After', '1').type('text/plain').send('Service Unavailable');
        },
      );
    });
  };

  #answer(route: Route, res: Response, result: ReceiverResult): void {
    if (result.outcome === 'refused') {
      res.status(result.status).type('text/plain').send(result.answer);
      this.#refuse(route, result.status, result.reason, result.refusal);
      return;
    }
    res.status(200).end();
    if (result.outcome === 'accepted') route.onAccepted?.(result);
  }
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Partial<Promise<T>> | undefined)?.then === 'function';
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
