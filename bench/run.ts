/**
 * npm run bench: every figure of the package's performance goals from one run, each beside the
 * baseline measured in the same run (absolute numbers depend on the machine; the ratios are what the
 * goals are about). Prints a table and writes bench-results/bench.json.
 *
 *   B0  creates/s through SuperSimClient vs raw undici and node:http       (bench/client.ts)
 *   B1  sending: supersim-ip-command vs core http request vs the raw client, in a real Node-RED
 *   B2  receiving: supersim-command-in vs core http in + http response, autocannon
 *   B3  cold start: 1000 messages at once on a fresh KORE account → token requests
 *   B4  status filter memory over 1 000 000 commands with a cap of 100 000 (bench/filter-memory.ts)
 *   B5  Node-RED start-up with and without the package
 *   B6  listing 10 000 SIMs through supersim-sims (split) vs the raw client's iterator, and its heap (bench/sims-bench.ts)
 *   B7  10 000 pending attempts kept trying: heap each, store writes/s while they change, resume time
 *       after a SIGKILL (bench/pending-attempts.ts)
 *   B8  callbacks/s into supersim-command-in with Redis idempotency vs in memory, autocannon (bench/redis-bench.ts)
 *
 * Sizes can be changed for a quick look: BENCH_B1_MESSAGES, BENCH_B2_SECONDS, BENCH_B5_STARTS,
 * BENCH_B7_PENDING, BENCH_B7_CHURN_SECONDS, BENCH_B8_SECONDS; BENCH_ONLY=B4,B7 runs only those. A goal missed makes the
 * run exit with 1 once the table is printed and written.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { runClientBenchmark } from './client';
import type { ClientBenchResult } from './client';
import type { FilterMemoryResult } from './filter-memory';
import { runNodeRedBench } from './node-red-bench';
import type { NodeRedBenchResult } from './node-red-bench';
import { runPendingBench } from './pending-attempts';
import type { PendingBenchResult } from './pending-attempts';
import { runRedisBench } from './redis-bench';
import type { RedisBenchResult } from './redis-bench';
import { measureStartup } from './startup';
import type { StartupResult } from './startup';
// ---- B6 (bench/sims-bench.ts) ----
import { runSimsBenchmark, simsRow } from './sims-bench';

const PROJECT_ROOT = path.resolve(__dirname, '..');
const MB = 1024 * 1024;

const B1_MESSAGES = Number(process.env.BENCH_B1_MESSAGES ?? 20_000);
const B1_WINDOW = 32;
const B1_ROUNDS = 4;
const B2_SECONDS = Number(process.env.BENCH_B2_SECONDS ?? 10);
const B2_CONNECTIONS = 32;
const B3_MESSAGES = 1_000;
const B4_COMMANDS = 1_000_000;
const B4_CAP = 100_000;
/** B4 "flat": what the heap grows from the cap to the end, as a share of the heap at the cap. */
const B4_FLAT_RATIO = 0.05;
const B5_STARTS = Number(process.env.BENCH_B5_STARTS ?? 7);
const B7_PENDING = Number(process.env.BENCH_B7_PENDING ?? 10_000);
const B7_CHURN_SECONDS = Number(process.env.BENCH_B7_CHURN_SECONDS ?? 10);
const B7_MAX_BYTES_PER_ATTEMPT = 2 * 1024;
const B7_MAX_WRITES_PER_SECOND = 20;
const B7_MAX_RESUME_MS = 2_000;
const B8_SECONDS = Number(process.env.BENCH_B8_SECONDS ?? 10);
const B8_CONNECTIONS = B2_CONNECTIONS;
const B8_MIN_RATIO = 0.7;
/** Which benchmarks run: all unless BENCH_ONLY names some (B1–B3 run together, in one Node-RED). */
const ONLY = process.env.BENCH_ONLY?.split(',').map((id) => id.trim().toUpperCase()).filter((id) => id !== '');
const runs = (...ids: string[]): boolean => ONLY === undefined || ids.some((id) => ONLY.includes(id));

interface Row {
  id: string;
  figure: string;
  measured: string;
  baseline: string;
  ratio: string;
  goal: string;
  met: 'yes' | 'NO' | '-';
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (n: number): string => (n >= 10 ? fmt(n, 0) : fmt(n, 1));
const met = (ok: boolean): 'yes' | 'NO' => (ok ? 'yes' : 'NO');

/** B4 in a process of its own, with --expose-gc, so the heap it reads is the filter's alone. */
async function runFilterMemory(): Promise<FilterMemoryResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--require', 'tsx/cjs', path.join(__dirname, 'filter-memory.ts'), '--commands', String(B4_COMMANDS), '--max', String(B4_CAP), '--json'],
    { cwd: PROJECT_ROOT, maxBuffer: 16 * MB },
  );
  return JSON.parse(stdout.trim().split('\n').pop() as string) as FilterMemoryResult;
}

