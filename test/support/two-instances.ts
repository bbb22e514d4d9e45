/**
 * Two real Node-RED processes sharing state through one real redis-server, as a high-availability
 * deployment runs them: the package packed and installed from its tarball into each user directory
 * (scripts/start.ts, as `npm start` and the compatibility run do), one simulator, and a load balancer
 * in front of both that the provider's callbacks reach (the account's Public URL is the balancer's).
 * Both instances run the same flows; what their nodes emit is posted by the flows themselves to a
 * collector here, so nothing is missed across a SIGKILL or a redeploy.
 *
 * Everything listens on 127.0.0.1.
 */
import { request as httpRequest, createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installPackage, packPackage, startNodeRedProcess } from '../../scripts/start';
import type { NodeRedProcess } from '../../scripts/start';
import { Simulator } from '../../src/simulator';
import type { SimulatedSimOptions, SimulatorTiming } from '../../src/simulator/types';
import { freePort } from './net';
import { deployFlows, nodeRedPid } from './node-red-process';
import { startRedisServer } from './redis-server';
import type { RedisServer } from './redis-server';

export type InstanceName = 'A' | 'B';

/** Where the command-in node of the test flows listens, and the default Fleet sends devices' data. */
export const COMMANDS_PATH = '/supersim/commands';
/** The tab env variable the recorder nodes read to say which instance emitted. */
const INSTANCE_ENV = 'SUPERSIM_RIG_INSTANCE';

// ---- what the flows emit ----------------------------------------------------------------------

/** One message a recorder node posted: which instance, which node output (the recorder's name), and what it carried. */
export interface Emitted {
  instance: InstanceName;
  /** The recorder node's name, e.g. "in:1" or "send:2". */
  source: string;
  /** A string payload, or a Buffer's as UTF-8. */
  text?: string;
  sid?: string;
  status?: string;
  /** An answer's: the SID of the command it answers (msg.request.sid); `sid` is the answer's own. */
  requestSid?: string;
  /** What a command carried: msg.payload.payload, msg.request.payload for an answer, else msg.tag (see tagNode). */
  payload?: string;
  attempt?: number;
  error?: string;
  /** From a Status node: the status text of the node `statusOf`. */
  statusText?: string;
  statusOf?: string;
  /** When the collector got it. */
  at: number;
}

/**
 * A function node's body that turns any message into an Emitted for the collector: a send node's
 * outputs (payload the resource, msg.attempt), command-in's (msg.command), an answer (msg.request),
 * a Catch (msg.error) or a Status node (msg.status).
 */
const RECORD = `
const p = msg.payload;
const obj = p !== null && typeof p === 'object' && !Buffer.isBuffer(p) ? p : undefined;
const request = msg.request && typeof msg.request === 'object' ? msg.request : undefined;
return {
  headers: { 'content-type': 'application/json' },
  payload: {
    instance: env.get('${INSTANCE_ENV}'),
    source: node.name,
    text: Buffer.isBuffer(p) ? p.toString('utf8') : (typeof p === 'string' ? p : undefined),
    sid: (obj && obj.sid) || (msg.command && msg.command.sid) || (request && request.sid) || undefined,
    status: (obj && obj.status) || (msg.command && msg.command.status) || undefined,
    requestSid: request && request.sid,
    payload: [obj && obj.payload, request && request.payload, msg.tag].find((v) => typeof v === 'string'),
    attempt: msg.attempt,
    error: msg.error ? String(msg.error.message) : undefined,
    statusText: msg.status && typeof msg.status === 'object' ? msg.status.text : undefined,
    statusOf: msg.status && msg.status.source ? msg.status.source.id : undefined,
  },
};`;

/** Receives what the recorder nodes of both instances post. */
export class Collector {
  readonly emitted: Emitted[] = [];
  readonly #server: Server;
  url = '';

