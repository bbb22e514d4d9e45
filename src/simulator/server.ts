import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TOKEN_PATH, dropHeld, holdAnswer, takeFault } from './faults';
import type { FaultInjector } from './faults';
import { ApiError, ErrorCode, defaultCode, defaultMessage, errorReply } from './reply';
import type { Reply } from './reply';
import { isControlPath } from './control';
import type { Stats } from './stats';
import type { Timers } from './timers';
import type { FaultKind, SimulatorMode } from './types';

export const MAX_BODY_BYTES = 64 * 1024;
/** Past this the client is not sending a form at all: stop draining and drop the connection. */
const MAX_DRAIN_BYTES = 16 * 1024 * 1024;

export interface ApiRequest {
  method: string;
  path: string;
  query: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface ApiServerOptions {
  mode: SimulatorMode;
  stats: Stats;
  faults: FaultInjector;
  timers: Timers;
  /** Routing, auth and the handlers; may throw ApiError. */
  dispatch(request: ApiRequest): Reply;
  /** The simulator's control routes (under /simulator/): outside the APIs, so no stats and no faults. */
  control(request: ApiRequest): Reply;
}

type Handler = (request: ApiRequest) => Reply;

function write(res: ServerResponse, reply: Reply): void {
  if (reply.status === 204) {
    res.writeHead(204, reply.headers);
    res.end();
    return;
  }
  res.writeHead(reply.status, {
    ...reply.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(reply.body),
  });
  res.end(reply.body);
}

/** HTTP plumbing: counting, faults, body limits, and writing (or withholding) each answer. */
export class ApiServer {
  readonly #server: Server;

  constructor(private readonly options: ApiServerOptions) {
    this.#server = createServer({ keepAlive: true, noDelay: true }, (req, res) => this.#onRequest(req, res));
  }

  listen(port: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve((this.#server.address() as AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.options.faults[dropHeld]();
      if (!this.#server.listening) {
        resolve();
        return;
      }
      this.#server.close(() => resolve());
      // Idle keep-alive sockets and hung requests alike: close() alone would wait for them.
      this.#server.closeAllConnections();
    });
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const { stats, faults, mode } = this.options;
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    const method = req.method ?? 'GET';
    const control = isControlPath(path);
    const handler: Handler = control ? this.options.control : this.options.dispatch;
    if (!control) {
      stats.record(method, path);
      if (method === 'POST' && path === TOKEN_PATH) stats.tokenRequests++;
    }

    const fault = control || faults.pending === 0 ? undefined : faults[takeFault](method, path);
    if (fault !== undefined) {
      if (fault.kind === 'reset' && fault.when === 'before') {
        req.socket.destroy();
        return;
      }
      if (fault.kind === 'status') {
        const headers = fault.retryAfter === undefined ? undefined : { 'retry-after': fault.retryAfter };
        write(res, errorReply(mode, fault.status, fault.code ?? defaultCode(fault.status), fault.message ?? defaultMessage(fault.status), headers));
        return;
      }
    }

    const query = queryAt === -1 ? '' : url.slice(queryAt + 1);
    const headers = req.headers;
    if ((headers['content-length'] === undefined || headers['content-length'] === '0') && headers['transfer-encoding'] === undefined) {
      this.#handle(req, res, handler, { method, path, query, headers, body: '' }, fault);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (size > MAX_DRAIN_BYTES) req.socket.destroy();
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) {
        write(res, errorReply(mode, 413, ErrorCode.invalidParameter, `Request body larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      const body = chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
      this.#handle(req, res, handler, { method, path, query, headers, body }, fault);
    });
    req.on('error', () => undefined);
  }

  #handle(req: IncomingMessage, res: ServerResponse, handler: Handler, request: ApiRequest, fault: FaultKind | undefined): void {
    let reply: Reply;
    try {
      reply = handler(request);
    } catch (error) {
      reply =
        error instanceof ApiError
          ? errorReply(this.options.mode, error.status, error.code, error.message, error.headers)
          : errorReply(this.options.mode, 500, ErrorCode.internal, `Simulator error: ${(error as Error).message}`);
    }
    if (fault === undefined) {
      write(res, reply);
      return;
    }
    // The request has been acted on; the fault decides what the client gets to see of it.
    switch (fault.kind) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'hang':
        return;
      case 'hold': {
        // A client already gone would never fire 'close' again: there is nobody to hold an answer for.
        if (req.socket.destroyed) return;
        const forget = this.options.faults[holdAnswer](() => write(res, reply));
        res.once('close', forget);
        return;
      }
      case 'delay':
        if (fault.phase === 'body') {
          res.writeHead(reply.status, { ...reply.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply.body) });
          res.flushHeaders();
          this.options.timers.set(() => res.end(reply.body), fault.ms);
        } else {
          this.options.timers.set(() => write(res, reply), fault.ms);
        }
        return;
      default:
        write(res, reply);
    }
  }
}