function clientRows(b0: ClientBenchResult): Row[] {
  const baseline = b0.rows.find((r) => r.name === 'raw undici Pool');
  return b0.rows
    .filter((r) => r !== baseline)
    .map((r, i) => ({
      id: i === 0 ? 'B0' : '',
      figure: `creates/s, ${r.name}`,
      measured: `${fmt(r.perSecond)}/s, p50 ${ms(r.p50Ms)}, p99 ${ms(r.p99Ms)} ms`,
      baseline: baseline ? `raw undici ${fmt(baseline.perSecond)}/s, p50 ${ms(baseline.p50Ms)}, p99 ${ms(baseline.p99Ms)} ms` : '?',
      ratio: `${r.ratioToRawUndici.toFixed(2)}x`,
      goal: r.name === 'SuperSimClient' ? '>= 0.80x' : '(reference)',
      met: r.name === 'SuperSimClient' ? met(r.ratioToRawUndici >= 0.8) : '-',
    }));
}

function nodeRedRows(result: NodeRedBenchResult): Row[] {
  const { node, core, raw } = result.send;
  const line = (f: { perSecond: number; p50Ms: number; p99Ms: number }): string => `${fmt(f.perSecond)}/s, p50 ${ms(f.p50Ms)}, p99 ${ms(f.p99Ms)} ms`;
  const rows: Row[] = [
    {
      id: 'B1',
      figure: `commands/s, supersim-ip-command (${fmt(node.n)} msgs)`,
      measured: line(node),
      baseline: `core http request ${line(core)}`,
      ratio: `${(node.perSecond / core.perSecond).toFixed(2)}x`,
      goal: '>= 2x',
      met: met(node.perSecond >= 2 * core.perSecond),
    },
    {
      id: '',
      figure: '',
      measured: '',
      baseline: `raw client ${line(raw)}`,
      ratio: `${(node.perSecond / raw.perSecond).toFixed(2)}x`,
      goal: '>= 0.8x',
      met: met(node.perSecond >= 0.8 * raw.perSecond),
    },
  ];
  if ('skipped' in result.receive) {
    rows.push({ id: 'B2', figure: 'requests/s, supersim-command-in', measured: `skipped: ${result.receive.skipped}`, baseline: '', ratio: '', goal: '>= 1.0x', met: '-' });
  } else {
    const { node: inNode, core: inCore } = result.receive;
    rows.push({
      id: 'B2',
      figure: `requests/s, supersim-command-in (${B2_SECONDS} s)`,
      measured: `${fmt(inNode.requestsPerSecond)}/s, p99 ${ms(inNode.p99Ms)} ms`,
      baseline: `core http in + response ${fmt(inCore.requestsPerSecond)}/s, p99 ${ms(inCore.p99Ms)} ms`,
      ratio: `${(inNode.requestsPerSecond / inCore.requestsPerSecond).toFixed(2)}x`,
      goal: '>= 1.0x',
      met: met(inNode.requestsPerSecond >= inCore.requestsPerSecond),
    });
  }
  rows.push({
    id: 'B3',
    figure: `token requests, ${fmt(result.cold.messages)} msgs at once, fresh account`,
    measured: `${result.cold.tokenRequests} (all sent in ${result.cold.seconds.toFixed(2)} s)`,
    baseline: '',
    ratio: '',
    goal: 'exactly 1',
    met: met(result.cold.tokenRequests === 1 && result.cold.errors === 0),
  });
  return rows;
}

function filterRow(b4: FilterMemoryResult): Row {
  return {
    id: 'B4',
    figure: `filter heap, ${fmt(b4.commands)} commands, cap ${fmt(b4.maxCommands)}`,
    measured: `${b4.growthPastCapBytes >= 0 ? '+' : ''}${(b4.growthPastCapBytes / MB).toFixed(2)} MB past the cap (${(b4.growthPastCapRatio * 100).toFixed(1)} %)`,
    baseline: `heap at the cap ${(b4.heapAtCapBytes / MB).toFixed(1)} MB (${fmt(b4.bytesPerCommand)} B/command)`,
    ratio: `${(b4.heapAtEndBytes / b4.heapAtCapBytes).toFixed(3)}x`,
    goal: `flat (< ${B4_FLAT_RATIO * 100} %)`,
    met: met(b4.size === b4.maxCommands && b4.growthPastCapRatio < B4_FLAT_RATIO),
  };
}

