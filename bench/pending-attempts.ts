/**
 * B7: 10 000 pending attempts in a real Node-RED: a supersim-ip-command keeping trying (retryFor) an
 * IP Command to a SIM the simulator keeps detached, so every attempt ends `failed` (32001) and waits
 * for the next. Three Node-RED processes run one after the other on the same user directory:
 *
 *   1. churn: backoff shortened to CHURN_BACKOFF_MS through settings.js (`supersim.keepTrying`); the
 *      pending attempts are fed in, then, while every one of them is created, fails and waits again
 *      over and over, the renames onto the node's store file are counted from outside (fs.watch):
 *      store writes per second. Then SIGKILL, in the middle of it.
 *   2. settle: the backoff set to an hour; Node-RED resumes what the SIGKILL left (attempts being
 *      created are reconciled, followed ones polled, due ones created) until the node's status shows
 *      all of them to retry, and no Catch error came. SIGKILL again: every attempt now waits an hour.
 *   3. resume: Node-RED started again; the time from spawning the process to the node's status
 *      showing "N to retry" (a core status node stamps it with Node-RED's Date.now()) is the resume
 *      figure. The node logs "Resumed N commands…" once its store is read, just before it re-arms
 *      every attempt; the status follows once that is done (at most 250 ms later, the node's status
 *      throttle). Then the heap after a full GC with N pending, minus the heap after the node was
 *      deleted by a deploy (which drops its attempts), over N: heap per pending attempt.
 *
 *   npx tsx bench/pending-attempts.ts [--pending 10000] [--churn-seconds 10]
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pendingFileOf } from '../nodes/lib/follow-ups';
import { deployFlows } from '../test/support/node-red-process';
import { B7_PATHS, B7_SEND_ID, B7_SIMS, b7SimName, pendingFlows } from './pending-flows';
import type { B7Heap, B7Stats } from './pending-flows';
import { WriteCounter, startPendingNodeRed } from './pending-node-red';
import type { PendingNodeRed } from './pending-node-red';
import { startSimulatorProcess } from './sim-control';

const PROJECT_ROOT = path.resolve(__dirname, '..');
/** Attempts every ~10 s each: with 10 000 pending, about 900 creates a second, each a few changes of its record. */
const CHURN_BACKOFF_MS = 10_000;
const SETTLED_BACKOFF_MS = 3_600_000;
const FILL_WINDOW = 500;
/** After the feed, before counting: every attempt is in its cycle by then. */
const CHURN_WARMUP_MS = 3_000;
/** The store is idle this long: no write holds temporary copies while the heap is read. */
const QUIET_MS = 1_500;

export interface PendingBenchOptions {
  pending: number;
  churnSeconds: number;
  log(line: string): void;
}

export interface PendingBenchResult {
  pending: number;
  fill: { seconds: number; writes: number; writesPerSecond: number };
  churn: { seconds: number; writes: number; writesPerSecond: number; peakWritesPerSecond: number; createsPerSecond: number; storeBytes: number };
  settle: { seconds: number; creates: number };
  resume: {
    /** ms from spawning Node-RED to: its "Starting flows" line, the node's "Resumed" line, the status showing all to retry. */
    startingFlowsMs: number;
    resumedLogMs: number;
    allResumedMs: number;
    /** ms from "Starting flows" to the status showing all to retry: what resuming adds to Node-RED's own start (B5). */
    resumeMs: number;
  };
  heap: { withPendingBytes: number; withoutPendingBytes: number; bytesPerAttempt: number; rssWithPendingBytes: number };
  /**
   * The stored records when the heap was read: their mean attempt number, and bytes on disk each. A
   * record keeps the SID of every earlier attempt, so both grow with the attempts a message has made.
   */
  records: { meanAttempt: number; bytesEach: number };
}

/** What the store held, read as the bench reads it: the file's records. */
function storedRecords(file: string): { meanAttempt: number; bytesEach: number; count: number } {
  const text = readFileSync(file, 'utf8');
  const records = (JSON.parse(text) as { records: { attempt: number }[] }).records;
  const attempts = records.reduce((sum, record) => sum + record.attempt, 0);
  return { count: records.length, meanAttempt: attempts / records.length, bytesEach: Buffer.byteLength(text) / records.length };
}

