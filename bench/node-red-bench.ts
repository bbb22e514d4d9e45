/**
 * B1 (sending), B2 (receiving) and B3 (cold start) in one real Node-RED with this package installed
 * (the built dist/), against a simulator in a process of its own.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { twilioSignature } from '../src/callbacks';
import { deployFlows, startNodeRed } from '../test/support/node-red-process';
import type { NodeRedInstance } from '../test/support/node-red-process';
import { B2_AUTH_TOKEN, B2_PATHS, B2_ACCOUNT_SID, SEND_VARIANTS, benchFlows, drive, withoutCommandIn } from './node-red-flows';
import type { DriveResult, SendVariant } from './node-red-flows';
import { startSimulatorProcess } from './sim-control';

const PROJECT_ROOT = path.resolve(__dirname, '..');

export interface NodeRedBenchOptions {
  /** B1: messages per variant per round. */
  sendMessages: number;
  /** B1: messages in flight per driver (the closed loop's window). */
  sendWindow: number;
  sendRounds: number;
  /** B2 */
  receiveSeconds: number;
  receiveConnections: number;
  /** B3 */
  coldMessages: number;
  log(line: string): void;
}

export interface SendFigures extends DriveResult {
  variant: SendVariant;
}

export interface ReceiveFigures {
  variant: 'node' | 'core' | 'memory' | 'redis';
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
}

export interface NodeRedBenchResult {
  send: Record<SendVariant, SendFigures>;
  receive: { node: ReceiveFigures; core: ReceiveFigures } | { skipped: string };
  cold: { messages: number; tokenRequests: number; seconds: number; errors: number; firstError: string | null };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** A function node may use a module only if the userDir's package.json lists it (Node-RED's rule for `libs`). */
function allowClientModule(userDir: string): void {
  const file = path.join(userDir, 'package.json');
  const pkg: { dependencies?: Record<string, string> } & Record<string, unknown> = existsSync(file)
    ? JSON.parse(readFileSync(file, 'utf8'))
    : { name: 'bench-user-dir', private: true };
  pkg.dependencies = { ...pkg.dependencies, 'node-red-contrib-supersim': '*' };
  writeFileSync(file, JSON.stringify(pkg, null, 2));
}

