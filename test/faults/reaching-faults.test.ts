/**
 * The fault matrix for what a send node does after a create (nodes.md "Reaching the device"): every
 * API fault of fault-cases.ts against every send node, on each new path.
 *
 * - answer: the node waits for the device's answer (polling: the account has no Public URL); the
 *   faults hit the creates. Each message ends once: output 3, or one Catch error.
 * - retry: the node keeps trying; the SIM is detached for the first attempt and the faults hit the
 *   second create. Each message ends once: its goal status on output 2, or one Catch error; no
 *   message has more commands than its failed attempts justify.
 * - resume: the node restarts with attempts in its store, as a crash left them; the faults hit the
 *   reads (list, fetch) the resume needs. Each message ends once, and a lookup that failed never
 *   leads to a create.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pendingFileOf } from '../../nodes/lib/follow-ups';
import { DEFAULT_RETRY } from '../../src/api';
import type { PendingAttempt } from '../../src/reaching';
import { Simulator } from '../../src/simulator';
import type { FaultKind } from '../../src/simulator';
import { accountFor, collectMessages, helper, logLines, sendNodeModules, waitFor } from '../support/flows';
import { CASES, FAST_RETRY, FAST_TIMEOUTS, Gate, KINDS, MAY_HAVE_REACHED, MESSAGES, errorOf, fillOf, tagOf, withMessages } from './fault-cases';
import type { CaseContext, SendNodeKind } from './fault-cases';

type Message = Record<string, unknown>;

/** Whole seconds (the node's unit); long enough for two answer polls (at 1 s and 3 s). */
const ANSWER_TIMEOUT_S = 4;
/** The first retry after a failed attempt: long enough for the test to attach the SIM and inject the fault before it. */
const FIRST_RETRY_MS = 400;

const statusOf = (msg: Message): string => String((msg.payload as { status?: unknown } | undefined)?.status);
const sidOf = (msg: Message): string => String((msg.payload as { sid?: unknown } | undefined)?.sid);
const countOf = <T>(items: readonly T[], wanted: T): number => items.filter((item) => item === wanted).length;
const answerText = (msg: Message): string => (Buffer.isBuffer(msg.payload) ? msg.payload.toString() : String(msg.payload));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Devices that answer every command with "ack:" and what they got, as a from_sim command of the same API. */
async function answeringDevices(sim: Simulator): Promise<void> {
  const thermostat = sim.sim('thermostat');
  await thermostat.listen(6655);
  thermostat.on('ip', (bytes, info) => void info.reply(Buffer.concat([Buffer.from('ack:'), bytes])).catch(() => undefined));
  thermostat.on('sms', (text) => void thermostat.sendSms(`ack:${text}`).catch(() => undefined));
  const meter = sim.sim('meter');
  meter.on('wireless', (command) => void meter.sendSms(`ack:${String(command)}`).catch(() => undefined));
}

interface SimulatorSetup {
  attached: boolean;
  answering: boolean;
}

function simulatorFactory(setup: SimulatorSetup): (port?: number) => Promise<Simulator> {
  return async (port = 0) => {
    const sim = await Simulator.start({
      mode: 'kore',
      port,
      timing: { ipSentMs: 30, smsSentMs: 30, smsDeliveredMs: 30 },
      sims: [
        { uniqueName: 'thermostat', attached: setup.attached },
        { uniqueName: 'meter', api: 'wireless', attached: setup.attached },
      ],
    });
    if (setup.answering) await answeringDevices(sim);
    return sim;
  };
}

