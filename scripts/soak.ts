/**
 * npm run soak -- --minutes N [--rate 150] [--report-seconds 10] [--json]
 *
 * Mixed traffic through the package's nodes for N minutes while the API misbehaves, printing memory
 * and open handles as it goes: IP, Super SIM SMS and Wireless sends (two of them tracked by callback,
 * through a status filter), devices answering every IP Command (so supersim-command-in receives
 * too), a random API fault every couple of seconds and a redeploy of the account every so often.
 * Two more send nodes take a share of the traffic: one waits for the device's answer (on an account
 * of its own, without a Public URL, so it polls for answers), one keeps trying a SIM that sleeps and
 * wakes every couple of seconds (on the redeployed account, so its pending attempts go through the
 * store and are resumed at every redeploy).
 * At the end it checks that every message ended exactly once, that the API created no command that
 * was not reported (or justified by a failed attempt), and how much the heap grew from the first
 * sample to the end.
 *
 * The nodes run in this process under node-red-node-test-helper; the simulator runs in a child
 * process, so its memory and CPU are not counted here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { NodeAPI } from '../nodes/lib/red';
import commandInNode from '../nodes/supersim-command-in';
import statusFilterNode from '../nodes/supersim-status-filter';
import { startSimulatorProcess } from '../bench/sim-control';
import type { SimulatorProcess } from '../bench/sim-control';
import { withMessages } from '../test/faults/fault-cases';
import { helper, sendNodeModules, serveHttpNode } from '../test/support/flows';

export interface SoakOptions {
  durationMs: number;
  /** Messages per second into the send nodes, spread evenly over the three. Default 150. */
  ratePerSecond?: number;
  /** Default 5 s. */
  reportEveryMs?: number;
  /** A new API fault this often. Default 2 s. */
  faultEveryMs?: number;
  /** The account node is redeployed (its client closed, messages waiting given up) this often. Default 15 s. */
  redeployEveryMs?: number;
  /** Messages per second into the node that waits for answers, and into the one that keeps trying. Default 5 each. */
  answerRatePerSecond?: number;
  retryRatePerSecond?: number;
  /** Where the progress lines go; default console.log. */
  log?: (line: string) => void;
}

export interface SoakSample {
  atSeconds: number;
  heapUsedBytes: number;
  rssBytes: number;
  /** process.getActiveResourcesInfo(): sockets, timers, requests the event loop holds. */
  handles: number;
  handleTypes: Record<string, number>;
  sent: number;
  outputs: number;
  errors: number;
  trackingUpdates: number;
  fromDevices: number;
  answered: number;
  retriesReached: number;
  /** Messages the node keeping trying holds now (its store). */
  pendingAttempts: number;
}

export interface SoakResult {
  samples: SoakSample[];
  seconds: number;
  sent: number;
  /** Messages that ended well: output 1 of a plain send, the answer (output 3), or an attempt that reached the device. */
  outputs: number;
  errors: number;
  /** Errors that say the API may have created the command all the same (5xx, a lost answer). */
  errorsMaybeCreated: number;
  /** Of `sent`: the messages to the node waiting for answers, and those answered (output 3). */
  answerSent: number;
  answered: number;
  /** Of `sent`: the messages to the node keeping trying, those that reached the device, and its attempts that failed. */
  retrySent: number;
  retriesReached: number;
  failedAttempts: number;
  /** Messages that ended more than once (must be 0). */
  endedTwice: number;
  /** Messages that did not end by the time the drain gave up (must be 0). */
  unfinished: number;
  /** Commands the simulator created (to devices). */
  created: number;
  tokenRequests: number;
  faultsInjected: number;
  redeploys: number;
  trackingUpdates: number;
  fromDevices: number;
  /** Heap after a full GC: at the first sample, once warm, and at the end once drained. */
  heapBaselineBytes: number;
  heapEndBytes: number;
  heapGrowthBytes: number;
  /** Active handles before the flows were loaded and after they were stopped. */
  handlesBefore: number;
  handlesAfter: number;
  /** Invariants that failed, in words; empty when the run was clean. */
  problems: string[];
}

