/**
 * Keep trying (retryFor) in the test helper's Node-RED against the simulator: a SIM that attaches
 * after two failed attempts, one that never does, a create that fails with a 500, keep trying with
 * an answer, and what a redeploy and a deleted node do with the pending attempts.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FollowUps, pendingFileOf } from '../../nodes/lib/follow-ups';
import type { Node, NodeAPI } from '../../nodes/lib/red';
import { Account } from '../../src/account';
import { PENDING_FORMAT, PENDING_VERSION } from '../../src/reaching';
import { Simulator } from '../../src/simulator';
import { collectMessages, helper, logLines, waitFor } from '../support/flows';
import { HOOK, KEEP_TRYING, echoDevices, errorOf, ipSend, reachFlow, reachingModules, serveHttpNode, smsSend, statusTexts, useTempUserDir, wirelessSend } from './reaching-flows';

const FAST = { ipSentMs: 10, smsSentMs: 10, smsDeliveredMs: 20, callbackRetryMs: 20 };
const IP_POST = '/supersim/v1/IpCommands';

interface StatusPayload {
  sid: string;
  status: string;
  error_code: number | null;
}

function attemptsOf(statuses: Record<string, unknown>[]): string[] {
  return statuses.map((m) => `${String(m.attempt)}:${(m.payload as StatusPayload).status}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('send nodes: keep trying (retryFor)', function () {
  this.timeout(20_000);
  let server: { url: string; close(): Promise<void> };
  let sim: Simulator | undefined;
  let userDir: { dir: string; remove(): void } | undefined;

  before(async function () {
    server = await serveHttpNode();
  });
  after(async function () {
    await server.close();
  });
  afterEach(async function () {
    await helper.unload();
    await sim?.close();
    sim = undefined;
    userDir?.remove();
    userDir = undefined;
  });

  async function startSim(): Promise<Simulator> {
    const s = await Simulator.start({
      mode: 'kore',
      timing: FAST,
      fleets: [{ uniqueName: 'default', ipCommandsUrl: server.url + HOOK, smsCommandsUrl: server.url + HOOK }],
      sims: [{ uniqueName: 'thermostat' }, { uniqueName: 'parked', attached: false }, { uniqueName: 'mute' }, { uniqueName: 'meter', api: 'wireless' }],
    });
    await echoDevices(s);
    return s;
  }

  /** Attaches the SIM once output 2 reports attempt `attempt` failed. */
  function attachAfterFailure(s: Simulator, simName: string, attempt: number): void {
    helper.getNode('status').on('input', (msg: Record<string, unknown>) => {
      if (msg.attempt === attempt && (msg.payload as StatusPayload).status === 'failed') s.sim(simName).attach();
    });
  }

  for (const { label, kind, send, polled, goal, simName } of [
    { label: 'IP, statuses by callback', kind: 'ip', send: ipSend({ retryFor: 60 }), polled: false, goal: 'sent', simName: 'thermostat' },
    { label: 'SMS, statuses polled', kind: 'sms', send: smsSend({ retryFor: 60 }), polled: true, goal: 'delivered', simName: 'thermostat' },
    { label: 'Wireless with a receipt, statuses by callback', kind: 'wireless', send: wirelessSend({ retryFor: 60, deliveryReceipt: true }), polled: false, goal: 'delivered', simName: 'meter' },
  ] as const) {
    it(`${label}: a SIM detached for the first 2 attempts → 2 failed + 1 ${goal}, exactly 3 creates, output 1 once, no Catch error`, async function () {
      userDir = useTempUserDir();
      sim = await startSim();
      sim.sim(simName).detach();
      const { flow, credentials } = reachFlow(sim, send, { publicUrl: polled ? '' : server.url });
      await helper.load(reachingModules, flow, credentials);
      const out = collectMessages('out');
      const statuses = collectMessages('status');
      const caught = collectMessages('caught');
      attachAfterFailure(sim, simName, 2);
      helper.getNode('send').receive({ payload: 'wake up', extra: 'kept' });
      await waitFor(() => statuses.some((m) => (m.payload as StatusPayload).status === goal), 15_000, `an attempt ${goal}`);
      await sleep(polled ? 1200 : 300);

      const seen = attemptsOf(statuses);
      const final = seen.filter((s) => /:(failed|sent|delivered)$/.test(s) && !(goal === 'delivered' && s.endsWith(':sent')));
      assert.deepEqual(final, ['1:failed', '2:failed', `3:${goal}`], `output 2 saw ${seen.join(', ')}`);
      assert.deepEqual([...new Set(statuses.map((m) => m.attempt))], [1, 2, 3], 'every status carries its attempt');
      for (const msg of statuses) assert.equal(msg.extra, 'kept');
      const failed = statuses.filter((m) => (m.payload as StatusPayload).status === 'failed');
      for (const msg of failed) assert.equal((msg.payload as StatusPayload).error_code, 32001, 'a detached SIM fails with 32001');
      assert.equal(kind === 'ip' ? sim.createdCount('ip') : kind === 'sms' ? sim.createdCount('sms') : sim.createdCount('wireless'), 3, 'exactly 3 creates');
      assert.equal(new Set(statuses.map((m) => (m.payload as StatusPayload).sid)).size, 3, 'each attempt is its own command');
      assert.equal(out.length, 1, 'output 1 once, for the first created command');
      assert.equal((out[0].payload as StatusPayload).sid, (failed[0].payload as StatusPayload).sid);
      assert.equal(caught.length, 0, 'no Catch error');
      await waitFor(() => readRecords(userDir?.dir ?? '').length === 0, 2_000, 'nothing left pending in the store');
      await waitFor(() => new RegExp(`^${goal} at \\d\\d:\\d\\d:\\d\\d$`).test(statusTexts('send').at(-1) ?? ''), 2_000, `the status "${goal} at …" (${statusTexts('send').join(' | ')})`);
    });
  }

  it('a SIM never attached: a Catch "gave up" error at the deadline naming the SIM, the attempts, the time and code 32001', async function () {
    userDir = useTempUserDir();
    sim = await startSim();
    const { flow, credentials } = reachFlow(sim, ipSend({ sim: 'parked', retryFor: 2 }), { publicUrl: server.url });
    await helper.load(reachingModules, flow, credentials);
    const statuses = collectMessages('status');
    const caught = collectMessages('caught');
    const sentAt = Date.now();
    helper.getNode('send').receive({ payload: 'hello?', extra: 'kept' });
    await waitFor(() => caught.length === 1, 10_000, 'the Catch error');
    const elapsed = Date.now() - sentAt;
    assert.ok(elapsed >= 1950 && elapsed < 4000, `given up at the deadline (${elapsed} ms)`);
    const attempts = sim.createdCount('ip');
    assert.ok(attempts >= 3, `tried again and again (${attempts} creates)`);
    const error = errorOf(caught[0]);
    assert.equal(
      error.message,
      `ReachError: Gave up on parked after ${attempts} attempts over 2 s (last error code 32001). The device was not reachable all that time: check that it is powered and has coverage, or keep trying for longer.`,
    );
    assert.equal(error.source?.id, 'send');
    assert.equal(caught[0].extra, 'kept');
    assert.equal(Math.max(...statuses.map((m) => Number(m.attempt))), attempts, 'output 2 saw every attempt');
    await waitFor(() => /failed: gave up/.test(statusTexts('send').at(-1) ?? ''), 2_000, 'the status "failed: gave up"');
    await sleep(600);
    assert.equal(sim.createdCount('ip'), attempts, 'nothing is created after giving up');
    assert.equal(caught.length, 1);
    assert.equal(existsSync(pendingFileOf(userDir.dir, 'send')) ? JSON.stringify(readRecords(userDir.dir)) : '[]', '[]', 'nothing is left pending');
  });

  it('a 500 on the 2nd attempt’s create: a Catch error, and that attempt is never repeated (exactly 2 creates)', async function () {
    userDir = useTempUserDir();
    sim = await startSim();
    sim.sim('thermostat').detach();
    const { flow, credentials } = reachFlow(sim, ipSend({ retryFor: 60 }), { publicUrl: server.url });
    await helper.load(reachingModules, flow, credentials);
    const statuses = collectMessages('status');
    const caught = collectMessages('caught');
    const s = sim;
    helper.getNode('status').on('input', (msg: Record<string, unknown>) => {
      if (msg.attempt === 1 && (msg.payload as StatusPayload).status === 'failed') {
        s.sim('thermostat').attach();
        s.faults.add({ target: 'ipCommands', method: 'POST' }, { kind: 'status', status: 500, code: 20500, message: 'Internal Server Error' });
      }
    });
    helper.getNode('send').receive({ payload: 'once' });
    await waitFor(() => caught.length === 1, 10_000, 'the Catch error');
    const error = errorOf(caught[0]);
    assert.match(error.message, /^ReachError: Stopped keeping trying for thermostat: the outcome of attempt 2 \(no sid\) is unknown \(.*HTTP 500/);
    assert.match(error.message, /Check the command before resending/);
    await sleep(1500);
    assert.equal(sim.stats.count('POST', IP_POST), 2, 'exactly 2 creates were sent: the one with an unknown outcome is not repeated');
    assert.equal(caught.length, 1, 'reported once');
    assert.deepEqual(attemptsOf(statuses), ['1:failed']);
    await waitFor(() => /failed: outcome unknown/.test(statusTexts('send').at(-1) ?? ''), 2_000, 'the status "failed: outcome unknown"');
  });

  it('shows "1 to retry" while an attempt waits for its turn', async function () {
    userDir = useTempUserDir({ firstRetryMs: 1500, maxRetryMs: 1500 });
    sim = await startSim();
    sim.sim('thermostat').detach();
    const { flow, credentials } = reachFlow(sim, ipSend({ retryFor: 60 }), { publicUrl: server.url });
    await helper.load(reachingModules, flow, credentials);
    attachAfterFailure(sim, 'thermostat', 1);
    const statuses = collectMessages('status');
    helper.getNode('send').receive({ payload: 'later' });
    await waitFor(() => statusTexts('send').at(-1) === 'failed: 32001 · 1 to retry', 2_000, 'the status "failed: 32001 · 1 to retry"');
    await waitFor(() => statuses.some((m) => (m.payload as StatusPayload).status === 'sent'), 5_000, 'attempt 2 sent');
    await waitFor(() => !/to retry/.test(statusTexts('send').at(-1) ?? ''), 2_000, 'the count gone');
  });

  for (const { kind, way, simName } of [
    { kind: 'ip', way: 'callback', simName: 'thermostat' },
    { kind: 'ip', way: 'polling', simName: 'thermostat' },
    { kind: 'sms', way: 'callback', simName: 'thermostat' },
    { kind: 'wireless', way: 'polling', simName: 'meter' },
  ] as const) {
    it(`${kind} waitAnswer with retryFor (answer by ${way}): after the attempt that got through, output 3 gets the answer`, async function () {
      userDir = useTempUserDir();
      sim = await startSim();
      sim.sim(simName).detach();
      const byCallback = way === 'callback';
      const options = { retryFor: 60, waitAnswer: true, answerTimeout: 10, outputs: 3 };
      const send = kind === 'ip' ? ipSend(options) : kind === 'sms' ? smsSend(options) : wirelessSend({ ...options, deliveryReceipt: false });
      const { flow, credentials } = reachFlow(sim, send, { publicUrl: byCallback ? server.url : '', commandIn: byCallback });
      await helper.load(reachingModules, flow, credentials);
      attachAfterFailure(sim, simName, 1);
      const out = collectMessages('out');
      const statuses = collectMessages('status');
      const answers = collectMessages('answer');
      const caught = collectMessages('caught');
      helper.getNode('send').receive({ payload: 'are you up?', extra: 'kept' });
      await waitFor(() => answers.length === 1, 10_000, 'the answer');
      const payload = answers[0].payload;
      assert.equal(Buffer.isBuffer(payload) ? payload.toString() : payload, 'ack:are you up?');
      const sent = statuses.find((m) => (m.payload as StatusPayload).status === 'sent');
      assert.ok(sent, 'attempt 2 was sent');
      assert.equal(sent.attempt, 2);
      assert.equal((answers[0].request as StatusPayload).sid, (sent.payload as StatusPayload).sid, 'msg.request is the attempt that got through');
      assert.notEqual((answers[0].request as StatusPayload).sid, (out[0].payload as StatusPayload).sid);
      assert.equal((answers[0].command as { direction: string }).direction, 'from_sim');
      assert.equal(answers[0].extra, 'kept');
      assert.equal(out.length, 1);
      const creates = kind === 'ip' ? sim.createdCount('ip') : kind === 'sms' ? sim.createdCount('sms') : sim.createdCount('wireless');
      assert.equal(creates, 2);
      assert.equal(caught.length, 0);
      await waitFor(() => /^answer at \d\d:\d\d:\d\d$/.test(statusTexts('send').at(-1) ?? ''), 2_000, `the status "answer at …" (${statusTexts('send').join(' | ')})`);
    });
  }

  it('waitAnswer with retryFor, a device that never answers: one Catch "no answer" error after the sent attempt, nothing left pending', async function () {
    userDir = useTempUserDir();
    sim = await startSim();
    const { flow, credentials } = reachFlow(sim, ipSend({ sim: 'mute', retryFor: 60, waitAnswer: true, answerTimeout: 1, outputs: 3 }), { publicUrl: server.url });
    await helper.load(reachingModules, flow, credentials);
    const out = collectMessages('out');
    const caught = collectMessages('caught');
    helper.getNode('send').receive({ payload: 'silence' });
    await waitFor(() => caught.length === 1, 5_000, 'the Catch error');
    const sid = (out[0].payload as StatusPayload).sid;
    assert.match(errorOf(caught[0]).message, new RegExp(`^ReachError: No answer from mute within 1 s \\(command ${sid}\\)`));
    await sleep(500);
    assert.equal(caught.length, 1);
    assert.equal(sim.createdCount('ip'), 1, 'a sent attempt is not sent again for want of an answer');
    await waitFor(() => readRecords(userDir?.dir ?? '').length === 0, 2_000, 'nothing left pending in the store');
  });

  for (const deploy of ['full', 'nodes'] as const) {
    it(`a ${deploy} redeploy resumes the pending attempts: they complete with no duplicate create`, async function () {
      userDir = useTempUserDir({ firstRetryMs: 2000, maxRetryMs: 2000 });
      sim = await startSim();
      sim.sim('thermostat').detach();
      const send = ipSend({ retryFor: 60 });
      const { flow, credentials } = reachFlow(sim, send, { publicUrl: server.url });
      await helper.load(reachingModules, flow, credentials);
      const out = collectMessages('out');
      const statuses = collectMessages('status');
      helper.getNode('send').receive({ payload: 'first', extra: 1, raw: Buffer.from([0, 1, 255]) });
      helper.getNode('send').receive({ payload: 'second', extra: 2, raw: Buffer.from([0, 1, 255]) });
      await waitFor(() => statuses.filter((m) => (m.payload as StatusPayload).status === 'failed').length === 2, 5_000, 'both first attempts failed');
      await waitFor(() => /2 to retry$/.test(statusTexts('send').at(-1) ?? ''), 2_000, 'the status "2 to retry"');
      const file = pendingFileOf(userDir.dir, 'send');
      assert.ok(existsSync(file), 'the attempts are recorded');

      // 'full' restarts every node with the same flow; 'nodes' restarts only the send node, which changed.
      const again = reachFlow(sim, deploy === 'full' ? send : { ...send, name: 'renamed' }, { publicUrl: server.url });
      await helper.setFlows(again.flow, deploy, again.credentials);
      const after = deploy === 'full' ? collectMessages('status') : statuses;
      const outAfter = deploy === 'full' ? collectMessages('out') : out;
      const caught = collectMessages('caught');
      await waitFor(() => logLines('send', 40).includes('Resumed 2 commands this node was still trying to send.'), 2_000, 'the log line "Resumed 2 commands"');
      await waitFor(() => statusTexts('send').at(-1) === '2 to retry', 2_000, 'the resumed node shows "2 to retry"');
      sim.sim('thermostat').attach();
      await waitFor(() => after.filter((m) => (m.payload as StatusPayload).status === 'sent').length === 2, 8_000, 'both attempts sent after the redeploy');
      await sleep(300);

      const resumed = after.filter((m) => (m.payload as StatusPayload).status === 'sent');
      assert.deepEqual(resumed.map((m) => m.attempt), [2, 2], 'each message goes on with its attempt 2');
      assert.deepEqual(resumed.map((m) => m.extra).sort(), [1, 2], 'the input message survived the redeploy');
      for (const msg of resumed) assert.deepEqual(msg.raw, Buffer.from([0, 1, 255]), 'Buffers come back as Buffers');
      assert.equal(sim.createdCount('ip'), 4, 'two failed + two sent: no duplicate create');
      assert.equal(sim.createdCount('ip', (c) => c.payload === 'first'), 2);
      assert.equal(sim.createdCount('ip', (c) => c.payload === 'second'), 2);
      assert.equal(out.length, 2, 'output 1 went out once per message, before the redeploy');
      if (deploy === 'full') assert.equal(outAfter.length, 0, 'and not again after it');
      assert.equal(caught.length, 0);
      await waitFor(() => readRecords(userDir?.dir ?? '').length === 0, 2_000, 'nothing left pending in the store');
    });
  }

  for (const deploy of ['full', 'nodes'] as const) {
    it(`a ${deploy} redeploy while an attempt's create is on the wire: it is looked up and adopted, never created twice`, async function () {
      userDir = useTempUserDir();
      // The held create ends by the client's timeout, as a request on the wire when Node-RED stops does.
      helper.settings({ userDir: userDir.dir, supersim: { keepTrying: KEEP_TRYING, timeouts: { headersMs: 1500 } } });
      sim = await startSim();
      sim.sim('thermostat').detach();
      const send = ipSend({ retryFor: 60 });
      const { flow, credentials } = reachFlow(sim, send, { publicUrl: server.url });
      await helper.load(reachingModules, flow, credentials);
      const statuses = collectMessages('status');
      const s = sim;
      helper.getNode('status').on('input', (msg: Record<string, unknown>) => {
        if (msg.attempt === 1 && (msg.payload as StatusPayload).status === 'failed') {
          // Attempt 2 is created in the simulator (and sent: the SIM is back), but its answer is held.
          s.faults.add({ target: 'ipCommands', method: 'POST' }, { kind: 'hold' });
          s.sim('thermostat').attach();
        }
      });
      helper.getNode('send').receive({ payload: 'on the wire', extra: 'kept' });
      await waitFor(() => s.faults.held === 1, 5_000, 'attempt 2’s create held');
      assert.equal(sim.createdCount('ip'), 2);

      const again = reachFlow(sim, deploy === 'full' ? send : { ...send, name: 'renamed' }, { publicUrl: server.url });
      await helper.setFlows(again.flow, deploy, again.credentials);
      const after = deploy === 'full' ? collectMessages('status') : statuses;
      const caught = collectMessages('caught');
      await waitFor(() => after.some((m) => (m.payload as StatusPayload).status === 'sent'), 8_000, 'attempt 2 reported sent after the redeploy');
      await sleep(500);
      assert.equal(sim.createdCount('ip'), 2, 'the held create was adopted, not made again');
      const sent = after.filter((m) => (m.payload as StatusPayload).status === 'sent');
      assert.equal(sent.length, 1);
      assert.equal(sent[0].attempt, 2);
      assert.equal(sent[0].extra, 'kept');
      assert.equal((sent[0].payload as StatusPayload).sid, sim.ipCommands()[1].sid);
      assert.equal(caught.length, 0);
      await waitFor(() => readRecords(userDir?.dir ?? '').length === 0, 2_000, 'nothing left pending in the store');
    });
  }

  it('a redeploy while two attempts with the same payload to one SIM are on the wire: each message adopts its own command', async function () {
    userDir = useTempUserDir();
    helper.settings({ userDir: userDir.dir, supersim: { keepTrying: KEEP_TRYING, timeouts: { headersMs: 1500 } } });
    sim = await startSim();
    sim.sim('thermostat').detach();
    const send = ipSend({ retryFor: 60 });
    const { flow, credentials } = reachFlow(sim, send, { publicUrl: server.url });
    await helper.load(reachingModules, flow, credentials);
    const statuses = collectMessages('status');
    const s = sim;
    let failedFirst = 0;
    helper.getNode('status').on('input', (msg: Record<string, unknown>) => {
      if (msg.attempt === 1 && (msg.payload as StatusPayload).status === 'failed' && ++failedFirst === 2) {
        s.faults.add({ target: 'ipCommands', method: 'POST', times: 2 }, { kind: 'hold' });
        s.sim('thermostat').attach();
      }
    });
    helper.getNode('send').receive({ payload: 'same', extra: 'A' });
    helper.getNode('send').receive({ payload: 'same', extra: 'B' });
    await waitFor(() => s.faults.held === 2, 5_000, 'both attempt 2 creates held');

    const again = reachFlow(sim, { ...send, name: 'renamed' }, { publicUrl: server.url });
    await helper.setFlows(again.flow, 'nodes', again.credentials);
    const caught = collectMessages('caught');
    await waitFor(() => statuses.filter((m) => m.attempt === 2 && (m.payload as StatusPayload).status === 'sent').length >= 2, 8_000, 'both messages reported sent');
    await sleep(500);
    const sent = statuses.filter((m) => m.attempt === 2 && (m.payload as StatusPayload).status === 'sent');
    assert.equal(sent.length, 2);
    assert.deepEqual(sent.map((m) => m.extra).sort(), ['A', 'B']);
    assert.notEqual((sent[0].payload as StatusPayload).sid, (sent[1].payload as StatusPayload).sid, 'two messages, two commands: none adopted twice');
    assert.equal(sim.createdCount('ip'), 4, 'two failed + two held creates, nothing created again');
    assert.equal(caught.length, 0);
  });

  it('a redeploy while an attempt waits for the answer: the answer still reaches output 3 with msg.request', async function () {
    userDir = useTempUserDir();
    sim = await startSim();
    const send = ipSend({ sim: 'mute', retryFor: 60, waitAnswer: true, answerTimeout: 20, outputs: 3 });
    const { flow, credentials } = reachFlow(sim, send, { publicUrl: server.url, commandIn: true });
    await helper.load(reachingModules, flow, credentials);
    const statuses = collectMessages('status');
    helper.getNode('send').receive({ payload: 'answer later', extra: 'kept' });
    await waitFor(() => statuses.some((m) => (m.payload as StatusPayload).status === 'sent'), 5_000, 'attempt 1 sent');
    await waitFor(() => /1 waiting for an answer$/.test(statusTexts('send').at(-1) ?? ''), 2_000, 'the status "1 waiting for an answer"');

    const again = reachFlow(sim, { ...send, name: 'renamed' }, { publicUrl: server.url, commandIn: true });
    await helper.setFlows(again.flow, 'nodes', again.credentials);
    const answers = collectMessages('answer');
    const caught = collectMessages('caught');
    await waitFor(() => /1 waiting for an answer$/.test(statusTexts('send').at(-1) ?? ''), 2_000, 'the resumed node waits');
    const answer = await sim.sim('mute').sendIpCommand('here I am');
    await waitFor(() => answers.length === 1, 8_000, 'the answer after the redeploy');
    assert.equal(Buffer.from(answers[0].payload as Buffer).toString(), 'here I am');
    assert.equal((answers[0].command as { sid: string }).sid, answer.sid);
    const request = answers[0].request as Record<string, unknown>;
    assert.equal(request.sid, sim.ipCommands()[0].sid, 'msg.request is the command answered');
    assert.equal(request.payload, 'answer later', 'msg.request is the whole resource, fetched after the redeploy');
    assert.equal(answers[0].extra, 'kept');
    assert.equal(caught.length, 0);
    assert.equal(sim.createdCount('ip'), 1);
  });

  it('deleting the node drops its pending attempts: a warning with the count, the store file gone, no more creates', async function () {
    userDir = useTempUserDir({ firstRetryMs: 1000, maxRetryMs: 1000 });
    sim = await startSim();
    const { flow, credentials } = reachFlow(sim, ipSend({ sim: 'parked', retryFor: 60 }), { publicUrl: server.url });
    await helper.load(reachingModules, flow, credentials);
    const statuses = collectMessages('status');
    for (const payload of ['a', 'b', 'c']) helper.getNode('send').receive({ payload });
    await waitFor(() => statuses.filter((m) => (m.payload as StatusPayload).status === 'failed').length === 3, 5_000, 'three failed first attempts');
    const file = pendingFileOf(userDir.dir, 'send');
    await waitFor(() => existsSync(file), 2_000, 'the store file');
    const sendNode = helper.getNode('send');
    const warned: string[] = [];
    sendNode.on('call:warn', (call: { args: unknown[] }) => warned.push(String(call.args[0])));

    const without = reachFlow(sim, {}, { publicUrl: server.url, withoutSend: true });
    await helper.setFlows(without.flow, 'nodes', without.credentials);
    const creates = sim.createdCount('ip');
    assert.equal(creates, 3);
    await waitFor(() => warned.includes('This node was deleted: 3 commands it was still trying to send were dropped.'), 2_000, `the warning naming the count (${JSON.stringify(warned)})`);
    assert.equal(existsSync(file), false, 'the store file is gone');
    await sleep(2500);
    assert.equal(sim.createdCount('ip'), creates, 'no more creates');
    assert.deepEqual(warned, ['This node was deleted: 3 commands it was still trying to send were dropped.'], 'and no warning about writing a store that was removed on purpose');
  });
});

