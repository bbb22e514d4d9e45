/**
 * The flows B1–B3 run in one real Node-RED, and how they are driven.
 *
 * B1 (sending): three senders of the same IP Command, each driven by the same function node in a
 * closed loop: it starts `window` messages, and each time one comes back (an output, or a Catch
 * error) it records the latency from the timestamp it put on that message and starts the next, until
 * `n` have come back; then it answers the HTTP request that triggered it with the figures.
 *   - node: supersim-ip-command on an account node (maxInFlight at its default);
 *   - core: a function node that builds the form and the Authorization header, then a core
 *     `http request` node (keep-alive on);
 *   - raw: a function node calling SuperSimClient itself (the package's own client, default
 *     maxInFlight too), which is what the node costs beyond its client.
 * B2 (receiving): supersim-command-in on a Twilio account beside core `http in` → `http response`.
 * B3 (cold start): the B1 driver with window = n on a supersim-ip-command whose account has not been
 * used yet, so every message asks for the token at once.
 */
import { randomBytes } from 'node:crypto';

export interface BenchSimInfo {
  supersimUrl: string;
  wirelessUrl: string;
  tokenUrl: string;
  credentials: { clientId: string; clientSecret: string };
}

export type SendVariant = 'node' | 'core' | 'raw';
export const SEND_VARIANTS: SendVariant[] = ['node', 'core', 'raw'];

export const B2_ACCOUNT_SID = `AC${randomBytes(16).toString('hex')}`;
export const B2_AUTH_TOKEN = randomBytes(16).toString('hex');
export const B2_PATHS = { node: '/bench/in', core: '/bench/core' } as const;

/** The package's main entry, which is the client alone; deep paths are closed by package.json `exports`. */
const CLIENT_MODULE = 'node-red-contrib-supersim';
const PERF = { var: 'perf_hooks', module: 'perf_hooks' };

/** The closed-loop driver: the same code for every sender, so they are measured alike. */
const DRIVER = `
const now = () => perf_hooks.performance.now();
function nextMessage(state) {
  const i = state.sent++;
  return { payload: 'reading ' + i, bench: { i: i, t: now() } };
}
if (msg.req) {
  const n = Number(msg.payload.n), windowSize = Number(msg.payload.window);
  const state = { n: n, sent: 0, done: 0, errors: 0, firstError: null, lat: new Float64Array(n), started: now(), trigger: msg };
  context.set('state', state);
  const first = [];
  while (state.sent < Math.min(windowSize, n)) first.push(nextMessage(state));
  return [first, null];
}
const state = context.get('state');
if (!state || !msg.bench) return null;
state.lat[msg.bench.i] = now() - msg.bench.t;
const failed = msg.error !== undefined || (msg.statusCode !== undefined && msg.statusCode !== 201);
if (failed) {
  state.errors++;
  if (state.firstError === null) state.firstError = msg.error ? String(msg.error.message) : 'HTTP ' + msg.statusCode + ' ' + JSON.stringify(msg.payload).slice(0, 200);
}
state.done++;
const next = state.sent < state.n ? nextMessage(state) : null;
if (state.done < state.n) return [next, null];
const seconds = (now() - state.started) / 1000;
const sorted = Array.from(state.lat).sort((a, b) => a - b);
const reply = state.trigger;
context.set('state', undefined);
reply.payload = {
  n: state.n,
  seconds: seconds,
  perSecond: state.n / seconds,
  p50Ms: sorted[Math.floor(state.n * 0.5)],
  p99Ms: sorted[Math.min(state.n - 1, Math.floor(state.n * 0.99))],
  errors: state.errors,
  firstError: state.firstError,
};
return [next, reply];
`;

function coreForm(sim: BenchSimInfo, token: string): string {
  return `
msg.url = ${JSON.stringify(`${sim.supersimUrl}/v1/IpCommands`)};
msg.method = 'POST';
msg.headers = {
  'content-type': 'application/x-www-form-urlencoded',
  accept: 'application/json',
  authorization: ${JSON.stringify(`Bearer ${token}`)},
};
msg.payload = 'Sim=bench-device&Payload=' + encodeURIComponent(msg.payload) + '&DevicePort=6655&PayloadType=text';
return msg;
`;
}

function rawClientSetup(sim: BenchSimInfo): string {
  const options = {
    provider: 'kore',
    clientId: sim.credentials.clientId,
    clientSecret: sim.credentials.clientSecret,
    supersimUrl: sim.supersimUrl,
    wirelessUrl: sim.wirelessUrl,
    tokenUrl: sim.tokenUrl,
  };
  return `context.set('client', new supersim.SuperSimClient(${JSON.stringify(options)}));`;
}

const RAW_CLIENT_SEND = `
const client = context.get('client');
client.createIpCommand({ sim: 'bench-device', payload: msg.payload, devicePort: 6655, payloadType: 'text' }).then(
  (resource) => { msg.payload = resource; node.send(msg); node.done(); },
  (err) => node.error(err, msg),
);
return null;
`;

function position(y: number): { z: string; x: number; y: number } {
  return { z: 'bench', x: 200, y };
}

