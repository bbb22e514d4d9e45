/**
 * B6: listing 10 000 SIMs through supersim-sims (split) in a real Node-RED runtime, beside the raw
 * client's iterator in the same process and the same run, against a simulator in a process of its
 * own; and the heap while the node lists, read after a full GC at each tenth of the list.
 *
 *   npx tsx bench/sims-bench.ts [--sims 10000] [--rounds 9]      prints the result as JSON
 *   BENCH_B6_PROFILE=<dir> writes a CPU profile of the measured process there.
 *
 * This file plays three parts: the parent (runSimsBenchmark), the simulator (SUPERSIM_B6_ROLE=simulator)
 * and the measured process (SUPERSIM_B6_ROLE=measure, with --expose-gc), which embeds Node-RED.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type * as Api from '../src/api';
import { Simulator, generateSims } from '../src/simulator';
import type { SimulatorCredentials } from '../src/simulator';

const PROJECT_ROOT = path.resolve(__dirname, '..');
const FLEET = 'bench-fleet';
const MB = 1024 * 1024;
/** "Flat": what the heap grows while the node lists, as a share of what holding the whole list takes. */
export const B6_FLAT_RATIO = 0.1;
export const B6_GOAL_RATIO = 0.8;

export interface SimsBenchOptions {
  sims?: number;
  rounds?: number;
  log?: (line: string) => void;
}

export interface HeapPoint {
  listed: number;
  heapUsedBytes: number;
}

export interface SimsBenchResult {
  sims: number;
  rounds: number;
  /** SIMs per second, the median round of each; `ratio` is the median of the rounds' ratios (raw time / node time). */
  node: { perSecond: number; medianMs: number };
  raw: { perSecond: number; medianMs: number };
  ratio: number;
  heap: {
    points: HeapPoint[];
    /** The last point minus the first (at a tenth of the list): what the node kept while listing. */
    growthBytes: number;
    /** What the whole list takes once held (the `array` output), the same run. */
    wholeListBytes: number;
    growthRatio: number;
  };
}

/** The same fields as bench/run.ts's table rows. */
export interface SimsRow {
  id: string;
  figure: string;
  measured: string;
  baseline: string;
  ratio: string;
  goal: string;
  met: 'yes' | 'NO' | '-';
}

interface SimulatorReady {
  supersimUrl: string;
  wirelessUrl: string;
  tokenUrl: string;
  credentials: SimulatorCredentials;
}

interface MeasureInput extends SimulatorReady {
  sims: number;
  rounds: number;
}

function forkRole(role: 'simulator' | 'measure', env: Record<string, string>, execArgv: string[]): ChildProcess {
  return fork(__filename, [], {
    execArgv: [...execArgv, '--require', 'tsx/cjs'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, SUPERSIM_B6_ROLE: role, ...env },
  });
}

function firstMessage<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`the ${what} process exited (${code}) before it answered`));
    child.once('message', (message) => {
      child.off('exit', onExit);
      const answer = message as { error?: string };
      if (typeof answer.error === 'string') reject(new Error(`${what}: ${answer.error}`));
      else resolve(message as T);
    });
    child.once('exit', onExit);
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.disconnect();
  });
}