function flowFor(ctx: CaseContext, node: Message, gated: boolean) {
  const account = accountFor(ctx.sim);
  if (gated) {
    const gate = ctx.gate as Gate;
    account.node.supersimUrl = `${gate.url}/supersim`;
    account.node.wirelessUrl = `${gate.url}/wireless`;
  }
  return {
    flow: [
      { id: 'tab', type: 'tab', label: 'faults' },
      account.node,
      {
        z: 'tab', x: 100, y: 100, id: 'send', account: account.node.id, name: '', callbackUrl: '', callbackMethod: '', track: false, trackTimeout: 20,
        ...ctx.kind.node, ...node, wires: [['out'], ['statuses'], ['answers']],
      },
      { z: 'tab', x: 100, y: 100, id: 'out', type: 'helper' },
      { z: 'tab', x: 100, y: 100, id: 'statuses', type: 'helper' },
      { z: 'tab', x: 100, y: 100, id: 'answers', type: 'helper' },
      { z: 'tab', x: 100, y: 100, id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { z: 'tab', x: 100, y: 100, id: 'caught', type: 'helper' },
      { z: 'tab', x: 100, y: 100, id: 'watch', type: 'status', scope: ['send'], wires: [['nodeStatus']] },
      { z: 'tab', x: 100, y: 100, id: 'nodeStatus', type: 'helper' },
    ],
    credentials: { [account.node.id as string]: account.credentials },
  };
}

/** What came out of the node under test, by output. */
interface Outputs {
  out: Message[];
  statuses: Message[];
  answers: Message[];
  caught: Message[];
  nodeStatus: Message[];
}

function collectOutputs(): Outputs {
  return {
    out: collectMessages('out'),
    statuses: collectMessages('statuses'),
    answers: collectMessages('answers'),
    caught: collectMessages('caught'),
    nodeStatus: collectMessages('nodeStatus'),
  };
}

/** Every simulator of the case (a restart makes a second one), summed. */
function storedOf(ctx: CaseContext): string[] {
  return ctx.sims.flatMap((s) => ctx.kind.stored(s));
}

function createdOf(ctx: CaseContext): number {
  return ctx.sims.reduce((sum, s) => sum + ctx.kind.created(s), 0);
}

function pendingFaultsOf(ctx: CaseContext): number {
  return ctx.sims.reduce((sum, s) => sum + s.faults.pending, 0);
}

/** How long the engine waits before it looks up an attempt again after a failed lookup (PendingCommands' default). */
const LOOKUP_RETRY_MS = 30_000;
/** What that wait becomes here. */
const LOOKUP_RETRY_HERE_MS = 300;

/**
 * The engine's wait after a failed lookup is a fixed 30 s that neither the node nor settings.js can
 * change, and fake timers would also stop the sockets, timeouts and polls the case runs on real
 * time. So while a resume case runs, a timer of exactly that length is started shorter instead.
 */
function shortenLookupRetries(): () => void {
  const original = globalThis.setTimeout;
  const shortened = (handler: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => original(handler, ms === LOOKUP_RETRY_MS ? LOOKUP_RETRY_HERE_MS : ms, ...args);
  globalThis.setTimeout = shortened as typeof setTimeout;
  return () => {
    globalThis.setTimeout = original;
  };
}

/** A fault on what a resume reads: the lists a lookup makes, the fetches a resumed follow makes, or the token. */
interface ResumeFault {
  name: string;
  /** The account's URLs go through a gate, closed while the node starts. */
  gated?: boolean;
  target?: 'token';
  fault?: FaultKind;
  /** Default Infinity: every read fails until the case heals it. */
  times?: number;
  /** Every lookup fails at least once before the fault is healed. */
  lookupsFail: boolean;
}

const RESUME_FAULTS: ResumeFault[] = [
  { name: '500 within the client retries', fault: { kind: 'status', status: 500 }, times: DEFAULT_RETRY.maxAttempts - 1, lookupsFail: false },
  { name: '500 on every read', fault: { kind: 'status', status: 500 }, lookupsFail: true },
  { name: '503 with Retry-After', fault: { kind: 'status', status: 503, retryAfter: '1' }, lookupsFail: true },
  { name: '429 past the retries', fault: { kind: 'status', status: 429, retryAfter: '1' }, lookupsFail: true },
  { name: 'connection reset', fault: { kind: 'reset', when: 'after' }, lookupsFail: true },
  { name: 'slow headers (past the headers timeout)', fault: { kind: 'delay', ms: 3 * FAST_TIMEOUTS.headersMs, phase: 'headers' }, lookupsFail: true },
  { name: 'slow body (past the body timeout)', fault: { kind: 'delay', ms: 3 * FAST_TIMEOUTS.bodyMs, phase: 'body' }, lookupsFail: true },
  { name: 'no answer at all', fault: { kind: 'hang' }, lookupsFail: true },
  { name: 'token endpoint 500', target: 'token', fault: { kind: 'status', status: 500 }, lookupsFail: true },
  { name: 'token endpoint timeout', target: 'token', fault: { kind: 'hang' }, lookupsFail: true },
  { name: '404 (a permanent refusal)', fault: { kind: 'status', status: 404 }, lookupsFail: true },
  { name: 'API host unreachable', gated: true, lookupsFail: true },
];

function readStore(file: string): { records: PendingAttempt[] } & Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as { records: PendingAttempt[] } & Record<string, unknown>;
}

function commandsOf(kind: SendNodeKind, sim: Simulator): Record<string, unknown>[] {
  const all = kind.target === 'ipCommands' ? sim.ipCommands() : kind.target === 'smsCommands' ? sim.smsCommands() : sim.wirelessCommands();
  return (all as unknown as Record<string, unknown>[]).filter((c) => c.direction === 'to_sim');
}

const textOf = (command: Record<string, unknown>): unknown => command.payload ?? command.command;

/** The record of a message whose create never left Node-RED: the same request with other text. */
function neverCreated(template: PendingAttempt, tag: string): PendingAttempt {
  const request = { ...template.request };
  if ('command' in request) request.command = tag;
  else request.payload = tag;
  const message = { ...(JSON.parse(template.message) as Message), payload: tag, tag };
  return { ...template, id: randomUUID(), request, message: JSON.stringify(message), earlierSids: [] };
}

/** The record of a message whose command was created and output before the crash: its status was being followed. */
function beingFollowed(record: PendingAttempt, command: Record<string, unknown>): PendingAttempt {
  return {
    ...record,
    stage: 'following',
    sid: String(command.sid),
    simSid: String(command.sim_sid),
    createdAt: Date.parse(String(command.date_created)),
    status: 'queued',
    announced: true,
  };
}

describe('fault matrix: reaching the device under every API fault', function () {
  this.timeout(30_000);
  let ctx: CaseContext | undefined;
  let userDir: string | undefined;

  beforeEach(function () {
    userDir = mkdtempSync(join(tmpdir(), 'supersim-reach-faults-'));
    helper.settings({ userDir, supersim: { timeouts: FAST_TIMEOUTS, retry: FAST_RETRY, keepTrying: { firstRetryMs: FIRST_RETRY_MS, maxRetryMs: FIRST_RETRY_MS * 2 } } });
  });

  afterEach(async function () {
    await helper.unload();
    helper.settings({});
    await ctx?.gate?.close();
    for (const sim of ctx?.sims ?? []) await sim.close();
    ctx = undefined;
    if (userDir !== undefined) rmSync(userDir, { recursive: true, force: true });
  });

  async function startCase(kind: SendNodeKind, gated: boolean, setup: SimulatorSetup, node: Message, gateOpen: boolean): Promise<CaseContext> {
    const restart = simulatorFactory(setup);
    const sim = await restart();
    const current: CaseContext = { kind, sim, sims: [sim], gate: gated ? await Gate.reserve() : undefined, restart };
    ctx = current;
    if (current.gate && gateOpen) await current.gate.open(sim.port);
    const { flow, credentials } = flowFor(current, node, gated);
    await helper.load([withMessages, ...sendNodeModules], flow, credentials);
    return current;
  }

  describe('answer: waiting for the device', function () {
    for (const kind of KINDS) {
      describe(kind.label, function () {
        for (const fault of CASES) {
          it(fault.name, async function () {
            const current = await startCase(kind, fault.gated === true, { attached: true, answering: true }, { waitAnswer: true, answerTimeout: ANSWER_TIMEOUT_S, outputs: 3 }, false);
            const got = collectOutputs();
            const send = helper.getNode('send');
            const tags: string[] = [];
            const sendOne = (tag: string): void => {
              tags.push(tag);
              send.receive({ payload: tag, tag });
            };
            const ended = (tag: string): boolean => got.answers.some((m) => tagOf(m) === tag) || got.caught.some((m) => tagOf(m) === tag);
            const allEnded = (): boolean => tags.every(ended);

            if (fault.warmUp) {
              sendOne('warm');
              await waitFor(allEnded, 8_000, 'the warm-up answer');
            }
            const faultTags: string[] = [];
            await fault.inject(current);
            for (let i = 0; i < MESSAGES; i++) {
              faultTags.push(`m${i}`);
              sendOne(`m${i}`);
            }
            await fault.meanwhile?.(current);
            await waitFor(allEnded, 8_000 + ANSWER_TIMEOUT_S * 1000, `all ${tags.length} messages to end`);
            const pendingFaults = pendingFaultsOf(current);

            for (const simulator of current.sims) simulator.faults.clear();
            await fault.heal?.(current);
            // Devices answer commands whose create was reported as failed too: those answers come before the next command.
            await sleep(300);
            sendOne('recover');
            await waitFor(allEnded, 8_000, 'the message after the fault to end');
            // A second answer or error for one message would show up here.
            await sleep(200);

            const firstOutputs = got.out.map(tagOf);
            const answered = got.answers.map(tagOf);
            const caughtTags = got.caught.map(tagOf);
            for (const tag of tags) {
              assert.equal(countOf(answered, tag) + countOf(caughtTags, tag), 1, `${tag} ends once: answers ${answered}, errors ${caughtTags}`);
              assert.ok(countOf(firstOutputs, tag) <= 1, `${tag} has output 1 at most once`);
            }
            assert.ok(firstOutputs.includes('recover') && answered.includes('recover'), `the message after the fault is answered (errors: ${got.caught.map(errorOf).join(' | ')})`);

            // The API holds each command at most once: every output 1, and those reported as possibly created.
            const stored = storedOf(current);
            assert.equal(new Set(stored).size, stored.length, `no command is created twice: ${stored}`);
            for (const tag of firstOutputs) assert.ok(stored.includes(tag), `${tag} was output but the API does not hold it`);
            const createErrors = got.caught.filter((m) => !firstOutputs.includes(tagOf(m)));
            const createdButFailed = createErrors.filter((m) => stored.includes(tagOf(m)));
            for (const msg of createdButFailed) assert.match(errorOf(msg), MAY_HAVE_REACHED, `${tagOf(msg)} reached the API, so its error must say it may have`);
            assert.equal(createdOf(current), firstOutputs.length + createdButFailed.length, 'created commands = output 1 + errors that say the command may have been created');

            // Each answer is handed once, to a command this node created, and carries that command.
            const answerSids = got.answers.map((m) => String((m.command as { sid?: unknown } | undefined)?.sid));
            assert.equal(new Set(answerSids).size, answerSids.length, `an answer is handed once: ${answerSids}`);
            for (const msg of got.answers) {
              const first = got.out.find((m) => tagOf(m) === tagOf(msg));
              assert.ok(first, `${tagOf(msg)} was answered without output 1`);
              assert.equal((msg.request as { sid?: unknown }).sid, sidOf(first), `${tagOf(msg)}'s msg.request is its command`);
              assert.match(answerText(msg), /^ack:/);
            }
            // Devices also answer commands whose create was reported failed; matched by time, such an answer can
            // go to a later command and leave the last one unanswered. Without them every created command is answered.
            const unanswered = got.caught.filter((m) => firstOutputs.includes(tagOf(m)));
            if (createdButFailed.length === 0) {
              assert.deepEqual(unanswered.map(errorOf), [], 'every created command gets its answer');
              // Waiters are answered in the order they were sent, the answers come in the order the API created the
              // commands: after a create was retried, two messages sent together may swap answers, none is lost.
              const texts = got.answers.map(answerText).sort();
              assert.deepEqual(texts, got.answers.map((m) => `ack:${tagOf(m)}`).sort(), 'the answers are those of the commands created');
            }
            for (const msg of unanswered) assert.match(errorOf(msg), /No answer from/);

            const expect = fault.expect;
            const faultFirst = faultTags.filter((tag) => firstOutputs.includes(tag));
            const faultCreateErrors = createErrors.filter((m) => faultTags.includes(tagOf(m)));
            if (expect.outputs !== undefined) assert.equal(faultFirst.length, expect.outputs, `created during the fault (errors: ${faultCreateErrors.map(errorOf).join(' | ')})`);
            if (expect.errors !== undefined) assert.equal(faultCreateErrors.length, expect.errors, 'create errors during the fault');
            if (expect.createdButFailed !== undefined) assert.equal(createdButFailed.length, expect.createdButFailed, 'errors for commands the API holds');
            if (expect.errorPattern) for (const msg of faultCreateErrors) assert.match(errorOf(msg), expect.errorPattern);
            if (expect.tokenRequests !== undefined) assert.equal(current.sims.reduce((sum, s) => sum + s.stats.tokenRequests, 0), expect.tokenRequests, 'token requests');
            assert.equal(pendingFaults > 0, expect.lingers === true, 'every limited fault was used up, so each one did hit a request');

            await waitFor(() => got.nodeStatus.length > 0 && fillOf(got.nodeStatus[got.nodeStatus.length - 1]) === 'green', 2_000, 'a green status after the recovery');
          });
        }
      });
    }

    // A message that only waits for its answer is stored nowhere: a redeploy ends it, once, with a Catch error.
    it('a redeploy while a message waits for its answer ends that message with one Catch error', async function () {
      const kind = KINDS[0];
      const node = { waitAnswer: true, answerTimeout: ANSWER_TIMEOUT_S, outputs: 3 };
      const current = await startCase(kind, false, { attached: true, answering: false }, node, false);
      const got = collectOutputs();
      helper.getNode('send').receive({ payload: 'm0', tag: 'm0' });
      await waitFor(() => got.out.length === 1, 3_000, 'output 1');
      const { flow, credentials } = flowFor(current, { ...node, name: 'redeployed' }, false);
      await helper.setFlows(flow, 'nodes', credentials);
      await sleep(ANSWER_TIMEOUT_S * 1000 + 1_000);
      assert.equal(got.answers.length + got.caught.length, 1, 'the message ends once');
    });
  });

  describe('retry: the second attempt meets the fault', function () {
    for (const kind of KINDS) {
      describe(kind.label, function () {
        for (const fault of CASES) {
          it(fault.name, async function () {
            // The gate is the API host: open for the first attempts, closed by the fault.
            const current = await startCase(kind, fault.gated === true, { attached: false, answering: false }, { retryFor: 30 }, true);
            // A simulator restarted during the fault has its SIMs attached, as the first one has by then.
            current.restart = simulatorFactory({ attached: true, answering: false });
            const got = collectOutputs();
            const send = helper.getNode('send');
            const tags: string[] = [];
            const sendOne = (tag: string): void => {
              tags.push(tag);
              send.receive({ payload: tag, tag });
            };
            const statusesOf = (tag: string): string[] => got.statuses.filter((m) => tagOf(m) === tag).map((m) => `${String(m.attempt)}:${statusOf(m)}`);
            const reached = (tag: string): boolean => got.statuses.some((m) => tagOf(m) === tag && statusOf(m) === kind.goal);
            const ended = (tag: string): boolean => reached(tag) || got.caught.some((m) => tagOf(m) === tag);
            const allEnded = (): boolean => tags.every(ended);

            const faultTags: string[] = [];
            for (let i = 0; i < MESSAGES; i++) {
              faultTags.push(`m${i}`);
              sendOne(`m${i}`);
            }
            await waitFor(() => faultTags.every((tag) => statusesOf(tag).includes('1:failed')), 8_000, 'every first attempt to fail');
            for (const simulator of current.sims) for (const device of simulator.devices) device.attach();
            // A token fault needs a token request: the first attempts left a valid token behind.
            if (!fault.warmUp && !fault.gated) current.sim.revokeTokens();
            if (fault.gated) await (current.gate as Gate).close();
            await fault.inject(current);
            await fault.meanwhile?.(current);
            // A rate limit that outlasts the client's retries sent nothing: keeping trying waits it out (until
            // the deadline) instead of failing the message, and reaches the device once the limit is lifted.
            const busy = fault.name === '429 past the retries';
            let lingering = 0;
            if (busy) {
              await sleep(1_500);
              assert.deepEqual(got.caught.map(errorOf), [], 'a busy API is no reason to give up');
              lingering = pendingFaultsOf(current);
              for (const simulator of current.sims) simulator.faults.clear();
            }
            await waitFor(allEnded, 12_000, `all ${tags.length} messages to end`);
            const pendingFaults = busy ? lingering : pendingFaultsOf(current);

            for (const simulator of current.sims) simulator.faults.clear();
            await fault.heal?.(current);
            sendOne('recover');
            await waitFor(allEnded, 8_000, 'the message after the fault to end');
            await sleep(200);

            const firstOutputs = got.out.map(tagOf);
            const caughtTags = got.caught.map(tagOf);
            const stored = storedOf(current);
            for (const tag of tags) {
              assert.equal(countOf(firstOutputs, tag), 1, `${tag}: output 1 once, for its first command`);
              assert.equal((reached(tag) ? 1 : 0) + countOf(caughtTags, tag), 1, `${tag} ends once: statuses ${statusesOf(tag)}, errors ${caughtTags}`);
              const failed = statusesOf(tag).filter((s) => s.endsWith(':failed')).length;
              const creates = countOf(stored, tag);
              // Only an attempt that ended failed is sent again: never one whose outcome is unknown.
              assert.ok(creates <= failed + 1, `${tag}: ${creates} commands, but only ${failed} attempts failed`);
              if (reached(tag)) {
                const goal = got.statuses.find((m) => tagOf(m) === tag && statusOf(m) === kind.goal) as Message;
                assert.equal(creates, Number(goal.attempt), `${tag} reached its goal at attempt ${String(goal.attempt)}`);
              } else if (creates === failed + 1) {
                const error = got.caught.find((m) => tagOf(m) === tag) as Message;
                assert.match(errorOf(error), MAY_HAVE_REACHED, `${tag}'s last attempt reached the API, so its error must say it may have`);
              }
            }
            assert.ok(reached('recover') && !caughtTags.includes('recover'), `the message after the fault reaches the device (errors: ${got.caught.map(errorOf).join(' | ')})`);

            // The second attempts are spread by the backoff's jitter, so they do not share one token request as
            // simultaneous sends do: which of them meet the token fault is open, only that some do.
            const tokenFault = !fault.warmUp && !fault.gated;
            // Waited out, the rate limit ends in every message reaching the device, with no error.
            const expect = tokenFault
              ? { createdButFailed: 0, errorPattern: fault.expect.errorPattern }
              : busy
                ? { ...fault.expect, outputs: MESSAGES, errors: 0, errorPattern: undefined }
                : fault.expect;
            const faultErrors = got.caught.filter((m) => faultTags.includes(tagOf(m)));
            if (tokenFault) assert.ok(faultErrors.length > 0, 'the token fault made some attempt fail');
            const createdButFailed = faultErrors.filter((m) => countOf(stored, tagOf(m)) > 1);
            if (expect.outputs !== undefined) assert.equal(faultTags.filter(reached).length, expect.outputs, `reached during the fault (errors: ${faultErrors.map(errorOf).join(' | ')})`);
            if (expect.errors !== undefined) assert.equal(faultErrors.length, expect.errors, 'errors during the fault');
            if (expect.createdButFailed !== undefined) assert.equal(createdButFailed.length, expect.createdButFailed, 'errors for attempts the API holds');
            if (expect.errorPattern) for (const msg of faultErrors) assert.match(errorOf(msg), expect.errorPattern);
            if (expect.tokenRequests !== undefined) assert.equal(current.sims.reduce((sum, s) => sum + s.stats.tokenRequests, 0), expect.tokenRequests, 'token requests');
            assert.equal(pendingFaults > 0, expect.lingers === true, 'every limited fault was used up, so each one did hit a request');
            await waitFor(() => got.nodeStatus.length > 0 && fillOf(got.nodeStatus[got.nodeStatus.length - 1]) === 'green', 2_000, 'a green status after the recovery');
          });
        }
      });
    }
  });
  describe('resume: the node restarts with attempts in its store, and the reads fail', function () {
    let restoreTimers: (() => void) | undefined;
    afterEach(function () {
      restoreTimers?.();
      restoreTimers = undefined;
    });

    /**
     * The first run of the node: its creates are held on the wire, so its store holds them as
     * `creating`, as a crash (SIGKILL) would leave it. Returns the store as it was on disk then.
     */
    async function crashWhileCreating(current: CaseContext, file: string): Promise<ReturnType<typeof readStore>> {
      current.sim.faults.add({ target: current.kind.target, method: 'POST', times: MESSAGES }, { kind: 'hold' });
      const send = helper.getNode('send');
      for (let i = 0; i < MESSAGES; i++) send.receive({ payload: `m${i}`, tag: `m${i}` });
      await waitFor(() => current.sim.faults.held === MESSAGES, 5_000, 'every create held on the wire');
      const crashed = readStore(file);
      assert.deepEqual(crashed.records.map((r) => r.stage), Array(MESSAGES).fill('creating'), 'the store holds every attempt as being created');
      // What this run does on its way out is what a crash would not do: the store is put back as it was.
      await helper.unload();
      return crashed;
    }

    const tagOfRecord = (record: PendingAttempt): string => String((JSON.parse(record.message) as Message).tag);

    for (const kind of KINDS) {
      describe(kind.label, function () {
        for (const fault of RESUME_FAULTS) {
          it(fault.name, async function () {
            const current = await startCase(kind, fault.gated === true, { attached: true, answering: false }, { retryFor: 30 }, true);
            const file = pendingFileOf(userDir as string, 'send');
            const crashed = await crashWhileCreating(current, file);
            const recordOf = (tag: string): PendingAttempt => crashed.records.find((r) => tagOfRecord(r) === tag) as PendingAttempt;
            const followedTag = `m${MESSAGES - 1}`;
            const followedCommand = commandsOf(kind, current.sim).find((c) => textOf(c) === followedTag);
            assert.ok(followedCommand, `the API holds ${followedTag}`);
            // The held creates were created: they must be found, not created again. g0 and g1 never left Node-RED.
            const records = [
              ...crashed.records.filter((r) => tagOfRecord(r) !== followedTag),
              beingFollowed(recordOf(followedTag), followedCommand),
              neverCreated(recordOf('m0'), 'g0'),
              neverCreated(recordOf('m0'), 'g1'),
            ];
            writeFileSync(file, JSON.stringify({ ...crashed, records }));
            const tags = records.map(tagOfRecord);
            const createdBefore = createdOf(current);

            if (fault.gated) await (current.gate as Gate).close();
            else if (fault.fault) {
              const rule = fault.target === 'token' ? { target: 'token' as const } : { target: kind.target, method: 'GET' };
              current.sim.faults.add({ ...rule, times: fault.times ?? Infinity }, fault.fault);
            }
            restoreTimers = shortenLookupRetries();
            const { flow, credentials } = flowFor(current, { retryFor: 30 }, fault.gated === true);
            await helper.load([withMessages, ...sendNodeModules], flow, credentials);
            const got = collectOutputs();
            const lookupWarnings = (): string[] => logLines('send', 30).filter((line) => /Could not look up whether/.test(line));
            // A command found by its lookup may be final already: then output 1 shows its goal, and no change follows on output 2.
            const reached = (tag: string): boolean => [...got.out, ...got.statuses].some((m) => tagOf(m) === tag && statusOf(m) === kind.goal);
            const ended = (tag: string): boolean => reached(tag) || got.caught.some((m) => tagOf(m) === tag);

            if (fault.lookupsFail) {
              // The lookups of one SIM are made together (one listing for all): two failed rounds show none creates blind.
              await waitFor(() => lookupWarnings().length >= 2, 15_000, 'the lookups to fail twice').catch((error: unknown) => {
                throw new Error(`${String(error)}: ${lookupWarnings().length} so far; the node logged ${JSON.stringify(helper.log().args.map((a) => (a[0] as { msg?: unknown }).msg))}`);
              });
              assert.equal(createdOf(current), createdBefore, 'a lookup that failed leads to no create');
              assert.equal(got.out.length, 0, 'nothing is output before its lookup succeeds');
              current.sim.faults.clear();
              if (fault.gated) await (current.gate as Gate).open(current.sim.port);
            }
            await waitFor(() => tags.every(ended), 12_000, 'every resumed message to end');
            await sleep(200);

            const firstOutputs = got.out.map(tagOf);
            const caughtTags = got.caught.map(tagOf);
            for (const tag of tags) {
              assert.equal((reached(tag) ? 1 : 0) + countOf(caughtTags, tag), 1, `${tag} ends once: errors ${got.caught.map(errorOf).join(' | ')}`);
              assert.equal(countOf(commandsOf(kind, current.sim).map(textOf), tag), 1, `${tag} has exactly one command`);
              // Output 1 once for the first command: after the restart for those not yet announced.
              assert.equal(countOf(firstOutputs, tag), tag === followedTag || caughtTags.includes(tag) ? 0 : 1, `${tag}: output 1`);
            }
            assert.equal(new Set(got.out.map(sidOf)).size, got.out.length, 'each output 1 is another command');
            assert.equal(fault.lookupsFail, lookupWarnings().length > 0, 'lookups failed exactly when the fault outlasts the client retries');
            // Only a read refused for good may end a resumed follow; every lookup is tried until it succeeds.
            const expectedErrors = fault.fault?.kind === 'status' && fault.fault.status === 404 ? [followedTag] : [];
            assert.deepEqual(caughtTags.filter((tag) => !expectedErrors.includes(tag)), [], `errors: ${got.caught.map(errorOf).join(' | ')}`);
          });
        }
      });
    }

    /** Failing polls for the answers of attempts that a crash left waiting for them. */
    const ANSWER_POLL_FAULTS: { name: string; fault: FaultKind; healed: boolean }[] = [
      { name: '500 on every poll until healed', fault: { kind: 'status', status: 500 }, healed: true },
      { name: 'polls that time out until healed', fault: { kind: 'hang' }, healed: true },
      // A 404 stops the poll for good (the SIM or the path does not exist): the answer timeout ends each message.
      { name: '404 on every poll', fault: { kind: 'status', status: 404 }, healed: false },
    ];

    for (const kind of KINDS) {
      for (const fault of ANSWER_POLL_FAULTS) {
        it(`${kind.label}: waiting for answers, ${fault.name}`, async function () {
          const current = await startCase(kind, false, { attached: true, answering: true }, { retryFor: 30, waitAnswer: true, answerTimeout: 4, outputs: 3 }, false);
          const file = pendingFileOf(userDir as string, 'send');
          const crashed = await crashWhileCreating(current, file);
          // Every device has answered its command by now: the answers wait in the API for a poll to find them.
          const answerTimeoutMs = 4_000;
          const records = crashed.records.map((record) => {
            const command = commandsOf(kind, current.sim).find((c) => textOf(c) === tagOfRecord(record)) as Record<string, unknown>;
            return { ...beingFollowed(record, command), stage: 'answer' as const, status: kind.goal, answerTimeoutMs, answerDeadline: Date.now() + answerTimeoutMs };
          });
          writeFileSync(file, JSON.stringify({ ...crashed, records }));
          const createdBefore = createdOf(current);
          current.sim.faults.add({ target: kind.target, method: 'GET', times: Infinity }, fault.fault);
          const { flow, credentials } = flowFor(current, { retryFor: 30, waitAnswer: true, answerTimeout: 4, outputs: 3 }, false);
          await helper.load([withMessages, ...sendNodeModules], flow, credentials);
          const got = collectOutputs();
          const tags = records.map(tagOfRecord);
          const ended = (tag: string): boolean => got.answers.some((m) => tagOf(m) === tag) || got.caught.some((m) => tagOf(m) === tag);
          if (fault.healed) {
            // Long enough for the first polls (1 s, then 2 s later) to fail, short of the answer timeout.
            await sleep(2_000);
            assert.equal(got.answers.length, 0, 'no answer while every poll fails');
            current.sim.faults.clear();
          }
          await waitFor(() => tags.every(ended), answerTimeoutMs + 4_000, 'every resumed message to end');
          await sleep(200);

          const answered = got.answers.map(tagOf);
          const caughtTags = got.caught.map(tagOf);
          for (const tag of tags) assert.equal(countOf(answered, tag) + countOf(caughtTags, tag), 1, `${tag} ends once: answers ${answered}, errors ${got.caught.map(errorOf).join(' | ')}`);
          assert.equal(createdOf(current), createdBefore, 'waiting for an answer creates nothing');
          assert.equal(got.out.length, 0, 'output 1 went out before the crash');
          for (const msg of got.answers) {
            const record = records.find((r) => tagOfRecord(r) === tagOf(msg)) as PendingAttempt;
            assert.equal((msg.request as { sid?: unknown }).sid, record.sid, `${tagOf(msg)}'s msg.request is its command`);
            assert.match(answerText(msg), /^ack:m\d$/);
          }
          if (fault.healed) assert.deepEqual(got.caught.map(errorOf), [], 'every answer is found once the polls work');
          else for (const msg of got.caught) assert.match(errorOf(msg), /No answer from/);
        });
      }
    }

    // An adopted attempt the API already shows final still reports that status on output 2.
    it('a later attempt adopted after a restart reports its status on output 2', async function () {
      const kind = KINDS[0];
      const current = await startCase(kind, false, { attached: true, answering: false }, { retryFor: 30 }, false);
      const file = pendingFileOf(userDir as string, 'send');
      const crashed = await crashWhileCreating(current, file);
      // As a crash leaves it: the first attempt failed and was output, the second was on the wire (and was created).
      const records = crashed.records.map((r) => ({ ...r, attempt: 2, announced: true, earlierSids: [`HG${'0'.repeat(32)}`] }));
      writeFileSync(file, JSON.stringify({ ...crashed, records }));
      const { flow, credentials } = flowFor(current, { retryFor: 30 }, false);
      await helper.load([withMessages, ...sendNodeModules], flow, credentials);
      const got = collectOutputs();
      const tags = records.map(tagOfRecord);
      await sleep(3_000);
      assert.equal(createdOf(current), MESSAGES, 'each second attempt is found, not created again');
      for (const tag of tags) {
        const statuses = got.statuses.filter((m) => tagOf(m) === tag).map((m) => `${String(m.attempt)}:${statusOf(m)}`);
        assert.deepEqual(statuses, [`2:${kind.goal}`], `${tag}: output 2 reports the adopted attempt (errors: ${got.caught.map(errorOf).join(' | ')})`);
      }
    });

    // Lookups that keep failing never lead to a create; at the deadline the message ends with one Catch error.
    it('lookups that keep failing past the deadline end the message with one Catch error', async function () {
      const kind = KINDS[0];
      const current = await startCase(kind, false, { attached: true, answering: false }, { retryFor: 30 }, false);
      const file = pendingFileOf(userDir as string, 'send');
      const crashed = await crashWhileCreating(current, file);
      const now = Date.now();
      const records = crashed.records.map((r) => ({ ...r, deadline: now + 1_500 }));
      writeFileSync(file, JSON.stringify({ ...crashed, records }));
      current.sim.faults.add({ target: kind.target, method: 'GET', times: Infinity }, { kind: 'status', status: 500 });
      restoreTimers = shortenLookupRetries();
      const { flow, credentials } = flowFor(current, { retryFor: 30 }, false);
      await helper.load([withMessages, ...sendNodeModules], flow, credentials);
      const got = collectOutputs();
      const tags = records.map(tagOfRecord);
      await waitFor(() => tags.every((tag) => got.caught.some((m) => tagOf(m) === tag)), 8_000, `a Catch error for each of ${tags} after the deadline (${got.caught.length} so far)`);
      assert.equal(createdOf(current), MESSAGES, 'nothing was created blind');
    });
  });
});
