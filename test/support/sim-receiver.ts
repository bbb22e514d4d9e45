import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedCallback {
  method: string;
  /** Full URL as the sender addressed it (http://127.0.0.1:port/path?query). */
  url: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** POST: the form body; GET: the query. */
  params: Record<string, string>;
}

/**
 * A loopback webhook receiver for simulator tests: records each request with its raw body, answers
 * with the status `respond` picks (default 200).
 */
export class CallbackReceiver {
  readonly requests: ReceivedCallback[] = [];
  #cursor = 0;
  #waiters: { resolve: (callback: ReceivedCallback) => void; timer: NodeJS.Timeout }[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(respond: (callback: ReceivedCallback, index: number) => number = () => 200): Promise<CallbackReceiver> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        const url = `${receiver.url}${req.url ?? '/'}`;
        const parsed = new URL(url);
        const params = Object.fromEntries(req.method === 'GET' ? parsed.searchParams : new URLSearchParams(rawBody));
        const callback: ReceivedCallback = { method: req.method ?? '', url, path: parsed.pathname, headers: req.headers, rawBody, params };
        const index = receiver.requests.length;
        receiver.#record(callback);
        res.writeHead(respond(callback, index), { 'content-type': 'text/plain' });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // Requests can only arrive once listening, by which time `receiver` exists.
    const receiver = new CallbackReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return receiver;
  }

  /** The next request not yet returned by next(), in arrival order. */
  next(timeoutMs = 2000): Promise<ReceivedCallback> {
    if (this.#cursor < this.requests.length) return Promise.resolve(this.requests[this.#cursor++]);
    return new Promise<ReceivedCallback>((resolve, reject) => {
      const waiter = {
        resolve,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(new Error(`no callback within ${timeoutMs} ms (${this.requests.length} received)`));
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  async take(count: number, timeoutMs = 2000): Promise<ReceivedCallback[]> {
    const out: ReceivedCallback[] = [];
    for (let i = 0; i < count; i++) out.push(await this.next(timeoutMs));
    return out;
  }

  close(): Promise<void> {
    for (const waiter of this.#waiters) clearTimeout(waiter.timer);
    this.#waiters = [];
    return new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  #record(callback: ReceivedCallback): void {
    this.requests.push(callback);
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      clearTimeout(waiter.timer);
      waiter.resolve(this.requests[this.#cursor++]);
    }
  }
}