function readRecords(dir: string): unknown[] {
  const file = pendingFileOf(dir, 'send');
  if (!existsSync(file)) return [];
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { records?: unknown[] };
  return parsed.records ?? [];
}

describe('FollowUps: a node deleted before its store was read', function () {
  it('removes the store file and names the attempts it held', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'supersim-reach-'));
    try {
      const file = pendingFileOf(dir, 'early');
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify({ format: PENDING_FORMAT, version: PENDING_VERSION, savedAt: new Date().toISOString(), records: [{ id: 'r1' }, { id: 'r2' }] }));
      const warned: string[] = [];
      const RED = {
        settings: { userDir: dir },
        _: (key: string, values: Record<string, unknown> = {}) => `${key} ${JSON.stringify(values)}`,
        util: { cloneMessage: (msg: unknown) => structuredClone(msg) },
      } as unknown as NodeAPI;
      const node = { id: 'early', type: 'supersim-ip-command', warn: (text: string) => warned.push(text), log: () => undefined, error: () => undefined, send: () => undefined } as unknown as Node;
      const account = new Account('acc', { provider: 'twilio', supersimUrl: 'http://127.0.0.1:9', wirelessUrl: 'http://127.0.0.1:9' }, { accountSid: 'AC0123456789abcdef0123456789abcdef', authToken: 'x' });
      const followUps = new FollowUps({ RED, node, account, trackingCallbackUrl: () => undefined, track: false, durable: true, changed: () => undefined, outcome: () => undefined, statusChanged: () => undefined });
      // Closed in the same turn it started: the file is still being read.
      await followUps.close(true, Promise.resolve());
      await account.close();
      assert.equal(existsSync(file), false, 'the store file is gone');
      assert.deepEqual(warned, ['supersim-ip-command.errors.pending-dropped {"count":2}']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
