/**
 * B7's flow: one supersim-ip-command that keeps trying (retryFor) a detached SIM, fed by a closed-loop
 * function node, and three small probes the bench reads over HTTP: the Catch errors, the node's
 * status as a core `status` node sees it (with Node-RED's own clock), and the heap after a full GC.
 */

export const B7_SEND_ID = 'b7-send';
/** The SIMs the messages go to, round robin: a Fleet of devices that sleep, each with a few messages pending. */
export const B7_SIMS = 1_000;
export const b7SimName = (i: number): string => `b7-sleeper-${i}`;
export const B7_PATHS = { fill: '/bench/b7/fill', stats: '/bench/b7/stats', heap: '/bench/b7/heap' } as const;
/** A day: no attempt gives up while the bench runs. */
const RETRY_FOR_SECONDS = 86_400;

export interface B7SimInfo {
  supersimUrl: string;
  wirelessUrl: string;
  tokenUrl: string;
  credentials: { clientId: string; clientSecret: string };
}

/** What GET stats answers. */
export interface B7Stats {
  /** Catch errors of the send node since this Node-RED started, and the first one's message. */
  caught: number;
  firstCaught: string | null;
  lastStatus: string;
  /** The largest "N to retry" the node's status showed, and when it first did (Date.now() in Node-RED). */
  maxRetry: number;
  maxRetryAt: number | null;
}

/** What GET heap answers: process.memoryUsage() after two full collections. */
export interface B7Heap {
  heapUsed: number;
  rss: number;
}

/**
 * Starts `window` messages, then one more each time a message comes back (output 1, or a Catch
 * error), until `n` are back; answers the HTTP request with how it went. Each message is a short text
 * for msg.sim, the next of `sims` SIMs.
 */
const FEEDER = `
function next(state) {
  const i = state.sent++;
  return { payload: 'reading ' + i, sim: 'b7-sleeper-' + (i % state.sims) };
}
if (msg.req) {
  const n = Number(msg.payload.n), windowSize = Number(msg.payload.window), sims = Number(msg.payload.sims);
  const state = { n: n, sims: sims, sent: 0, done: 0, errors: 0, firstError: null, started: Date.now(), trigger: msg };
  context.set('state', state);
  const first = [];
  while (state.sent < Math.min(windowSize, n)) first.push(next(state));
  return [first, null];
}
const state = context.get('state');
if (!state) return null;
if (msg.error !== undefined) {
  state.errors++;
  if (state.firstError === null) state.firstError = String(msg.error.message);
}
state.done++;
const more = state.sent < state.n ? next(state) : null;
if (state.done < state.n) return [more, null];
context.set('state', undefined);
const reply = state.trigger;
reply.payload = { n: state.n, seconds: (Date.now() - state.started) / 1000, errors: state.errors, firstError: state.firstError };
return [more, reply];
`;

const COUNT_CAUGHT = `
global.set('caught', (global.get('caught') || 0) + 1);
if (!global.get('firstCaught')) global.set('firstCaught', String(msg.error && msg.error.message));
return null;
`;

/** O(1) memory whatever the node shows: the probe must not grow the heap it helps to measure. */
const RECORD_STATUS = `
const text = String((msg.status && msg.status.text) || '');
global.set('lastStatus', text);
const match = /(\\d+) to retry/.exec(text);
if (match && Number(match[1]) > (global.get('maxRetry') || 0)) {
  global.set('maxRetry', Number(match[1]));
  global.set('maxRetryAt', Date.now());
}
return null;
`;

const STATS = `
msg.payload = {
  caught: global.get('caught') || 0,
  firstCaught: global.get('firstCaught') || null,
  lastStatus: global.get('lastStatus') || '',
  maxRetry: global.get('maxRetry') || 0,
  maxRetryAt: global.get('maxRetryAt') || null,
};
return msg;
`;

/** Node-RED runs with --expose-gc; a function node reaches the main context's gc and process through vm. */
const HEAP = `
const gc = vm.runInThisContext('typeof gc === "function" ? gc : undefined');
if (gc === undefined) {
  msg.statusCode = 500;
  msg.payload = { error: 'Node-RED was not started with --expose-gc' };
  return msg;
}
gc();
gc();
const usage = vm.runInThisContext('process').memoryUsage();
msg.payload = { heapUsed: usage.heapUsed, rss: usage.rss };
return msg;
`;

function at(y: number): { z: string; x: number; y: number } {
  return { z: 'b7', x: 200, y };
}

function functionNode(id: string, y: number, func: string, outputs: number, wires: string[][], libs: { var: string; module: string }[] = []): object {
  return { id, type: 'function', ...at(y), name: id, func, outputs, timeout: 0, noerr: 0, initialize: '', finalize: '', libs, wires };
}

function endpoint(name: string, method: 'get' | 'post', url: string, y: number, func: string, libs: { var: string; module: string }[] = []): object[] {
  return [
    { id: `b7-${name}-in`, type: 'http in', ...at(y), url, method, upload: false, wires: [[`b7-${name}`]] },
    functionNode(`b7-${name}`, y, func, 1, [[`b7-${name}-out`]], libs),
    { id: `b7-${name}-out`, type: 'http response', ...at(y), statusCode: '', headers: {}, wires: [] },
  ];
}

/** The whole flow; `withSendNode: false` is the same flow after the send node was deleted. */
export function pendingFlows(sim: B7SimInfo, withSendNode = true): { flows: object[]; credentials: Record<string, object> } {
  const flows: object[] = [
    { id: 'b7', type: 'tab', label: 'B7 pending attempts' },
    { id: 'b7-account', type: 'supersim-account', name: 'b7', provider: 'kore', supersimUrl: sim.supersimUrl, wirelessUrl: sim.wirelessUrl, tokenUrl: sim.tokenUrl, callbackBaseUrl: '' },
    { id: 'b7-fill-in', type: 'http in', ...at(100), url: B7_PATHS.fill, method: 'post', upload: false, wires: [['b7-feeder']] },
    functionNode('b7-feeder', 100, FEEDER, 2, [withSendNode ? [B7_SEND_ID] : [], ['b7-fill-out']]),
    { id: 'b7-fill-out', type: 'http response', ...at(100), statusCode: '', headers: {}, wires: [] },
    { id: 'b7-catch', type: 'catch', ...at(160), scope: [B7_SEND_ID], uncaught: false, wires: [['b7-feeder', 'b7-count-caught']] },
    functionNode('b7-count-caught', 160, COUNT_CAUGHT, 1, [[]]),
    { id: 'b7-status', type: 'status', ...at(200), scope: [B7_SEND_ID], wires: [['b7-record-status']] },
    functionNode('b7-record-status', 200, RECORD_STATUS, 1, [[]]),
    ...endpoint('stats', 'get', B7_PATHS.stats, 240, STATS),
    ...endpoint('heap', 'get', B7_PATHS.heap, 280, HEAP, [{ var: 'vm', module: 'vm' }]),
  ];
  if (withSendNode) {
    flows.push({
      id: B7_SEND_ID,
      type: 'supersim-ip-command',
      ...at(120),
      name: '',
      account: 'b7-account',
      sim: '',
      devicePort: '6655',
      payloadType: 'text',
      callbackUrl: '',
      callbackMethod: '',
      track: false,
      trackTimeout: 300,
      waitAnswer: false,
      answerTimeout: 60,
      retryFor: RETRY_FOR_SECONDS,
      outputs: 2,
      wires: [['b7-feeder'], []],
    });
  }
  const credentials = { 'b7-account': { clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret } };
  return { flows, credentials };
}