async function getJson<T>(node: PendingNodeRed, route: string): Promise<T> {
  const response = await fetch(new URL(route.slice(1), node.nodeUrl), { signal: AbortSignal.timeout(60_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${route} answered HTTP ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

async function fill(node: PendingNodeRed, n: number): Promise<{ n: number; seconds: number; errors: number; firstError: string | null }> {
  const response = await fetch(new URL(B7_PATHS.fill.slice(1), node.nodeUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ n, window: FILL_WINDOW, sims: B7_SIMS }),
    signal: AbortSignal.timeout(600_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${B7_PATHS.fill} answered HTTP ${response.status}: ${text}`);
  return JSON.parse(text) as { n: number; seconds: number; errors: number; firstError: string | null };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls the node's stats until its status has shown all `n` to retry; a Catch error means one was lost. */
async function waitForAllToRetry(node: PendingNodeRed, n: number, timeoutMs: number): Promise<B7Stats> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = await getJson<B7Stats>(node, B7_PATHS.stats);
    if (stats.caught > 0) throw new Error(`${stats.caught} Catch errors from the send node, the first: ${stats.firstCaught}`);
    if (stats.maxRetry >= n && stats.maxRetryAt !== null) return stats;
    if (Date.now() > deadline) throw new Error(`the node's status never showed ${n} to retry within ${timeoutMs} ms (last: "${stats.lastStatus}")`);
    await sleep(100);
  }
}

async function waitForQuietStore(writes: WriteCounter): Promise<void> {
  for (;;) {
    const last = writes.last ?? 0;
    const quietFor = Date.now() - last;
    if (quietFor >= QUIET_MS) return;
    await sleep(QUIET_MS - quietFor);
  }
}

export async function runPendingBench(options: PendingBenchOptions): Promise<PendingBenchResult> {
  const { pending: n, log } = options;
  const sim = await startSimulatorProcess({ mode: 'kore', sims: Array.from({ length: B7_SIMS }, (_, i) => ({ uniqueName: b7SimName(i), attached: false })), maxStoredCommands: 200_000 });
  const userDir = mkdtempSync(path.join(tmpdir(), 'supersim-b7-'));
  const storeFile = pendingFileOf(userDir, B7_SEND_ID);
  mkdirSync(path.dirname(storeFile), { recursive: true });
  mkdirSync(path.join(userDir, 'node_modules'), { recursive: true });
  symlinkSync(PROJECT_ROOT, path.join(userDir, 'node_modules', 'node-red-contrib-supersim'), 'dir');
  const writes = new WriteCounter(storeFile);
  const { flows, credentials } = pendingFlows(sim);
  const start = async (backoffMs: number): Promise<PendingNodeRed> => {
    const started = await startPendingNodeRed({ userDir, flows, credentials, settings: { supersim: { keepTrying: { firstRetryMs: backoffMs, maxRetryMs: backoffMs } } } });
    node = started;
    await started.waitForLine(/\bStarted flows\b/);
    return started;
  };
  let node: PendingNodeRed | undefined;
  try {
    // 1. churn
    log(`  1. feeding ${n} messages to a node that keeps trying a detached SIM (backoff ${CHURN_BACKOFF_MS / 1000} s)`);
    node = await start(CHURN_BACKOFF_MS);
    const fillFrom = Date.now();
    const fed = await fill(node, n);
    const fillTo = Date.now();
    if (fed.errors > 0) throw new Error(`${fed.errors} of ${n} messages failed while feeding, the first: ${fed.firstError}`);
    const fillWrites = writes.between(fillFrom, fillTo);
    log(`     fed in ${fed.seconds.toFixed(1)} s, ${fillWrites} store writes (${(fillWrites / ((fillTo - fillFrom) / 1000)).toFixed(1)}/s)`);
    // Counting starts once the first attempts come round again, and every one is in its cycle.
    await sleep(Math.max(CHURN_WARMUP_MS, fillFrom + CHURN_BACKOFF_MS - Date.now()));
    const createsBefore = (await sim.stats()).created.ip;
    const churnFrom = Date.now();
    await sleep(options.churnSeconds * 1000);
    const churnTo = Date.now();
    const createsInChurn = (await sim.stats()).created.ip - createsBefore;
    const churnSeconds = (churnTo - churnFrom) / 1000;
    const churnWrites = writes.between(churnFrom, churnTo);
    const storeBytes = existsSync(storeFile) ? statSync(storeFile).size : 0;
    const churnStats = await getJson<B7Stats>(node, B7_PATHS.stats);
    if (churnStats.caught > 0) throw new Error(`${churnStats.caught} Catch errors while the attempts changed, the first: ${churnStats.firstCaught}`);
    log(`     ${(createsInChurn / churnSeconds).toFixed(0)} attempts created/s: ${churnWrites} store writes in ${churnSeconds.toFixed(1)} s, store ${(storeBytes / 1024 / 1024).toFixed(1)} MB; SIGKILL`);
    await node.kill();

    // 2. settle
    node = await start(SETTLED_BACKOFF_MS);
    const settleCreatesBefore = (await sim.stats()).created.ip;
    const settled = await waitForAllToRetry(node, n, 300_000);
    const settleSeconds = ((settled.maxRetryAt as number) - node.spawnedAt) / 1000;
    const settleCreates = (await sim.stats()).created.ip - settleCreatesBefore;
    log(`  2. after the SIGKILL: all ${n} back to retry ${settleSeconds.toFixed(1)} s after the start (${settleCreates} attempts created meanwhile); SIGKILL`);
    await waitForQuietStore(writes);
    await node.kill();

    // 3. resume
    node = await start(SETTLED_BACKOFF_MS);
    const resumed = await waitForAllToRetry(node, n, 60_000);
    const startingFlows = await node.waitForLine(/\bStarting flows\b/);
    const resumedLine = await node.waitForLine(new RegExp(`Resumed ${n} commands`));
    const resume = {
      startingFlowsMs: startingFlows.at - node.spawnedAt,
      resumedLogMs: resumedLine.at - node.spawnedAt,
      allResumedMs: (resumed.maxRetryAt as number) - node.spawnedAt,
      resumeMs: (resumed.maxRetryAt as number) - startingFlows.at,
    };
    log(`  3. restarted: "Starting flows" at ${resume.startingFlowsMs} ms, "Resumed ${n}" at ${resume.resumedLogMs} ms, status "${n} to retry" at ${resume.allResumedMs} ms`);
    await waitForQuietStore(writes);
    const withPending = await getJson<B7Heap>(node, B7_PATHS.heap);
    const stored = storedRecords(storeFile);
    if (stored.count !== n) throw new Error(`the store holds ${stored.count} records, not ${n}`);
    const without = pendingFlows(sim, false);
    await deployFlows({ adminUrl: `${node.url}/` }, without.flows, without.credentials);
    await node.waitForLine(new RegExp(`${B7_SEND_ID}.*\\b${n}\\b`), 30_000);
    await waitForQuietStore(writes);
    const withoutPending = await getJson<B7Heap>(node, B7_PATHS.heap);
    const bytesPerAttempt = (withPending.heapUsed - withoutPending.heapUsed) / n;
    log(`     heap ${(withPending.heapUsed / 1024 / 1024).toFixed(1)} MB with ${n} pending, ${(withoutPending.heapUsed / 1024 / 1024).toFixed(1)} MB once the node was deleted: ${bytesPerAttempt.toFixed(0)} B each (records at attempt ${stored.meanAttempt.toFixed(1)} on average, ${stored.bytesEach.toFixed(0)} B each on disk)`);
    await node.stop();

    return {
      pending: n,
      fill: { seconds: fed.seconds, writes: fillWrites, writesPerSecond: fillWrites / ((fillTo - fillFrom) / 1000) },
      churn: {
        seconds: churnSeconds,
        writes: churnWrites,
        writesPerSecond: churnWrites / churnSeconds,
        peakWritesPerSecond: writes.peakPerSecond(churnFrom, churnTo),
        createsPerSecond: createsInChurn / churnSeconds,
        storeBytes,
      },
      settle: { seconds: settleSeconds, creates: settleCreates },
      resume,
      heap: { withPendingBytes: withPending.heapUsed, withoutPendingBytes: withoutPending.heapUsed, bytesPerAttempt, rssWithPendingBytes: withPending.rss },
      records: { meanAttempt: stored.meanAttempt, bytesEach: stored.bytesEach },
    };
  } catch (err) {
    if (node && err instanceof Error) throw new Error(`${err.message}\nNode-RED output:\n${node.logs().slice(-4000)}`, { cause: err });
    throw err;
  } finally {
    writes.close();
    await node?.kill();
    await sim.stop();
    rmSync(userDir, { recursive: true, force: true });
  }
}

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index === -1) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`--${name} must be a positive integer`);
  return value;
}

if (require.main === module) {
  runPendingBench({ pending: argument('pending', 10_000), churnSeconds: argument('churn-seconds', 10), log: (line) => console.log(line) })
    .then((result) => console.log(JSON.stringify(result, null, 2)))
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