export async function runSimsBenchmark(options: SimsBenchOptions = {}): Promise<SimsBenchResult> {
  const sims = options.sims ?? 10_000;
  const rounds = options.rounds ?? 9;
  const log = options.log ?? (() => undefined);
  const simulator = forkRole('simulator', { SUPERSIM_B6_SIMS: String(sims) }, []);
  try {
    const ready = await firstMessage<SimulatorReady>(simulator, 'simulator');
    log(`  simulator ready with ${sims} SIMs in Fleet ${FLEET}; ${rounds} rounds of the raw client and the node, alternating`);
    const input: MeasureInput = { ...ready, sims, rounds };
    const measure = forkRole('measure', { SUPERSIM_B6_INPUT: JSON.stringify(input) }, ['--expose-gc', ...(process.env.BENCH_B6_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_B6_PROFILE}`] : [])]);
    try {
      return await firstMessage<SimsBenchResult>(measure, 'measuring');
    } finally {
      await stop(measure);
    }
  } finally {
    await stop(simulator);
  }
}

export function simsRow(result: SimsBenchResult): SimsRow {
  const { node, raw, heap } = result;
  const flat = heap.growthRatio < B6_FLAT_RATIO;
  return {
    id: 'B6',
    figure: `SIMs/s listed, supersim-sims split (${result.sims.toLocaleString('en')} SIMs)`,
    measured: `${Math.round(node.perSecond).toLocaleString('en')}/s; heap ${heap.growthBytes >= 0 ? '+' : ''}${(heap.growthBytes / MB).toFixed(2)} MB while listing`,
    baseline: `raw client iterator ${Math.round(raw.perSecond).toLocaleString('en')}/s; whole list held ${(heap.wholeListBytes / MB).toFixed(1)} MB`,
    ratio: `${result.ratio.toFixed(2)}x`,
    goal: `>= ${B6_GOAL_RATIO}x, heap flat (< ${B6_FLAT_RATIO * 100} % of the list)`,
    met: result.ratio >= B6_GOAL_RATIO && flat ? 'yes' : 'NO',
  };
}

// ---- the simulator's part ------------------------------------------------------------------------

async function simulatorMain(): Promise<void> {
  const count = Number(process.env.SUPERSIM_B6_SIMS ?? 10_000);
  const sim = await Simulator.start({
    mode: 'kore',
    fleets: [{ uniqueName: FLEET }],
    // A few SIMs outside the Fleet, so that the filter has something to leave out.
    sims: [...generateSims({ count, fleet: FLEET }), ...generateSims({ count: 100, prefix: 'other-' })],
  });
  process.on('disconnect', () => void sim.close().then(() => process.exit(0)));
  const ready: SimulatorReady = { supersimUrl: sim.supersimUrl, wirelessUrl: sim.wirelessUrl, tokenUrl: sim.tokenUrl, credentials: sim.credentials };
  process.send?.(ready);
}

// ---- the measured part: Node-RED embedded, and the raw client ----------------------------------------

interface EmbeddedNode {
  receive(msg: Record<string, unknown>): void;
  on(event: 'input', listener: (msg: Record<string, unknown>, send: unknown, done: () => void) => void): void;
}

interface EmbeddedRed {
  init(server: unknown, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  nodes: { getNode(id: string): EmbeddedNode | null };
}

const IDS = { tab: 'b6b6b6b600000000', account: 'b6b6b6b6000000a1', split: 'b6b6b6b600000001', array: 'b6b6b6b600000002', splitSink: 'b6b6b6b600000003', arraySink: 'b6b6b6b600000004' };

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('the measuring process needs --expose-gc');
  gc();
  gc();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function startEmbeddedNodeRed(input: MeasureInput, userDir: string): Promise<EmbeddedRed> {
  const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { name: string };
  mkdirSync(path.join(userDir, 'node_modules'), { recursive: true });
  symlinkSync(PROJECT_ROOT, path.join(userDir, 'node_modules', pkg.name), 'dir');
  const z = IDS.tab;
  const simsNode = (id: string, output: string, sink: string): object => ({ id, type: 'supersim-sims', z, x: 100, y: 100, account: IDS.account, fleet: FLEET, status: '', iccid: '', output, wires: [[sink]] });
  const flows = [
    { id: z, type: 'tab', label: 'B6' },
    { id: IDS.account, type: 'supersim-account', name: 'simulator', provider: 'kore', supersimUrl: input.supersimUrl, wirelessUrl: input.wirelessUrl, tokenUrl: input.tokenUrl, callbackBaseUrl: '' },
    simsNode(IDS.split, 'split', IDS.splitSink),
    simsNode(IDS.array, 'array', IDS.arraySink),
    // Junctions pass messages on and nothing else: the cheapest node there is to listen on.
    { id: IDS.splitSink, type: 'comment', z, x: 200, y: 100, wires: [] },
    { id: IDS.arraySink, type: 'comment', z, x: 200, y: 200, wires: [] },
  ];
  writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
  writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify({ [IDS.account]: { clientId: input.credentials.clientId, clientSecret: input.credentials.clientSecret } }));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const red = require('node-red') as EmbeddedRed;
  red.init(createServer(), {
    userDir,
    flowFile: 'flows.json',
    credentialSecret: false,
    logging: { console: { level: 'warn', metrics: false, audit: false } },
    externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
    editorTheme: { tours: false },
  });
  await red.start();
  const started = Date.now();
  while (red.nodes.getNode(IDS.splitSink) === null) {
    if (Date.now() - started > 30_000) throw new Error('the flows did not start within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return red;
}

async function measureMain(): Promise<void> {
  const input = JSON.parse(process.env.SUPERSIM_B6_INPUT ?? '{}') as MeasureInput;
  const userDir = mkdtempSync(path.join(os.tmpdir(), 'supersim-b6-'));
  let red: EmbeddedRed | undefined;
  try {
    red = await startEmbeddedNodeRed(input, userDir);
    const splitNode = red.nodes.getNode(IDS.split) as EmbeddedNode;
    const arrayNode = red.nodes.getNode(IDS.array) as EmbeddedNode;

    // What reaches the sinks: counted, never kept, so the heap shows what the node itself holds.
    let onSplit: (listed: number) => void = () => undefined;
    let listed = 0;
    (red.nodes.getNode(IDS.splitSink) as EmbeddedNode).on('input', (_msg, _send, done) => {
      listed++;
      onSplit(listed);
      done();
    });
    let onArray: (payload: unknown) => void = () => undefined;
    (red.nodes.getNode(IDS.arraySink) as EmbeddedNode).on('input', (msg, _send, done) => {
      onArray(msg.payload);
      done();
    });

    const runNode = (sample?: (listed: number) => void): Promise<number> =>
      within(
        new Promise<number>((resolve) => {
          listed = 0;
          const began = performance.now();
          onSplit = (n) => {
            sample?.(n);
            if (n === input.sims) resolve(performance.now() - began);
          };
          splitNode.receive({ payload: 'list' });
        }),
        120_000,
        'a listing through supersim-sims',
      );

    // The same client code the node runs (dist/), as a flow's function node would use it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { SuperSimClient } = require(path.join(PROJECT_ROOT, 'dist', 'src', 'api')) as typeof Api;
    const client = new SuperSimClient({ provider: 'kore', clientId: input.credentials.clientId, clientSecret: input.credentials.clientSecret, supersimUrl: input.supersimUrl, wirelessUrl: input.wirelessUrl, tokenUrl: input.tokenUrl });
    const runRaw = async (): Promise<number> => {
      const began = performance.now();
      let n = 0;
      for await (const sim of client.listSims({ fleet: FLEET, pageSize: 100 })) if (sim.sid !== null) n++;
      if (n !== input.sims) throw new Error(`the raw client listed ${n} SIMs, not ${input.sims}`);
      return performance.now() - began;
    };

    // A warm-up of each (tokens, connections, JIT), then rounds in turn so that both see the same machine.
    await runRaw();
    await runNode();
    const rawMs: number[] = [];
    const nodeMs: number[] = [];
    const ratios: number[] = [];
    for (let round = 0; round < input.rounds; round++) {
      // Each first in turn; the ratio is taken within a round, so that a busy spell of the machine
      // weighs on both sides of it.
      const [raw, node] = round % 2 === 0 ? [await runRaw(), await runNode()] : (await runNode().then(async (n) => [await runRaw(), n]));
      rawMs.push(raw);
      nodeMs.push(node);
      ratios.push(raw / node);
    }

    // The heap: a full GC at each tenth of the list, while the node is listing.
    collectGarbage();
    const points: HeapPoint[] = [];
    const step = Math.max(1, Math.floor(input.sims / 10));
    await runNode((n) => {
      if (n % step !== 0) return;
      collectGarbage();
      points.push({ listed: n, heapUsedBytes: process.memoryUsage().heapUsed });
    });
    // What the list takes when it is all held: the `array` output, kept until measured.
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    const held = await within(
      new Promise<unknown>((resolve) => {
        onArray = resolve;
        arrayNode.receive({ payload: 'list' });
      }),
      120_000,
      'the array listing',
    );
    collectGarbage();
    const wholeListBytes = process.memoryUsage().heapUsed - before;
    if (!Array.isArray(held) || held.length !== input.sims) throw new Error('the array output did not hold every SIM');

    await client.close();
    const nodeMedian = median(nodeMs);
    const rawMedian = median(rawMs);
    const growthBytes = points.length > 1 ? points[points.length - 1].heapUsedBytes - points[0].heapUsedBytes : 0;
    const result: SimsBenchResult = {
      sims: input.sims,
      rounds: input.rounds,
      node: { perSecond: (input.sims * 1000) / nodeMedian, medianMs: nodeMedian },
      raw: { perSecond: (input.sims * 1000) / rawMedian, medianMs: rawMedian },
      ratio: median(ratios),
      heap: { points, growthBytes, wholeListBytes, growthRatio: wholeListBytes > 0 ? Math.max(0, growthBytes) / wholeListBytes : 0 },
    };
    process.send?.(result);
  } catch (err) {
    process.send?.({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  } finally {
    await red?.stop().catch(() => undefined);
    rmSync(userDir, { recursive: true, force: true });
  }
}

async function cliMain(): Promise<void> {
  const { values } = parseArgs({ options: { sims: { type: 'string' }, rounds: { type: 'string' } } });
  const result = await runSimsBenchmark({
    sims: values.sims === undefined ? undefined : Number(values.sims),
    rounds: values.rounds === undefined ? undefined : Number(values.rounds),
    log: (line) => console.error(line),
  });
  console.log(JSON.stringify(result));
  console.error(Object.values(simsRow(result)).join('  '));
}

const role = process.env.SUPERSIM_B6_ROLE;
if (role === 'simulator') void simulatorMain();
else if (role === 'measure') void measureMain().then(() => process.disconnect?.());
else if (require.main === module) {
  cliMain().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
