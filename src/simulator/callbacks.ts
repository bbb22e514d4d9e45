import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import type { HttpMethod } from '../api';
import {
  KORE_IDEMPOTENCY_HEADER,
  KORE_SIGNATURE_HEADER,
  TWILIO_IDEMPOTENCY_HEADER,
  TWILIO_SIGNATURE_HEADER,
  koreSignature,
  twilioSignature,
} from '../callbacks';
import type { Stats } from './stats';
import type { Timers } from './timers';
import type { SimulatorCredentials, SimulatorMode } from './types';

const CALLBACK_TIMEOUT_MS = 5000;

export interface CallbackTarget {
  url: string;
  method: HttpMethod;
}

export interface CallbackSenderOptions {
  mode: SimulatorMode;
  credentials: SimulatorCredentials;
  /** KORE: what signs a callback when it is prepared ('' for unsigned); it changes when a secret is created. */
  signingSecret: () => string;
  retries: number;
  retryMs: number;
  stats: Stats;
  timers: Timers;
}

interface PreparedCallback {
  url: string;
  method: HttpMethod;
  body: string | undefined;
  headers: Record<string, string>;
}

/** GET callbacks carry the fields in the query, after whatever query the configured URL already has. */
function withQuery(url: string, query: string): string {
  const hashAt = url.indexOf('#');
  const base = hashAt === -1 ? url : url.slice(0, hashAt);
  if (!base.includes('?')) return `${base}?${query}`;
  return base.endsWith('?') || base.endsWith('&') ? base + query : `${base}&${query}`;
}

/**
 * The one place that sends callbacks: signs them as the vendor would, retries failures with the same
 * idempotency token, and keeps each command's callbacks in status order. Never throws: a receiver that
 * is down must not disturb the API.
 */
export class CallbackSender {
  readonly #agent = new Agent({
    connect: { timeout: CALLBACK_TIMEOUT_MS },
    headersTimeout: CALLBACK_TIMEOUT_MS,
    bodyTimeout: CALLBACK_TIMEOUT_MS,
  });
  /** Tail of each command's chain of deliveries. */
  readonly #queues = new Map<string, Promise<void>>();

  constructor(private readonly options: CallbackSenderOptions) {}

  /**
   * Queues one event's callback behind the earlier ones of the same `key` (a command SID). Resolves once
   * the first try has finished; retries carry on in the background.
   */
  send(key: string, target: CallbackTarget, fields: Record<string, string>): Promise<void> {
    let firstTryDone!: () => void;
    const attempted = new Promise<void>((resolve) => (firstTryDone = resolve));
    const run = (): Promise<void> => this.#deliver(this.#prepare(target, fields), firstTryDone);
    const previous = this.#queues.get(key);
    const task = previous === undefined ? run() : previous.then(run);
    this.#queues.set(key, task);
    void task.then(() => {
      if (this.#queues.get(key) === task) this.#queues.delete(key);
    });
    return attempted;
  }

  async close(): Promise<void> {
    // destroy(), not close(): a receiver that never answers must not hold up shutdown.
    await this.#agent.destroy().catch(() => undefined);
  }

  #prepare(target: CallbackTarget, fields: Record<string, string>): PreparedCallback {
    const { mode, credentials } = this.options;
    const encoded = new URLSearchParams(fields).toString();
    const isGet = target.method === 'GET';
    const url = isGet ? withQuery(target.url, encoded) : target.url;
    const body = isGet ? undefined : encoded;
    const headers: Record<string, string> = { 'user-agent': 'supersim-simulator/1' };
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    // One token per event, reused by every retry, so receivers can drop duplicates.
    const idempotencyToken = randomUUID();
    if (mode === 'kore') {
      const secret = this.options.signingSecret();
      if (secret !== '') headers[KORE_SIGNATURE_HEADER] = koreSignature(secret, target.method, url, body ?? '');
      headers[KORE_IDEMPOTENCY_HEADER] = idempotencyToken;
    } else {
      headers[TWILIO_SIGNATURE_HEADER] = twilioSignature(credentials.authToken, url, isGet ? {} : fields);
      headers[TWILIO_IDEMPOTENCY_HEADER] = idempotencyToken;
    }
    return { url, method: target.method, body, headers };
  }

  async #deliver(callback: PreparedCallback, firstTryDone: () => void): Promise<void> {
    const { retries, retryMs, stats, timers } = this.options;
    try {
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0 && !(await timers.sleep(retryMs))) return;
        if (timers.closed) return;
        stats.callbacks.sent++;
        const delivered = await this.#try(callback);
        if (attempt === 0) firstTryDone();
        if (delivered) return;
        stats.callbacks.failed++;
      }
    } finally {
      firstTryDone();
    }
  }

  async #try(callback: PreparedCallback): Promise<boolean> {
    try {
      const response = await request(callback.url, {
        method: callback.method,
        headers: callback.headers,
        body: callback.body,
        dispatcher: this.#agent,
        headersTimeout: CALLBACK_TIMEOUT_MS,
        bodyTimeout: CALLBACK_TIMEOUT_MS,
      });
      await response.body.dump();
      return response.statusCode >= 200 && response.statusCode < 300;
    } catch {
      return false;
    }
  }
}