function startupRow(b5: StartupResult): Row {
  return {
    id: 'B5',
    figure: `Node-RED start-up, median of ${b5.starts}`,
    measured: `${fmt(b5.medianWithMs)} ms with the package`,
    baseline: `${fmt(b5.medianWithoutMs)} ms without`,
    ratio: `${b5.ratio.toFixed(2)}x`,
    goal: '< 1.1x',
    met: met(b5.ratio < 1.1),
  };
}

function pendingRows(b7: PendingBenchResult): Row[] {
  const n = fmt(b7.pending);
  const { heap, churn, resume } = b7;
  return [
    {
      id: 'B7',
      figure: `heap per pending attempt, ${n} pending (at attempt ${b7.records.meanAttempt.toFixed(1)})`,
      measured: `${fmt(heap.bytesPerAttempt)} B`,
      baseline: `heap ${(heap.withPendingBytes / MB).toFixed(1)} MB with them, ${(heap.withoutPendingBytes / MB).toFixed(1)} MB once the node is deleted`,
      ratio: '',
      goal: `<= ${fmt(B7_MAX_BYTES_PER_ATTEMPT)} B`,
      met: met(heap.bytesPerAttempt <= B7_MAX_BYTES_PER_ATTEMPT),
    },
    {
      id: '',
      figure: `store writes/s while they change (${fmt(churn.seconds, 0)} s)`,
      measured: `${churn.writesPerSecond.toFixed(1)}/s (most in 1 s: ${churn.peakWritesPerSecond})`,
      baseline: `${fmt(churn.createsPerSecond)} attempts created/s, store ${(churn.storeBytes / MB).toFixed(1)} MB`,
      ratio: '',
      goal: `<= ${B7_MAX_WRITES_PER_SECOND}/s`,
      met: met(churn.writes > 0 && churn.writesPerSecond <= B7_MAX_WRITES_PER_SECOND && churn.peakWritesPerSecond <= B7_MAX_WRITES_PER_SECOND),
    },
    {
      id: '',
      figure: `"Starting flows" to all ${n} resumed, after SIGKILL`,
      measured: `${fmt(resume.resumeMs)} ms`,
      baseline: `${fmt(resume.allResumedMs)} ms from spawning Node-RED ("Starting flows" at ${fmt(resume.startingFlowsMs)} ms)`,
      ratio: '',
      goal: `< ${fmt(B7_MAX_RESUME_MS)} ms`,
      met: met(resume.resumeMs < B7_MAX_RESUME_MS),
    },
  ];
}

function redisRow(b8: RedisBenchResult): Row {
  const figure = `callbacks/s, supersim-command-in with Redis (${B8_SECONDS} s)`;
  if ('skipped' in b8) return { id: 'B8', figure, measured: `skipped: ${b8.skipped}`, baseline: '', ratio: '', goal: `>= ${B8_MIN_RATIO}x`, met: '-' };
  const ratio = b8.redis.requestsPerSecond / b8.memory.requestsPerSecond;
  return {
    id: 'B8',
    figure,
    measured: `${fmt(b8.redis.requestsPerSecond)}/s, p99 ${ms(b8.redis.p99Ms)} ms`,
    baseline: `in memory ${fmt(b8.memory.requestsPerSecond)}/s, p99 ${ms(b8.memory.p99Ms)} ms`,
    ratio: `${ratio.toFixed(2)}x`,
    goal: `>= ${B8_MIN_RATIO}x`,
    met: met(ratio >= B8_MIN_RATIO),
  };
}