async function fetchToken(tokenUrl: string, clientId: string, clientSecret: string): Promise<string> {
  const response = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token from the simulator: HTTP ${response.status}`);
  return body.access_token;
}

/** The next request's body and headers: each call makes another one. */
export type RequestFor = () => { body: string; headers: Record<string, string> };

/**
 * One autocannon run. Every request is another event (its own CommandSid, so its own signature) under
 * its own idempotency token, as a busy Fleet sends them: command-in emits each, none is a duplicate.
 * The core flow gets the same bodies and headers, so both cost the load generator alike.
 */
export function cannon(url: string, seconds: number, connections: number, requestFor: RequestFor): Promise<autocannon.Result> {
  const first = requestFor();
  return autocannon({
    url,
    connections,
    duration: seconds,
    method: 'POST',
    headers: first.headers,
    body: first.body,
    requests: [
      {
        setupRequest: (request) => {
          const next = requestFor();
          return { ...request, body: next.body, headers: { ...request.headers, ...next.headers } };
        },
      },
    ],
  });
}

/**
 * Status callbacks as a busy Fleet sends them, one per call: each another event (its own CommandSid,
 * so its own signature) under its own idempotency token, so command-in emits each and none is a
 * duplicate. Signed for `signedFor`; without it the signature is computed all the same (for
 * `computeFor`) and left out, so a core flow costs the load generator alike.
 */
export function signedCallbacks(computeFor: string, signedFor: string | undefined): RequestFor {
  const prefix = Math.random().toString(36).slice(2);
  const paramsFor = (n: number): Record<string, string> => ({
    AccountSid: B2_ACCOUNT_SID,
    CommandSid: `HG${n.toString(16).padStart(32, '0')}`,
    SimSid: `HS${'fedcba9876543210'.repeat(2)}`,
    SimUniqueName: 'bench-device',
    Status: 'sent',
    Direction: 'to_sim',
    PayloadType: 'text',
    ApiVersion: 'v1',
  });
  // One counter per target across its warm-up and runs: a CommandSid seen before would be a duplicate.
  let n = 0;
  return () => {
    n++;
    const params = paramsFor(n);
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      'i-twilio-idempotency-token': `${prefix}-${n}`,
    };
    const signature = twilioSignature(B2_AUTH_TOKEN, signedFor ?? computeFor, params);
    if (signedFor !== undefined) headers['x-twilio-signature'] = signature;
    return { body: new URLSearchParams(params).toString(), headers };
  };
}

export function receiveFigures(variant: ReceiveFigures['variant'], result: autocannon.Result): ReceiveFigures {
  return {
    variant,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/** One variant's halves as one run of `seconds`: the requests added up, the latencies averaged (the halves had no failures). */
export function combinedFigures(variant: ReceiveFigures['variant'], halves: ReceiveFigures[], seconds: number): ReceiveFigures {
  const requests = halves.reduce((sum, r) => sum + r.requests, 0);
  return {
    variant,
    requestsPerSecond: requests / seconds,
    p50Ms: halves.reduce((sum, r) => sum + r.p50Ms, 0) / halves.length,
    p99Ms: halves.reduce((sum, r) => sum + r.p99Ms, 0) / halves.length,
    requests,
    non2xx: 0,
    errors: 0,
  };
}

export async function runNodeRedBench(options: NodeRedBenchOptions): Promise<NodeRedBenchResult> {
  const log = options.log;
  const hasCommandIn = existsSync(path.join(PROJECT_ROOT, 'dist', 'nodes', 'supersim-command-in.js'));
  const sim = await startSimulatorProcess({ mode: 'kore', sims: [{ uniqueName: 'bench-device' }], maxStoredCommands: 1_000 });
  let nodeRed: NodeRedInstance | undefined;
  try {
    nodeRed = await startNodeRed({ settings: { functionExternalModules: true, logging: { console: { level: 'info', metrics: false, audit: false } } } });
    allowClientModule(nodeRed.userDir);
    const token = await fetchToken(sim.tokenUrl, sim.credentials.clientId, sim.credentials.clientSecret);
    const { flows, credentials } = benchFlows(sim, token, nodeRed.url);
    await deployFlows(nodeRed, hasCommandIn ? flows : withoutCommandIn(flows), credentials);

    // B1: warm every variant (JIT, pools, the account's token), then rounds in alternating order, so
    // drift in the machine's load touches every variant alike.
    const perRound = Math.ceil(options.sendMessages / options.sendRounds);
    log(`B1: ${perRound * options.sendRounds} messages per variant in ${options.sendRounds} rounds, ${options.sendWindow} in flight`);
    for (const variant of SEND_VARIANTS) await drive(nodeRed.nodeUrl, `b1-${variant}`, Math.min(2_000, perRound), options.sendWindow);
    const rounds: Record<SendVariant, DriveResult[]> = { node: [], core: [], raw: [] };
    for (let round = 0; round < options.sendRounds; round++) {
      const order = round % 2 === 0 ? SEND_VARIANTS : [...SEND_VARIANTS].reverse();
      for (const variant of order) {
        const result = await drive(nodeRed.nodeUrl, `b1-${variant}`, perRound, options.sendWindow);
        if (result.errors > 0) throw new Error(`B1 ${variant}: ${result.errors} of ${result.n} failed, first: ${result.firstError}`);
        rounds[variant].push(result);
        log(`  round ${round + 1} ${variant.padEnd(5)} ${Math.round(result.perSecond)}/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms`);
      }
    }
    const send = Object.fromEntries(
      SEND_VARIANTS.map((variant) => {
        const results = rounds[variant];
        const n = results.reduce((sum, r) => sum + r.n, 0);
        const seconds = results.reduce((sum, r) => sum + r.seconds, 0);
        const figures: SendFigures = {
          variant,
          n,
          seconds,
          perSecond: n / seconds,
          p50Ms: median(results.map((r) => r.p50Ms)),
          p99Ms: median(results.map((r) => r.p99Ms)),
          errors: 0,
          firstError: null,
        };
        return [variant, figures];
      }),
    ) as Record<SendVariant, SendFigures>;

    // B3: the cold account's first use, all messages at once.
    log(`B3: ${options.coldMessages} messages at once on an account not used before`);
    const tokensBefore = (await sim.stats()).tokenRequests;
    const cold = await drive(nodeRed.nodeUrl, 'b3', options.coldMessages, options.coldMessages);
    const tokensAfter = (await sim.stats()).tokenRequests;

    // B2
    let receive: NodeRedBenchResult['receive'];
    if (!hasCommandIn) {
      receive = { skipped: 'supersim-command-in is not built yet (dist/nodes/supersim-command-in.js missing)' };
    } else {
      log(`B2: autocannon ${options.receiveSeconds} s at ${options.receiveConnections} connections, each target`);
      const nodeUrl = new URL(B2_PATHS.node.slice(1), nodeRed.nodeUrl).toString();
      const coreUrl = new URL(B2_PATHS.core.slice(1), nodeRed.nodeUrl).toString();
      const requestFor = (signedFor: string | undefined): RequestFor => signedCallbacks(nodeUrl, signedFor);
      const nodeRequests = requestFor(nodeUrl);
      const coreRequests = requestFor(undefined);
      // Warm both; then each target for half the time, twice, in the order node, core, core, node.
      await cannon(nodeUrl, 2, options.receiveConnections, nodeRequests);
      await cannon(coreUrl, 2, options.receiveConnections, coreRequests);
      const half = options.receiveSeconds / 2;
      const halves: Record<'node' | 'core', ReceiveFigures[]> = { node: [], core: [] };
      for (const variant of ['node', 'core', 'core', 'node'] as const) {
        const run = receiveFigures(variant, await cannon(variant === 'node' ? nodeUrl : coreUrl, half, options.receiveConnections, variant === 'node' ? nodeRequests : coreRequests));
        log(`  ${variant.padEnd(5)} ${Math.round(run.requestsPerSecond)}/s  p99 ${run.p99Ms} ms  (${run.requests} requests, ${run.non2xx} non-2xx, ${run.errors} errors)`);
        if (run.non2xx > 0 || run.errors > 0) throw new Error(`B2 ${variant}: ${run.non2xx} non-2xx answers and ${run.errors} errors`);
        halves[variant].push(run);
      }
      receive = { node: combinedFigures('node', halves.node, options.receiveSeconds), core: combinedFigures('core', halves.core, options.receiveSeconds) };
    }

    return {
      send,
      receive,
      cold: { messages: cold.n, tokenRequests: tokensAfter - tokensBefore, seconds: cold.seconds, errors: cold.errors, firstError: cold.firstError },
    };
  } catch (err) {
    // Some errors (undici's among them) have a read-only message: wrap rather than append.
    if (nodeRed && err instanceof Error) throw new Error(`${err.message}\nNode-RED output:\n${nodeRed.logs().slice(-4000)}`, { cause: err });
    throw err;
  } finally {
    await nodeRed?.stop();
    await sim.stop();
  }
}