  private constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        try {
          this.emitted.push({ ...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<Emitted, 'at'>), at: Date.now() });
        } catch {
          // not a recorder's post
        }
        res.end('ok');
      });
    });
  }

  static async start(): Promise<Collector> {
    const collector = new Collector();
    const server = collector.#server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    collector.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/collect`;
    return collector;
  }

  of(match: Partial<Pick<Emitted, 'instance' | 'source' | 'sid' | 'requestSid' | 'status' | 'payload' | 'text'>>): Emitted[] {
    return this.emitted.filter((e) => Object.entries(match).every(([key, value]) => e[key as keyof Emitted] === value));
  }

  async waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const shown = (): string => this.emitted.slice(-60).map((e) => JSON.stringify(e)).join('\n  ') || '(nothing)';
    await waitUntil(condition, what, timeoutMs).catch((error: Error) => {
      throw new Error(`${error.message}; collected last:\n  ${shown()}`);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 15_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

// ---- the load balancer ------------------------------------------------------------------------

/** A request as the balancer received it: replayable, byte for byte, to either instance. */
export interface CapturedRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The form fields of the body (the providers' callbacks are form-encoded). */
  params: Record<string, string>;
}

/**
 * Where the balancer sends a request: to one instance (the other when that one does not answer, as
 * a balancer's health check would), to both one after the other (a balancer retrying on the second
 * what the first took too long to answer), or nowhere yet: 'capture' answers 200 and keeps the
 * request in `captured`, for the test to deliver later, in the order and to the instance it wants.
 */
export type Route = InstanceName | 'both' | 'capture';

export interface Forwarded {
  request: CapturedRequest;
  to: InstanceName[];
  statuses: number[];
}

export class LoadBalancer {
  /** Decides per request; default: alternately A and B. */
  route: (request: CapturedRequest) => Route;
  readonly captured: CapturedRequest[] = [];
  readonly forwarded: Forwarded[] = [];
  url = '';
  readonly #server: Server;
  readonly #instances: () => Record<InstanceName, RigInstance>;
  #next: InstanceName = 'A';

  constructor(instances: () => Record<InstanceName, RigInstance>) {
    this.#instances = instances;
    this.route = () => {
      const to = this.#next;
      this.#next = to === 'A' ? 'B' : 'A';
      return to;
    };
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const captured: CapturedRequest = {
          method: req.method ?? 'POST',
          url: req.url ?? '/',
          headers: req.headers,
          body,
          params: Object.fromEntries(new URLSearchParams(body.toString('utf8'))),
        };
        void this.#handle(captured).then(
          ({ status, text }) => res.writeHead(status, { 'content-type': 'text/plain' }).end(text),
          (error: unknown) => res.writeHead(502).end(String(error)),
        );
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async #handle(request: CapturedRequest): Promise<{ status: number; text: string }> {
    const route = this.route(request);
    if (route === 'capture') {
      this.captured.push(request);
      return { status: 200, text: '' };
    }
    const instances = this.#instances();
    const order: InstanceName[] = route === 'both' ? ['A', 'B'] : [route, route === 'A' ? 'B' : 'A'];
    const record: Forwarded = { request, to: [], statuses: [] };
    this.forwarded.push(record);
    let last: { status: number; text: string } | undefined;
    for (const name of order) {
      const answer = await instances[name].deliver(request).catch(() => undefined);
      if (answer === undefined) continue;
      record.to.push(name);
      record.statuses.push(answer.status);
      last = answer;
      if (route !== 'both') break;
    }
    return last ?? { status: 502, text: 'no instance answered' };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }
}

// ---- the instances ----------------------------------------------------------------------------

export class RigInstance {
  readonly name: InstanceName;
  readonly userDir: string;
  readonly process: NodeRedProcess;
  #killed = false;

  constructor(name: InstanceName, userDir: string, nodeRed: NodeRedProcess) {
    this.name = name;
    this.userDir = userDir;
    this.process = nodeRed;
    void nodeRed.exited.then(() => (this.#killed = true));
  }

  get url(): string {
    return this.process.url;
  }

  /** Whether the process still runs. */
  get alive(): boolean {
    return !this.#killed;
  }

  logs(): string {
    return this.process.logs();
  }

  /** Full deploy; the tabs get the env variable the recorders read. */
  async deploy(flows: object[], credentials: Record<string, object>): Promise<void> {
    const tagged = flows.map((node) =>
      (node as { type?: string }).type === 'tab' ? { ...node, env: [{ name: INSTANCE_ENV, value: this.name, type: 'str' }] } : node,
    );
    await deployFlows({ adminUrl: `${this.url}/` }, tagged, credentials);
  }

  /** Sends a captured request (a provider's signed callback) to this instance as it was received; rejects when it does not answer. */
  deliver(request: CapturedRequest): Promise<{ status: number; text: string }> {
    const target = new URL(request.url, this.url);
    const headers = { ...request.headers, host: target.host, 'content-length': String(request.body.length) };
    delete headers.connection;
    delete headers['transfer-encoding'];
    return new Promise((resolve, reject) => {
      const req = httpRequest(target, { method: request.method, headers, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${this.name} did not answer ${request.url} in time`)));
      req.on('error', reject);
      req.end(request.body);
    });
  }

  /** POSTs text to an http-in path of the flows (how the tests trigger a send node). */
  async post(path: string, body: string): Promise<number> {
    const response = await fetch(new URL(path, this.url), { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
    await response.arrayBuffer();
    return response.status;
  }

  /** SIGKILL: a crash, nothing stopped or flushed. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    const pid = nodeRedPid(this.userDir);
    if (pid === undefined) throw new Error(`found no Node-RED of instance ${this.name} running in ${this.userDir}`);
    process.kill(pid, 'SIGKILL');
    await this.process.exited;
  }

  stop(): Promise<void> {
    return this.process.stop();
  }
}

// ---- the rig ----------------------------------------------------------------------------------

export interface RigOptions {
  /** Merged into both instances' settings.js; supersim.redis.url is set to the rig's Redis. */
  settings?: Record<string, unknown>;
  /** supersim.redis.leaseMs */
  leaseMs?: number;
  sims: SimulatedSimOptions[];
  timing?: SimulatorTiming;
}

export interface Rig {
  redis: RedisServer;
  simulator: Simulator;
  balancer: LoadBalancer;
  collector: Collector;
  instances: Record<InstanceName, RigInstance>;
  a: RigInstance;
  b: RigInstance;
  /** The account node (callbacks to the balancer) and its credentials, the same on both instances. */
  account(id?: string): { node: Record<string, unknown>; credentials: Record<string, object> };
  /** A recorder (function node named `source`) wired to the collector; put its id in a node's wires. */
  recorder(id: string, source: string, z?: string): object;
  /** A change node setting msg.tag to msg.payload, so that every output of a send node says which message it is about. */
  tagNode(id: string, wires: string[], z?: string): object;
  /** The http request node every recorder posts through; include it once per flow. */
  collectorNode(z?: string): object;
  /** Both instances' full deploy of the same flows. */
  deployBoth(flows: object[], credentials: Record<string, object>): Promise<void>;
  close(): Promise<void>;
}

const COLLECT_NODE = 'rig-collect';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Packs the package once (`npm pack`, which builds it) and starts everything; close() ends it all. */
export async function startRig(options: RigOptions): Promise<Rig> {
  const workDir = mkdtempSync(join(tmpdir(), 'supersim-two-'));
  const started: { close(): Promise<void> }[] = [];
  try {
    const redis = await startRedisServer();
    started.push({ close: () => redis.stop() });
    const collector = await Collector.start();
    started.push(collector);
    const holder: { instances?: Record<InstanceName, RigInstance> } = {};
    const balancer = new LoadBalancer(() => {
      if (holder.instances === undefined) throw new Error('the instances are not started yet');
      return holder.instances;
    });
    await balancer.listen();
    started.push(balancer);
    const simulator = await Simulator.start({
      mode: 'kore',
      sims: options.sims,
      fleets: [{ uniqueName: 'default', ipCommandsUrl: balancer.url + COMMANDS_PATH }],
      timing: options.timing,
    });
    started.push(simulator);

    const tarball = await packPackage(workDir);
    const userDirs = { A: join(workDir, 'userdir-a'), B: join(workDir, 'userdir-b') };
    await Promise.all(Object.values(userDirs).map((dir) => installPackage(dir, tarball)));
    const given = options.settings ?? {};
    const supersim = isRecord(given.supersim) ? given.supersim : {};
    const redisSettings = { ...(isRecord(supersim.redis) ? supersim.redis : {}), url: redis.url, ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}) };
    const settings = { ...given, supersim: { ...supersim, redis: redisSettings } };
    const start = async (name: InstanceName): Promise<RigInstance> => {
      const nodeRed = await startNodeRedProcess({ port: await freePort(), userDir: userDirs[name], settings, flows: [] });
      return new RigInstance(name, userDirs[name], nodeRed);
    };
    const [a, b] = await Promise.all([start('A'), start('B')]);
    const all = { A: a, B: b };
    holder.instances = all;
    started.push({ close: () => Promise.all([a.stop(), b.stop()]).then(() => undefined) });

    const c = simulator.credentials;
    return {
      redis,
      simulator,
      balancer,
      collector,
      instances: all,
      a,
      b,
      account: (id = 'account') => ({
        node: {
          id,
          type: 'supersim-account',
          name: 'simulator',
          provider: 'kore',
          supersimUrl: simulator.supersimUrl,
          wirelessUrl: simulator.wirelessUrl,
          tokenUrl: simulator.tokenUrl,
          callbackBaseUrl: balancer.url,
        },
        credentials: { [id]: { clientId: c.clientId, clientSecret: c.clientSecret, webhookSecret: c.webhookSecret } },
      }),
      recorder: (id, source, z = 'tab') => ({ id, type: 'function', z, x: 600, y: 100, name: source, func: RECORD, outputs: 1, wires: [[COLLECT_NODE]] }),
      tagNode: (id, wires, z = 'tab') => ({
        id,
        type: 'change',
        z,
        x: 200,
        y: 100,
        name: 'msg.tag = msg.payload',
        rules: [{ t: 'set', p: 'tag', pt: 'msg', to: 'payload', tot: 'msg' }],
        wires: [wires],
      }),
      collectorNode: (z = 'tab') => ({
        id: COLLECT_NODE,
        type: 'http request',
        z,
        x: 800,
        y: 100,
        name: 'to the collector',
        method: 'POST',
        ret: 'txt',
        paytoqs: 'ignore',
        url: collector.url,
        tls: '',
        persist: true,
        proxy: '',
        insecureHTTPParser: false,
        authType: '',
        senderr: false,
        headers: [],
        wires: [[]],
      }),
      deployBoth: async (flows, credentials) => {
        await Promise.all([a.deploy(flows, credentials), b.deploy(flows, credentials)]);
      },
      close: async () => {
        for (const item of started.reverse()) await item.close().catch(() => undefined);
        rmSync(workDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const item of started.reverse()) await item.close().catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true });
    throw error;
  }
}
