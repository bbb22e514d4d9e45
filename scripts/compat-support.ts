/**
 * What the compatibility run and the end-to-end tests of the demo and the examples read from a
 * running Node-RED: the debug messages it publishes on its comms socket, exactly as the editor's
 * Debug sidebar receives them. Reading them there needs no extra node in the flows under test.
 */
import { webSocketClass } from '../test/support/node-red-process';
import type { WebSocketLike } from '../test/support/node-red-process';


export interface DebugMessage {
  /** The debug node's id. */
  id: string;
  name?: string;
  topic?: string;
  /** What the node showed, decoded: objects parsed, buffers as Buffer, strings as they are. */
  value: unknown;
  /** Node-RED's format tag, e.g. "Object", "string[5]", "buffer[4]". */
  format?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Undoes RED.util.encodeObject as far as the tests need it. */
export function decodeDebugValue(msg: unknown, format: string | undefined): unknown {
  if (typeof msg !== 'string' || format === undefined) return msg;
  if (format === 'Object' || format.startsWith('array[')) {
    try {
      return JSON.parse(msg) as unknown;
    } catch {
      return msg;
    }
  }
  if (format.startsWith('buffer[')) return Buffer.from(msg, 'hex');
  return msg;
}

/** Collects every debug message from the moment it is open; wait for the ones a test expects. */
export class DebugWatcher {
  readonly messages: DebugMessage[] = [];
  readonly #socket: WebSocketLike;
  #waiters: { match: (m: DebugMessage) => boolean; resolve: (m: DebugMessage) => void }[] = [];

  private constructor(socket: WebSocketLike) {
    this.#socket = socket;
    socket.on('message', (data) => this.#receive(data));
  }

  /** Connects to `adminUrl`/comms (an editor without adminAuth, or with `token`) and subscribes to debug. */
  static open(adminUrl: string, token?: string): Promise<DebugWatcher> {
    const WebSocket = webSocketClass();
    const url = new URL('comms', adminUrl.endsWith('/') ? adminUrl : `${adminUrl}/`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url.toString());
    const watcher = new DebugWatcher(socket);
    return new Promise((resolve, reject) => {
      socket.on('error', reject);
      socket.on('open', () => {
        if (token) socket.send(JSON.stringify({ auth: token }));
        socket.send(JSON.stringify({ subscribe: 'debug' }));
        // The subscription has no answer: give the server a moment to read it before a test triggers anything.
        setTimeout(() => resolve(watcher), 200);
      });
    });
  }

  #receive(data: unknown): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(String(data));
    } catch {
      return;
    }
    for (const event of Array.isArray(parsed) ? parsed : [parsed]) {
      if (!isRecord(event) || event.topic !== 'debug' || !isRecord(event.data)) continue;
      const data = event.data;
      const format = typeof data.format === 'string' ? data.format : undefined;
      const message: DebugMessage = {
        id: String(data.id),
        name: typeof data.name === 'string' ? data.name : undefined,
        topic: typeof data.topic === 'string' ? data.topic : undefined,
        value: decodeDebugValue(data.msg, format),
        format,
      };
      this.messages.push(message);
      const waiting = this.#waiters.filter((w) => w.match(message));
      this.#waiters = this.#waiters.filter((w) => !waiting.includes(w));
      for (const waiter of waiting) waiter.resolve(message);
    }
  }

  /** The first message (already received or still to come) that matches; rejects naming `what`. */
  waitFor(match: (m: DebugMessage) => boolean, what: string, timeoutMs = 10_000): Promise<DebugMessage> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (m: DebugMessage) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        const got = this.messages.map((m) => `${m.name ?? m.id}: ${JSON.stringify(m.value)}`).join('\n  ');
        reject(new Error(`no debug message ${what} within ${timeoutMs} ms; received:\n  ${got || '(none)'}`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  close(): void {
    this.#socket.close();
  }
}

/** Presses an inject node's button, as the editor does. */
export async function pressInject(adminUrl: string, injectId: string, token?: string): Promise<void> {
  const response = await fetch(new URL(`inject/${injectId}`, adminUrl.endsWith('/') ? adminUrl : `${adminUrl}/`), {
    method: 'POST',
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST inject/${injectId} answered HTTP ${response.status}: ${text}`);
}

/** What a debug node showed of a resource with a sid (the send nodes' outputs). */
export function resourceOf(message: DebugMessage): { sid?: string; status?: string; [key: string]: unknown } {
  return isRecord(message.value) ? (message.value as { sid?: string; status?: string }) : {};
}

/** A debug value as text: strings as they are, buffers decoded as UTF-8. */
export function textOf(message: DebugMessage): string | undefined {
  if (typeof message.value === 'string') return message.value;
  if (Buffer.isBuffer(message.value)) return message.value.toString('utf8');
  return undefined;
}
