/**
 * What the fault matrices share: the send nodes they drive, the API faults they inject (and what
 * each must lead to for a plain send), and a gate that stands for an unreachable API host.
 */
import { readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import type { NodeAPI } from '../../nodes/lib/red';
import type { Server, Socket } from 'node:net';
import { DEFAULT_RETRY } from '../../src/api';
import type { ClientTimeouts, RetryOptions } from '../../src/api';
import type { Simulator } from '../../src/simulator';
import type { FaultTarget } from '../../src/simulator';
import { freePort } from '../support/net';

export const MESSAGES = 4;
export const FAST_TIMEOUTS: ClientTimeouts = { connectMs: 1_000, headersMs: 400, bodyMs: 400 };
// maxAttempts stays as shipped: the cases below count on the real number of tries.
export const FAST_RETRY: Partial<RetryOptions> = { baseDelayMs: 40, maxDelayMs: 200 };
/** A Retry-After the client honours (capped by maxDelayMs), so the 429 path waits as it would for real. */
export const RETRY_AFTER = '1';

/** The message of an error that admits the API may hold the command: the user must check before resending. */
export const MAY_HAVE_REACHED = /may have been created|was created \(HTTP \d+\)/;
export const NOT_SENT = /Nothing was sent/;

export interface SendNodeKind {
  label: string;
  target: Exclude<FaultTarget, 'any' | 'token' | 'fleets'>;
  node: Record<string, unknown>;
  created(sim: Simulator): number;
  /** The payloads of the commands the API holds, one entry per command. */
  stored(sim: Simulator): string[];
  /** The SIM the node sends to. */
  device: string;
  /** The status at which an attempt reached its goal (keeping trying stops there). */
  goal: 'sent' | 'delivered';
}

export const KINDS: SendNodeKind[] = [
  {
    label: 'supersim-ip-command',
    target: 'ipCommands',
    node: { type: 'supersim-ip-command', sim: 'thermostat', devicePort: '6655', payloadType: 'text' },
    created: (sim) => sim.stats.created.ip,
    stored: (sim) => sim.ipCommands().filter((c) => c.direction === 'to_sim').map((c) => c.payload),
    device: 'thermostat',
    goal: 'sent',
  },
  {
    label: 'supersim-sms-command (Super SIM)',
    target: 'smsCommands',
    node: { type: 'supersim-sms-command', api: 'supersim', sim: 'thermostat', commandMode: 'text', includeSid: 'none', deliveryReceipt: true },
    created: (sim) => sim.stats.created.sms,
    stored: (sim) => sim.smsCommands().filter((c) => c.direction === 'to_sim').map((c) => c.payload),
    device: 'thermostat',
    goal: 'delivered',
  },
  {
    label: 'supersim-sms-command (Wireless)',
    target: 'wirelessCommands',
    node: { type: 'supersim-sms-command', api: 'wireless', sim: 'meter', commandMode: 'text', includeSid: 'none', deliveryReceipt: false },
    created: (sim) => sim.stats.created.wireless,
    stored: (sim) => sim.wirelessCommands().filter((c) => c.direction === 'to_sim').map((c) => c.command),
    device: 'meter',
    goal: 'sent',
  },
];

/** A TCP forwarder on a fixed port: refused while closed, the simulator behind it once opened. */
export class Gate {
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;

  private constructor(readonly port: number) {}

  static async reserve(): Promise<Gate> {
    return new Gate(await freePort());
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async open(upstreamPort: number): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection(upstreamPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.#server = server;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export interface CaseContext {
  kind: SendNodeKind;
  /** The simulator the node talks to now; replaced when a case restarts it. */
  sim: Simulator;
  /** Every simulator of the case, so counts survive a restart. */
  sims: Simulator[];
  gate?: Gate;
  /** Starts a simulator like the case's first one on this port (the row decides its timing and devices). */
  restart(port: number): Promise<Simulator>;
}

export interface Expectation {
  outputs?: number;
  errors?: number;
  /** Messages reported as errors that the API nevertheless holds (an answer lost after it acted). */
  createdButFailed?: number;
  tokenRequests?: number;
  /** Every Catch error matches it. */
  errorPattern?: RegExp;
  /** The fault rule is still in force when the messages have ended (an unlimited one). */
  lingers?: boolean;
}

export interface FaultCase {
  name: string;
  /** Send one message before the fault, so a token is cached and a connection is open. */
  warmUp: boolean;
  /** The account's API URLs go through a gate that starts closed. */
  gated?: boolean;
  inject(ctx: CaseContext): void | Promise<void>;
  /** Runs while the messages are under way. */
  meanwhile?(ctx: CaseContext): Promise<void>;
  /** Ends the fault before the message that must succeed. */
  heal?(ctx: CaseContext): Promise<void>;
  expect: Expectation;
}

export const CASES: FaultCase[] = [
  {
    name: '429 with Retry-After, within the retries',
    warmUp: true,
    inject: ({ sim, kind }) => sim.faults.add({ target: kind.target, method: 'POST', times: 3 }, { kind: 'status', status: 429, retryAfter: RETRY_AFTER }),
    expect: { outputs: MESSAGES, errors: 0 },
  },
  {
    name: '429 past the retries',
    warmUp: true,
    inject: ({ sim, kind }) => sim.faults.add({ target: kind.target, method: 'POST', times: Infinity }, { kind: 'status', status: 429, retryAfter: RETRY_AFTER }),
    expect: { outputs: 0, errors: MESSAGES, lingers: true, errorPattern: /The provider is rate limiting this account \(HTTP 429.*still refused after 4 attempts/ },
  },
  {
    name: '500',
    warmUp: true,
    inject: ({ sim, kind }) => sim.faults.add({ target: kind.target, method: 'POST', times: 2 }, { kind: 'status', status: 500 }),
    expect: { outputs: MESSAGES - 2, errors: 2, createdButFailed: 0, errorPattern: /HTTP 500[,)].*may have been created anyway: it was not sent again/ },
  },
  {
    name: '503',
    warmUp: true,
    inject: ({ sim, kind }) => sim.faults.add({ target: kind.target, method: 'POST', times: 2 }, { kind: 'status', status: 503, retryAfter: RETRY_AFTER }),
    expect: { outputs: MESSAGES - 2, errors: 2, createdButFailed: 0, errorPattern: /HTTP 503[,)].*may have been created anyway: it was not sent again/ },
  },
  {
    name: 'connection reset before the API acts',
    warmUp: true,
    inject: ({ sim, kind }) => sim.faults.add({ target: kind.target, method: 'POST', times: 2 }, { kind: 'reset', when: 'before' }),
    // The request was written: the client cannot tell this from a reset after, so it must not resend.
    expect: { outputs: MESSAGES - 2, errors: 2, createdButFailed: 0, errorPattern: /may have been created: the connection to .* broke after the request was sent.*not sent again/ },
  },
  {
    name: 'connection reset after the API acted',
    warmUp: true,
    inject: ({ sim, kind }) => sim.faults.add({ target: kind.target, method: 'POST', times: 2 }, { kind: 'reset', when: 'after' }),
    expect: { outputs: MESSAGES - 2, errors: 2, createdButFailed: 2, errorPattern: /may have been created: the connection to .* broke after the request was sent.*not sent again/ },
  },
  {
    name: 'slow headers (past the headers timeout)',
    warmUp: true,
    inject: ({ sim, kind }) => sim.faults.add({ target: kind.target, method: 'POST', times: 2 }, { kind: 'delay', ms: 3 * FAST_TIMEOUTS.headersMs, phase: 'headers' }),
    expect: { outputs: MESSAGES - 2, errors: 2, createdButFailed: 2, errorPattern: /may have been created: .* did not answer in time after the request was sent.*UND_ERR_HEADERS_TIMEOUT.*not sent again/ },
  },
  {
    name: 'slow body (past the body timeout)',
    warmUp: true,
    inject: ({ sim, kind }) => sim.faults.add({ target: kind.target, method: 'POST', times: 2 }, { kind: 'delay', ms: 3 * FAST_TIMEOUTS.bodyMs, phase: 'body' }),
    expect: { outputs: MESSAGES - 2, errors: 2, createdButFailed: 2, errorPattern: /was created \(HTTP 201\), but its answer could not be read: .*stalled.*check the command list before resending/ },
  },
  {
    name: 'token endpoint 500',
    warmUp: false,
    // Every try of the one token request the messages share.
    inject: ({ sim }) => sim.faults.add({ target: 'token', times: DEFAULT_RETRY.maxAttempts }, { kind: 'status', status: 500 }),
    expect: { outputs: 0, errors: MESSAGES, createdButFailed: 0, tokenRequests: DEFAULT_RETRY.maxAttempts + 1, errorPattern: /The provider had an error while getting an access token \(HTTP 500.*Nothing was sent: .* needs an access token first/ },
  },
  {
    name: 'token endpoint timeout',
    warmUp: false,
    inject: ({ sim }) => sim.faults.add({ target: 'token', times: DEFAULT_RETRY.maxAttempts }, { kind: 'hang' }),
    expect: { outputs: 0, errors: MESSAGES, createdButFailed: 0, tokenRequests: DEFAULT_RETRY.maxAttempts + 1, errorPattern: /did not answer in time while getting an access token.*Nothing was sent: .* needs an access token first/ },
  },
  {
    name: 'expired token (401)',
    warmUp: true,
    inject: ({ sim }) => sim.revokeTokens(),
    // One refresh for all the messages rejected together, and each is sent once more, not twice.
    expect: { outputs: MESSAGES, errors: 0, tokenRequests: 2 },
  },
  {
    name: 'API host unreachable',
    warmUp: false,
    gated: true,
    inject: () => undefined,
    heal: async ({ gate, sim }) => (gate as Gate).open(sim.port),
    expect: { outputs: 0, errors: MESSAGES, createdButFailed: 0, errorPattern: /Could not reach .*: check the (Super SIM|Wireless) API URL.*ECONNREFUSED.*Nothing was sent/ },
  },
  {
    name: 'simulator down, then back',
    warmUp: true,
    inject: async (ctx) => {
      await ctx.sim.close();
    },
    meanwhile: async (ctx) => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      ctx.sim = await ctx.restart(ctx.sim.port);
      ctx.sims.push(ctx.sim);
    },
    // Retries that fall before the restart fail as "not sent"; those after it succeed. Either way, once.
    expect: { createdButFailed: 0, errorPattern: NOT_SENT },
  },
];


export const tagOf = (msg: Record<string, unknown>): string => String(msg.tag);
export const errorOf = (msg: Record<string, unknown>): string => String((msg.error as { message?: unknown } | undefined)?.message);
export const fillOf = (msg: Record<string, unknown>): unknown => (msg.status as { fill?: unknown } | undefined)?.fill;


const CATALOGUES = ['supersim-account', 'supersim-ip-command', 'supersim-sms-command'].map(
  (type) => JSON.parse(readFileSync(join(__dirname, '..', '..', 'nodes', 'locales', 'en-US', `${type}.json`), 'utf8')) as Record<string, unknown>,
);

function translate(key: string, substitutions: Record<string, unknown> = {}): string {
  for (const catalogue of CATALOGUES) {
    let text: unknown = catalogue;
    for (const part of key.split('.')) text = typeof text === 'object' && text !== null ? (text as Record<string, unknown>)[part] : undefined;
    if (typeof text === 'string') return text.replace(/__(\w+)__/g, (_, name: string) => String(substitutions[name] ?? ''));
  }
  return key;
}

/**
 * Loaded first: the helper's RED._ returns the bare key, so the errors users read (and the wording the
 * matrices check) would not be there. This gives the nodes the en-US catalogues instead.
 */
export function withMessages(RED: NodeAPI): void {
  RED._ = translate;
}