/**
 * The wording of an error after which the API may hold a command nothing else accounts for: the
 * client's (src/api/errors.ts: "may have been created", "was created (HTTP 201), but its answer could
 * not be read"), which the keep-trying error for a create of unknown outcome quotes (locales
 * "attempt-unknown": "… is unknown (<the client's error>) …"). Its other reasons (a status that did
 * not become final) are about a command output 1 or a failed attempt already accounts for.
 */
const MAY_HAVE_REACHED = /may have been created|was created\b|may have reached/;
const MB = 1024 * 1024;

/** A full collection on demand, without requiring node --expose-gc. */
function collector(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function handleInfo(): { count: number; types: Record<string, number> } {
  const types: Record<string, number> = {};
  const all = process.getActiveResourcesInfo();
  for (const type of all) types[type] = (types[type] ?? 0) + 1;
  return { count: all.length, types };
}

/** One byte per message, outside the JS heap (an ArrayBuffer), so the soak's own bookkeeping does not read as growth. */
class Endings {
  #counts = new Uint8Array(1 << 16);
  /** Which send node each message went to (an index of SEND_NODES). */
  #nodes = new Uint8Array(1 << 16);

  sentTo(seq: number, node: number): void {
    this.#grow(seq);
    this.#nodes[seq] = node;
  }

  mark(seq: number): void {
    this.#grow(seq);
    if (this.#counts[seq] < 255) this.#counts[seq]++;
  }

  summary(total: number): { once: number; twice: number; none: number; unfinished: { seq: number; node: string }[] } {
    let once = 0;
    let twice = 0;
    let none = 0;
    const unfinished: { seq: number; node: string }[] = [];
    for (let i = 0; i < total; i++) {
      const n = this.#counts[i] ?? 0;
      if (n === 0) {
        none++;
        if (unfinished.length < 10) unfinished.push({ seq: i, node: SEND_NODES[this.#nodes[i]] });
      } else if (n === 1) once++;
      else twice++;
    }
    return { once, twice, none, unfinished };
  }

  #grow(seq: number): void {
    while (seq >= this.#counts.length) {
      for (const name of ['counts', 'nodes'] as const) {
        const current = name === 'counts' ? this.#counts : this.#nodes;
        const bigger = new Uint8Array(current.length * 2);
        bigger.set(current);
        if (name === 'counts') this.#counts = bigger;
        else this.#nodes = bigger;
      }
    }
  }
}

const SEND_NODES = ['ip', 'sms', 'wireless', 'answer', 'retry'] as const;

type Target = 'ipCommands' | 'smsCommands' | 'wirelessCommands';
const TARGETS: Target[] = ['ipCommands', 'smsCommands', 'wirelessCommands'];

/** The faults the API throws at random; none outlasts the client's default timeouts. */
const FAULTS: { label: string; apply(sim: SimulatorProcess, target: Target): Promise<void> }[] = [
  { label: '429', apply: (sim, target) => sim.addFault({ target, method: 'POST', times: 3 }, { kind: 'status', status: 429, retryAfter: '1' }) },
  { label: '500', apply: (sim, target) => sim.addFault({ target, method: 'POST', times: 2 }, { kind: 'status', status: 500 }) },
  { label: '503', apply: (sim, target) => sim.addFault({ target, method: 'POST', times: 2 }, { kind: 'status', status: 503 }) },
  { label: 'reset before', apply: (sim, target) => sim.addFault({ target, method: 'POST', times: 2 }, { kind: 'reset', when: 'before' }) },
  { label: 'reset after', apply: (sim, target) => sim.addFault({ target, method: 'POST', times: 2 }, { kind: 'reset', when: 'after' }) },
  { label: 'slow headers', apply: (sim, target) => sim.addFault({ target, method: 'POST', times: 5 }, { kind: 'delay', ms: 300, phase: 'headers' }) },
  { label: 'slow body', apply: (sim, target) => sim.addFault({ target, method: 'POST', times: 5 }, { kind: 'delay', ms: 300, phase: 'body' }) },
  { label: 'expired token', apply: (sim) => sim.revokeTokens() },
  { label: 'token 500', apply: (sim) => sim.addFault({ target: 'token', times: 1 }, { kind: 'status', status: 500 }) },
];

function flowOf(sim: SimulatorProcess, baseUrl: string, revision: number) {
  const common = { z: 'tab', x: 100, y: 100, account: 'account', callbackUrl: '', callbackMethod: '', trackTimeout: 5 };
  return [
    { id: 'tab', type: 'tab', label: 'soak' },
    {
      id: 'account',
      type: 'supersim-account',
      // Changing the name is what a redeploy changes: the account and every node using it restart.
      name: `soak account r${revision}`,
      provider: 'kore',
      supersimUrl: sim.supersimUrl,
      wirelessUrl: sim.wirelessUrl,
      tokenUrl: sim.tokenUrl,
      callbackBaseUrl: baseUrl,
    },
    { ...common, id: 'ip', type: 'supersim-ip-command', sim: 'thermostat', devicePort: '6655', payloadType: 'auto', track: true, wires: [['out'], ['filter']] },
    { ...common, id: 'sms', type: 'supersim-sms-command', api: 'supersim', sim: 'thermostat', commandMode: 'text', includeSid: 'none', deliveryReceipt: true, track: true, wires: [['out'], ['filter']] },
    { ...common, id: 'wireless', type: 'supersim-sms-command', api: 'wireless', sim: 'meter', commandMode: 'text', includeSid: 'none', deliveryReceipt: true, track: false, wires: [['out'], []] },
    // Keeps trying a SIM that sleeps: on the redeployed account, so every redeploy stops it and resumes its store.
    { ...common, id: 'retry', type: 'supersim-ip-command', sim: 'sleepy', devicePort: '6655', payloadType: 'text', track: false, retryFor: 30, wires: [['retryCreated'], ['retryStatus']] },
    // Waits for the device's answer on an account without a Public URL (it polls), which is never redeployed.
    {
      ...common, id: 'answer', account: 'steady', type: 'supersim-ip-command', sim: 'sensor', devicePort: '6655', payloadType: 'text', track: false,
      waitAnswer: true, answerTimeout: 10, outputs: 3, wires: [['answerCreated'], [], ['answered']],
    },
    {
      id: 'steady',
      type: 'supersim-account',
      name: 'soak answers',
      provider: 'kore',
      supersimUrl: sim.supersimUrl,
      wirelessUrl: sim.wirelessUrl,
      tokenUrl: sim.tokenUrl,
      callbackBaseUrl: '',
    },
    { z: 'tab', x: 100, y: 100, id: 'filter', type: 'supersim-status-filter', statuses: [], maxCommands: 1000, store: '', wires: [['updates']] },
    { z: 'tab', x: 100, y: 100, id: 'in', type: 'supersim-command-in', account: 'account', url: '/soak/in', wires: [['fromDevices'], []] },
    { z: 'tab', x: 100, y: 100, id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { z: 'tab', x: 100, y: 100, id: 'out', type: 'helper' },
    { z: 'tab', x: 100, y: 100, id: 'updates', type: 'helper' },
    { z: 'tab', x: 100, y: 100, id: 'fromDevices', type: 'helper' },
    { z: 'tab', x: 100, y: 100, id: 'caught', type: 'helper' },
    ...['retryCreated', 'retryStatus', 'answerCreated', 'answered'].map((id) => ({ z: 'tab', x: 100, y: 100, id, type: 'helper' })),
  ];
}

/**
 * node-red-node-test-helper spies on every node's send, status and log calls and keeps each call's
 * arguments: the helper's history, not the package's memory, so it is dropped before measuring.
 */
function forgetHelperHistory(): void {
  (helper as unknown as { _sandbox?: { resetHistory(): void } })._sandbox?.resetHistory();
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const rate = options.ratePerSecond ?? 150;
  const reportEveryMs = options.reportEveryMs ?? 5_000;
  const faultEveryMs = options.faultEveryMs ?? 2_000;
  const redeployEveryMs = options.redeployEveryMs ?? 15_000;
  const answerRate = options.answerRatePerSecond ?? 5;
  const retryRate = options.retryRatePerSecond ?? 5;
  const gc = collector();
  const problems: string[] = [];

  const served = await serveHttpNode();
  const sim = await startSimulatorProcess({
    mode: 'kore',
    sims: [{ uniqueName: 'thermostat' }, { uniqueName: 'meter', api: 'wireless' }, { uniqueName: 'sensor' }, { uniqueName: 'sleepy', sleep: { asleepMs: 2_000, awakeMs: 2_000 } }],
    fleets: [{ uniqueName: 'default', ipCommandsUrl: `${served.url}/soak/in`, ipCommandsMethod: 'POST' }],
    timing: { ipSentMs: 20, smsSentMs: 20, smsDeliveredMs: 40, callbackRetryMs: 100 },
    echoIpPort: 6655,
    maxStoredCommands: 2_000,
  });
  const accountCredentials = { clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret, webhookSecret: sim.credentials.webhookSecret };
  const credentials = { account: accountCredentials, steady: accountCredentials };
  // Keeping trying stores its attempts under the user directory; its backoff is shortened to the SIM's naps.
  const userDir = mkdtempSync(join(tmpdir(), 'supersim-soak-'));
  helper.settings({ userDir, supersim: { keepTrying: { firstRetryMs: 300, maxRetryMs: 1_500 } } });

  gc();
  const handlesBefore = handleInfo().count;
  const modules = [withMessages, ...sendNodeModules, commandInNode, statusFilterNode] as ((red: NodeAPI) => void)[];
  let revision = 0;
  await helper.load(modules, flowOf(sim, served.url, revision), credentials);

  const endings = new Endings();
  let sent = 0;
  let outputs = 0;
  let errors = 0;
  let errorsMaybeCreated = 0;
  /** Output 1 of every node: each is a command the API holds. */
  let reportedCreated = 0;
  let answerSent = 0;
  let answered = 0;
  let retrySent = 0;
  let retriesReached = 0;
  let retryErrors = 0;
  let failedAttempts = 0;
  let trackingUpdates = 0;
  let fromDevices = 0;
  let faultsInjected = 0;
  let redeploys = 0;
  // The helper nodes are never redeployed, so these listeners hold for the whole run.
  helper.getNode('out').on('input', (msg: { seq: number }) => {
    outputs++;
    reportedCreated++;
    endings.mark(msg.seq);
  });
  helper.getNode('caught').on('input', (msg: { seq: number; error?: { message?: string; source?: { id?: string } } }) => {
    errors++;
    if (msg.error?.source?.id === 'retry') retryErrors++;
    retryTrail.delete(msg.seq);
    if (MAY_HAVE_REACHED.test(String(msg.error?.message))) errorsMaybeCreated++;
    endings.mark(msg.seq);
  });
  // Output 1 of the answer and keep-trying nodes is no ending: the answer, the device reached or an error is.
  helper.getNode('answerCreated').on('input', () => reportedCreated++);
  /** What the node keeping trying last said of each message still in its hands: what an unfinished one had come to. */
  const retryTrail = new Map<number, string>();
  helper.getNode('retryCreated').on('input', (msg: { seq: number; payload?: { sid?: string } }) => {
    reportedCreated++;
    retryTrail.set(msg.seq, `output 1 (${String(msg.payload?.sid)})`);
  });
  helper.getNode('answered').on('input', (msg: { seq: number }) => {
    outputs++;
    answered++;
    endings.mark(msg.seq);
  });
  helper.getNode('retryStatus').on('input', (msg: { seq: number; payload?: { status?: string } }) => {
    const status = msg.payload?.status;
    if (status === 'failed') failedAttempts++;
    retryTrail.set(msg.seq, `attempt ${String((msg as { attempt?: unknown }).attempt)} ${String(status)}`);
    if (status !== 'sent') return;
    retryTrail.delete(msg.seq);
    outputs++;
    retriesReached++;
    endings.mark(msg.seq);
  });
  helper.getNode('updates').on('input', () => trackingUpdates++);
  helper.getNode('fromDevices').on('input', () => fromDevices++);

  const started = Date.now();
  const samples: SoakSample[] = [];
  const sample = (): SoakSample => {
    forgetHelperHistory();
    gc();
    const memory = process.memoryUsage();
    const handles = handleInfo();
    const point: SoakSample = {
      atSeconds: Math.round((Date.now() - started) / 1000),
      heapUsedBytes: memory.heapUsed,
      rssBytes: memory.rss,
      handles: handles.count,
      handleTypes: handles.types,
      sent,
      outputs,
      errors,
      trackingUpdates,
      fromDevices,
      answered,
      retriesReached,
      pendingAttempts: retrySent - retriesReached - retryErrors,
    };
    samples.push(point);
    const types = Object.entries(handles.types)
      .sort((a, b) => b[1] - a[1])
      .map(([type, n]) => `${type.replace(/Wrap$/, '')} ${n}`)
      .join(', ');
    log(
      `  ${String(point.atSeconds).padStart(5)} s  heap ${(point.heapUsedBytes / MB).toFixed(1).padStart(6)} MB  rss ${(point.rssBytes / MB).toFixed(0).padStart(4)} MB  ` +
        `handles ${String(point.handles).padStart(3)} (${types})  sent ${sent}  out ${outputs}  errors ${errors}  in flight ${sent - outputs - errors}  ` +
        `updates ${trackingUpdates}  from devices ${fromDevices}  answered ${answered}/${answerSent}  reached ${retriesReached}/${retrySent} (${failedAttempts} attempts failed, ${point.pendingAttempts} pending)`,
    );
    return point;
  };

  log(`soak: ${(options.durationMs / 1000).toFixed(0)} s, ${rate} messages/s, a fault every ${faultEveryMs / 1000} s, a redeploy every ${redeployEveryMs / 1000} s`);
  let redeploying = false;
  let credit = 0;
  let answerCredit = 0;
  let retryCredit = 0;
  let turn = 0;
  const sendNodes = [0, 1, 2];
  let ticks = 0;
  const driver = setInterval(() => {
    if (++ticks % 100 === 0) forgetHelperHistory();
    if (redeploying) return;
    credit += rate / 100;
    for (; credit >= 1; credit--) {
      const seq = sent++;
      const node = sendNodes[turn++ % sendNodes.length];
      endings.sentTo(seq, node);
      helper.getNode(SEND_NODES[node]).receive({ payload: `soak ${seq}`, seq });
    }
    answerCredit += answerRate / 100;
    for (; answerCredit >= 1; answerCredit--) {
      const seq = sent++;
      answerSent++;
      endings.sentTo(seq, 3);
      helper.getNode('answer').receive({ payload: `answer ${seq}`, seq });
    }
    retryCredit += retryRate / 100;
    for (; retryCredit >= 1; retryCredit--) {
      const seq = sent++;
      retrySent++;
      endings.sentTo(seq, 4);
      retryTrail.set(seq, 'sent to the node');
      helper.getNode('retry').receive({ payload: `wake ${seq}`, seq });
    }
  }, 10);
  let faultBusy = false;
  const faulter = setInterval(() => {
    if (faultBusy) return;
    faultBusy = true;
    const fault = FAULTS[Math.floor(Math.random() * FAULTS.length)];
    const target = TARGETS[Math.floor(Math.random() * TARGETS.length)];
    fault
      .apply(sim, target)
      .then(() => faultsInjected++, (err: unknown) => problems.push(`injecting ${fault.label}: ${String(err)}`))
      .finally(() => (faultBusy = false));
  }, faultEveryMs);
  const reporter = setInterval(sample, reportEveryMs);
  const redeployer = setInterval(() => {
    if (redeploying) return;
    redeploying = true;
    revision++;
    helper
      .setFlows(flowOf(sim, served.url, revision), 'nodes', credentials)
      .then(() => redeploys++, (err: unknown) => problems.push(`redeploy: ${String(err)}`))
      .finally(() => (redeploying = false));
  }, redeployEveryMs);

  await sleep(options.durationMs);
  clearInterval(driver);
  clearInterval(faulter);
  clearInterval(redeployer);
  clearInterval(reporter);
  while (redeploying || faultBusy) await sleep(20);

  // Drain: no new faults, every message ends, tracking runs out (its timeout is 5 s).
  await sim.clearFaults();
  const drainUntil = Date.now() + 60_000;
  while (outputs + errors < sent && Date.now() < drainUntil) await sleep(50);
  await sleep(5_500);
  const last = sample();

  const ends = endings.summary(sent);
  const stats = await sim.stats();
  const created = stats.created.ip + stats.created.sms + stats.created.wireless;
  if (ends.twice > 0) problems.push(`${ends.twice} messages ended more than once`);
  if (ends.none > 0) {
    const which = ends.unfinished.map(({ seq, node }) => `${seq} to ${node}${node === 'retry' ? ` (last: ${retryTrail.get(seq) ?? '?'})` : ''}`);
    problems.push(`${ends.none} messages never ended: ${which.join(', ')}`);
  }
  if (created < reportedCreated) problems.push(`the API created ${created} commands but ${reportedCreated} were output: some output had no command`);
  // Keeping trying creates again only after an attempt failed: each failed attempt justifies one more.
  if (created > reportedCreated + failedAttempts + errorsMaybeCreated) {
    problems.push(
      `the API created ${created} commands: more than the ${reportedCreated} output, the ${failedAttempts} failed attempts sent again and the ${errorsMaybeCreated} errors that said they may have reached it`,
    );
  }
  if (answerSent > 0 && answered === 0) problems.push(`none of the ${answerSent} messages waiting for an answer got one`);
  if (retrySent > 0 && (retriesReached === 0 || failedAttempts === 0)) problems.push(`keeping trying was not exercised: ${retriesReached} reached, ${failedAttempts} attempts failed`);

  await helper.unload();
  helper.settings({});
  rmSync(userDir, { recursive: true, force: true });
  await served.close();
  await sim.stop();
  // Let closed sockets and their timers go before counting what is left.
  await sleep(500);
  gc();
  const handlesAfter = handleInfo().count;
  const baseline = samples[0];
  return {
    samples,
    seconds: (Date.now() - started) / 1000,
    sent,
    outputs,
    errors,
    errorsMaybeCreated,
    answerSent,
    answered,
    retrySent,
    retriesReached,
    failedAttempts,
    endedTwice: ends.twice,
    unfinished: ends.none,
    created,
    tokenRequests: stats.tokenRequests,
    faultsInjected,
    redeploys,
    trackingUpdates,
    fromDevices,
    heapBaselineBytes: baseline.heapUsedBytes,
    heapEndBytes: last.heapUsedBytes,
    heapGrowthBytes: last.heapUsedBytes - baseline.heapUsedBytes,
    handlesBefore,
    handlesAfter,
    problems,
  };
}

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index === -1) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!(value > 0)) throw new RangeError(`--${name} must be a positive number`);
  return value;
}

async function main(): Promise<void> {
  const minutes = argument('minutes', 1);
  const result = await runSoak({
    durationMs: minutes * 60_000,
    ratePerSecond: argument('rate', 150),
    reportEveryMs: argument('report-seconds', minutes > 5 ? 30 : 10) * 1000,
  });
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    console.log('');
    console.log(`messages: ${result.sent} sent, ${result.outputs} output, ${result.errors} errors (${result.errorsMaybeCreated} of them "may have reached the API"), ${result.endedTwice} ended twice, ${result.unfinished} unfinished`);
    console.log(`API: ${result.created} commands created, ${result.tokenRequests} token requests; ${result.faultsInjected} faults injected, ${result.redeploys} redeploys`);
    console.log(`tracking updates ${result.trackingUpdates}, commands from devices ${result.fromDevices}`);
    console.log(`answers: ${result.answered} of ${result.answerSent}; keep trying: ${result.retriesReached} of ${result.retrySent} reached the device, ${result.failedAttempts} attempts failed`);
    console.log(
      `heap: ${(result.heapBaselineBytes / MB).toFixed(1)} MB at the first sample, ${(result.heapEndBytes / MB).toFixed(1)} MB at the end ` +
        `(${result.heapGrowthBytes >= 0 ? '+' : ''}${(result.heapGrowthBytes / MB).toFixed(2)} MB); handles ${result.handlesBefore} before, ${result.handlesAfter} after`,
    );
    console.log(result.problems.length === 0 ? 'no problems' : `PROBLEMS:\n  ${result.problems.join('\n  ')}`);
  }
  // The helper keeps Node-RED's runtime loaded; nothing else is left to wait for.
  process.exit(result.problems.length === 0 ? 0 : 1);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