function driverNodes(name: string, y: number, senderId: string, catchScope: string[]): object[] {
  return [
    { id: `${name}-trigger`, type: 'http in', ...position(y), url: `/bench/${name}`, method: 'post', upload: false, wires: [[`${name}-driver`]] },
    {
      id: `${name}-driver`,
      type: 'function',
      ...position(y),
      name: `${name} driver`,
      func: DRIVER,
      outputs: 2,
      timeout: 0,
      noerr: 0,
      initialize: '',
      finalize: '',
      libs: [PERF],
      wires: [[senderId], [`${name}-reply`]],
    },
    { id: `${name}-reply`, type: 'http response', ...position(y), statusCode: '', headers: {}, wires: [] },
    { id: `${name}-catch`, type: 'catch', ...position(y + 40), scope: catchScope, uncaught: false, wires: [[`${name}-driver`]] },
  ];
}

function account(id: string, sim: BenchSimInfo): object {
  return { id, type: 'supersim-account', name: `bench ${id}`, provider: 'kore', supersimUrl: sim.supersimUrl, wirelessUrl: sim.wirelessUrl, tokenUrl: sim.tokenUrl, callbackBaseUrl: '' };
}

function ipNode(id: string, accountId: string, y: number, driverId: string): object {
  return { id, type: 'supersim-ip-command', ...position(y), name: '', account: accountId, sim: 'bench-device', devicePort: '6655', payloadType: 'text', callbackUrl: '', callbackMethod: '', track: false, trackTimeout: 300, wires: [[driverId], []] };
}

/** Every flow of B1–B3; `token` is a KORE token for the core variant's Authorization header. */
export function benchFlows(sim: BenchSimInfo, token: string, nodeRedUrl: string): { flows: object[]; credentials: Record<string, object> } {
  const flows: object[] = [
    { id: 'bench', type: 'tab', label: 'bench' },
    account('b1-account', sim),
    account('b3-account', sim),
    // B1 node
    ...driverNodes('b1-node', 100, 'b1-node-send', ['b1-node-send']),
    ipNode('b1-node-send', 'b1-account', 120, 'b1-node-driver'),
    // B1 core
    ...driverNodes('b1-core', 200, 'b1-core-form', ['b1-core-form', 'b1-core-request']),
    { id: 'b1-core-form', type: 'function', ...position(220), name: 'form and auth header', func: coreForm(sim, token), outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], wires: [['b1-core-request']] },
    {
      id: 'b1-core-request',
      type: 'http request',
      ...position(220),
      name: '',
      method: 'use',
      ret: 'obj',
      paytoqs: 'ignore',
      url: '',
      tls: '',
      persist: true,
      proxy: '',
      insecureHTTPParser: false,
      authType: '',
      senderr: false,
      headers: [],
      wires: [['b1-core-driver']],
    },
    // B1 raw client
    ...driverNodes('b1-raw', 300, 'b1-raw-send', ['b1-raw-send']),
    {
      id: 'b1-raw-send',
      type: 'function',
      ...position(320),
      name: 'SuperSimClient',
      func: RAW_CLIENT_SEND,
      outputs: 1,
      timeout: 0,
      noerr: 0,
      initialize: rawClientSetup(sim),
      finalize: "return context.get('client')?.close();",
      libs: [{ var: 'supersim', module: CLIENT_MODULE }],
      wires: [['b1-raw-driver']],
    },
    // B3
    ...driverNodes('b3', 400, 'b3-send', ['b3-send']),
    ipNode('b3-send', 'b3-account', 420, 'b3-driver'),
    // B2
    { id: 'b2-account', type: 'supersim-account', name: 'bench b2', provider: 'twilio', supersimUrl: '', wirelessUrl: '', tokenUrl: '', callbackBaseUrl: nodeRedUrl },
    { id: 'b2-in', type: 'supersim-command-in', ...position(500), name: '', account: 'b2-account', url: B2_PATHS.node, wires: [[], []] },
    { id: 'b2-core-in', type: 'http in', ...position(540), url: B2_PATHS.core, method: 'post', upload: false, wires: [['b2-core-out']] },
    { id: 'b2-core-out', type: 'http response', ...position(540), statusCode: '200', headers: {}, wires: [] },
  ];
  const credentials = {
    'b1-account': { clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret },
    'b3-account': { clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret },
    'b2-account': { accountSid: B2_ACCOUNT_SID, authToken: B2_AUTH_TOKEN },
  };
  return { flows, credentials };
}

/** Without the receiving node (not built yet), B2 is left out of the flows and the table says so. */
export function withoutCommandIn(flows: object[]): object[] {
  return flows.filter((node) => (node as { id: string }).id !== 'b2-in');
}

export interface DriveResult {
  n: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstError: string | null;
}

/** Runs one driver to the end: `n` messages, `window` at a time. */
export async function drive(nodeUrl: string, name: string, n: number, window: number): Promise<DriveResult> {
  const response = await fetch(new URL(`bench/${name}`, nodeUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ n, window }),
    signal: AbortSignal.timeout(300_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`bench/${name} answered HTTP ${response.status}: ${text}`);
  return JSON.parse(text) as DriveResult;
}