function printTable(rows: Row[]): void {
  const columns: (keyof Row)[] = ['id', 'figure', 'measured', 'baseline', 'ratio', 'goal', 'met'];
  const titles: Record<keyof Row, string> = { id: '', figure: 'figure', measured: 'measured', baseline: 'baseline (same run)', ratio: 'ratio', goal: 'goal', met: 'met' };
  const widths = columns.map((c) => Math.max(titles[c].length, ...rows.map((r) => r[c].length)));
  const render = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  console.log(render(columns.map((c) => titles[c])));
  console.log(render(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(render(columns.map((c) => row[c])));
}

async function main(): Promise<void> {
  if (!existsSync(path.join(PROJECT_ROOT, 'dist', 'nodes', 'supersim-ip-command.js'))) {
    throw new Error('dist/ is missing: run "npm run build" first (npm run bench does)');
  }
  const started = Date.now();
  const log = (line: string): void => console.log(line);
  const context = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadAverageAtStart: os.loadavg().map((n) => Number(n.toFixed(2))) };
  console.log(`npm run bench on ${context.cpus} CPUs, Node ${context.node}, load average ${context.loadAverageAtStart.join(' ')}\n`);

  const rows: Row[] = [];
  const results: Record<string, unknown> = {};
  if (runs('B0')) {
    log('B0: SuperSimClient vs raw undici vs node:http');
    const b0 = await runClientBenchmark();
    rows.push(...clientRows(b0));
    results.b0 = b0;
  }
  if (runs('B1', 'B2', 'B3')) {
    const b1to3 = await runNodeRedBench({
      sendMessages: B1_MESSAGES,
      sendWindow: B1_WINDOW,
      sendRounds: B1_ROUNDS,
      receiveSeconds: B2_SECONDS,
      receiveConnections: B2_CONNECTIONS,
      coldMessages: B3_MESSAGES,
      log,
    });
    rows.push(...nodeRedRows(b1to3));
    Object.assign(results, { b1: b1to3.send, b2: b1to3.receive, b3: b1to3.cold });
  }
  if (runs('B4')) {
    log(`B4: status filter memory, ${fmt(B4_COMMANDS)} commands, cap ${fmt(B4_CAP)}`);
    const b4 = await runFilterMemory();
    rows.push(filterRow(b4));
    results.b4 = b4;
  }
  if (runs('B5')) {
    log(`B5: Node-RED start-up, ${B5_STARTS} starts with and without the package`);
    const b5 = await measureStartup(B5_STARTS, log);
    rows.push(startupRow(b5));
    results.b5 = b5;
  }
  if (runs('B6')) {
    log('B6: listing 10 000 SIMs through supersim-sims (split) vs the raw client iterator');
    const b6 = await runSimsBenchmark({ log });
    rows.push(simsRow(b6));
    results.b6 = b6;
  }
  if (runs('B7')) {
    log(`B7: ${fmt(B7_PENDING)} pending attempts in Node-RED, SIGKILLed and started again`);
    const b7 = await runPendingBench({ pending: B7_PENDING, churnSeconds: B7_CHURN_SECONDS, log });
    rows.push(...pendingRows(b7));
    results.b7 = b7;
  }
  if (runs('B8')) {
    const b8 = await runRedisBench({ seconds: B8_SECONDS, connections: B8_CONNECTIONS, log });
    rows.push(redisRow(b8));
    results.b8 = b8;
  }

  const setUp = runs('B1', 'B2', 'B3') ? `; B1 window ${B1_WINDOW} messages in flight, account maxInFlight at its default 16; B2 ${B2_CONNECTIONS} connections` : '';
  console.log(`\nResults (${((Date.now() - started) / 1000).toFixed(0)} s${setUp})\n`);
  printTable(rows);

  const outDir = path.join(PROJECT_ROOT, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, 'bench.json');
  writeFileSync(
    file,
    JSON.stringify(
      {
        ...context,
        seconds: (Date.now() - started) / 1000,
        settings: {
          only: ONLY ?? null,
          b1: { messages: B1_MESSAGES, window: B1_WINDOW, rounds: B1_ROUNDS },
          b2: { seconds: B2_SECONDS, connections: B2_CONNECTIONS },
          b3: { messages: B3_MESSAGES },
          b4: { commands: B4_COMMANDS, cap: B4_CAP },
          b5: { starts: B5_STARTS },
          b7: { pending: B7_PENDING, churnSeconds: B7_CHURN_SECONDS },
          b8: { seconds: B8_SECONDS, connections: B8_CONNECTIONS },
        },
        table: rows,
        ...results,
      },
      null,
      2,
    ),
  );
  console.log(`\nwritten to ${path.relative(process.cwd(), file)}`);
  const missed = rows.filter((row) => row.met === 'NO');
  if (missed.length > 0) {
    // A row continuing a benchmark has no id of its own: name it by the one above.
    const idOf = (row: Row): string => rows.slice(0, rows.indexOf(row) + 1).reverse().find((r) => r.id !== '')?.id ?? '?';
    console.error(`\nGoal missed: ${missed.map((row) => `${idOf(row)} ${row.figure || row.baseline}`).join('; ')}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
