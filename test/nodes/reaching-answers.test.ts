/**
 * The device's answer on output 3 (waitAnswer), in the test helper's Node-RED against the simulator:
 * for IP, Super SIM SMS and Wireless, by callback (a command-in node on the account, kore and twilio)
 * and by polling (no Public URL); FIFO per SIM; no answer; the waiting bound.
 */
import assert from 'node:assert/strict';
import { Simulator } from '../../src/simulator';
import type { SimulatorMode } from '../../src/simulator';
import { collectMessages, helper, waitFor } from '../support/flows';
import { HOOK, echoDevices, errorOf, ipSend, reachFlow, reachingModules, serveHttpNode, smsSend, statusTexts, useTempUserDir, wirelessSend } from './reaching-flows';

const FAST = { ipSentMs: 10, smsSentMs: 10, smsDeliveredMs: 20, callbackRetryMs: 20 };

type Kind = 'ip' | 'sms' | 'wireless';

const SEND: Record<Kind, (overrides?: Record<string, unknown>) => Record<string, unknown>> = { ip: ipSend, sms: smsSend, wireless: wirelessSend };
const SID: Record<Kind, RegExp> = { ip: /^HG[0-9a-f]{32}$/, sms: /^HC[0-9a-f]{32}$/, wireless: /^DC[0-9a-f]{32}$/ };
const LIST_PATH: Record<Kind, string> = { ip: '/supersim/v1/IpCommands', sms: '/supersim/v1/SmsCommands', wireless: '/wireless/v1/Commands' };

function textOf(payload: unknown): string {
  return Buffer.isBuffer(payload) ? payload.toString('utf8') : String(payload);
}

describe('send nodes: the device’s answer (output 3)', function () {
  this.timeout(20_000);
  let server: { url: string; close(): Promise<void> };
  let sim: Simulator | undefined;
  let userDir: { remove(): void };

  before(async function () {
    server = await serveHttpNode();
  });
  after(async function () {
    await server.close();
  });
  beforeEach(function () {
    userDir = useTempUserDir();
  });
  afterEach(async function () {
    await helper.unload();
    await sim?.close();
    sim = undefined;
    userDir.remove();
  });

  async function startSim(mode: SimulatorMode, publicHooks: boolean): Promise<Simulator> {
    const hook = publicHooks ? server.url + HOOK : null;
    const s = await Simulator.start({
      mode,
      timing: FAST,
      fleets: [{ uniqueName: 'default', ipCommandsUrl: hook, smsCommandsUrl: hook }],
      sims: [
        { uniqueName: 'thermostat' },
        { uniqueName: 'meter', api: 'wireless', ...(hook !== null ? { commandsCallbackUrl: hook } : {}) },
        { uniqueName: 'mute' },
        { uniqueName: 'mute-meter', api: 'wireless' },
      ],
    });
    await echoDevices(s);
    return s;
  }

  const ways = [
    { way: 'callback', mode: 'kore' },
    { way: 'callback', mode: 'twilio' },
    { way: 'polling', mode: 'kore' },
    { way: 'polling', mode: 'twilio' },
  ] as const;

  for (const kind of ['ip', 'sms', 'wireless'] as const) {
    for (const { way, mode } of ways) {
      it(`${kind} by ${way} (${mode}): two commands get their answers in order, with msg.command, msg.request and the input kept`, async function () {
        const byCallback = way === 'callback';
        sim = await startSim(mode, byCallback);
        const { flow, credentials } = reachFlow(sim, SEND[kind]({ waitAnswer: true, answerTimeout: 10, outputs: 3 }), {
          publicUrl: byCallback ? server.url : '',
          commandIn: byCallback,
        });
        await helper.load(reachingModules, flow, credentials);
        const out = collectMessages('out');
        const answers = collectMessages('answer');
        const caught = collectMessages('caught');
        const send = helper.getNode('send');
        send.receive({ payload: 'one', extra: { n: 1 } });
        send.receive({ payload: 'two', extra: { n: 2 } });
        await waitFor(() => answers.length === 2, 10_000, 'two answers');

        const created = out.map((m) => m.payload as Record<string, unknown>);
        assert.equal(created.length, 2, 'output 1 once per message');
        assert.deepEqual(
          answers.map((m) => textOf(m.payload)),
          ['ack:one', 'ack:two'],
          'each answer is that of its own command: the first waiting command takes the first answer',
        );
        const fromSim = (kind === 'ip' ? sim.ipCommands() : kind === 'sms' ? sim.smsCommands() : sim.wirelessCommands()).filter((c) => c.direction === 'from_sim');
        for (const [i, msg] of answers.entries()) {
          const request = msg.request as Record<string, unknown>;
          const command = msg.command as Record<string, unknown>;
          assert.match(String(request.sid), SID[kind]);
          assert.equal(request.sid, created[i].sid, 'msg.request is the created command');
          assert.equal(request.direction, 'to_sim');
          assert.equal(command.direction, 'from_sim');
          assert.equal(command.kind, kind);
          assert.equal(command.sid, fromSim[i].sid, 'msg.command describes the device’s command');
          assert.deepEqual(msg.extra, { n: i + 1 }, 'the input message’s properties are kept');
          if (kind === 'sms' || kind === 'wireless') assert.equal(typeof msg.payload, 'string', 'text answers are strings');
          else assert.ok(Buffer.isBuffer(msg.payload), 'an IP answer is binary: a Buffer');
        }
        assert.equal(caught.length, 0);
        const lists = sim.stats.count('GET', LIST_PATH[kind]);
        if (byCallback) {
          assert.equal(lists, 0, 'answers came through command-in: nothing was polled');
        } else {
          assert.ok(lists > 0, 'answers were polled');
          assert.ok(statusTexts('send').some((text) => / · 2 waiting for an answer$/.test(text)), `the node showed "2 waiting for an answer" (${statusTexts('send').join(' | ')})`);
        }
        await waitFor(() => /^answer at \d\d:\d\d:\d\d$/.test(statusTexts('send').at(-1) ?? ''), 2_000, 'the status "answer at …"');
      });
    }
  }

  it('command-in still emits the answers on its own output 1', async function () {
    sim = await startSim('kore', true);
    const { flow, credentials } = reachFlow(sim, ipSend({ waitAnswer: true, answerTimeout: 10, outputs: 3 }), { publicUrl: server.url, commandIn: true });
    await helper.load(reachingModules, flow, credentials);
    const fromDevices = collectMessages('fromDevices');
    const answers = collectMessages('answer');
    helper.getNode('send').receive({ payload: 'ping' });
    await waitFor(() => answers.length === 1 && fromDevices.length === 1, 10_000, 'the answer on both nodes');
    assert.equal(textOf(fromDevices[0].payload), 'ack:ping');
    assert.equal((fromDevices[0].command as { sid: string }).sid, (answers[0].command as { sid: string }).sid);
  });

  const silent = [
    { kind: 'ip', way: 'polling', sim: 'mute' },
    { kind: 'ip', way: 'callback', sim: 'mute' },
    { kind: 'sms', way: 'polling', sim: 'mute' },
    { kind: 'wireless', way: 'polling', sim: 'mute-meter' },
  ] as const;

  for (const { kind, way, sim: simName } of silent) {
    it(`${kind} by ${way}: a device that does not answer is a Catch error after answerTimeout, naming the SIM, the time and the sid`, async function () {
      const byCallback = way === 'callback';
      sim = await startSim('kore', byCallback);
      const { flow, credentials } = reachFlow(sim, SEND[kind]({ sim: simName, waitAnswer: true, answerTimeout: 1, outputs: 3 }), {
        publicUrl: byCallback ? server.url : '',
        commandIn: byCallback,
      });
      await helper.load(reachingModules, flow, credentials);
      const out = collectMessages('out');
      const caught = collectMessages('caught');
      const answers = collectMessages('answer');
      const sentAt = Date.now();
      helper.getNode('send').receive({ payload: 'anyone there?', extra: 'kept' });
      await waitFor(() => out.length === 1, 5_000, 'the created command');
      await waitFor(() => statusTexts('send').some((text) => /1 waiting for an answer/.test(text)), 2_000, 'the status "1 waiting for an answer"');
      await waitFor(() => caught.length === 1, 5_000, 'the Catch error');
      const elapsed = Date.now() - sentAt;
      assert.ok(elapsed >= 950, `the error came after the answer timeout (${elapsed} ms)`);
      const sid = String((out[0].payload as { sid: string }).sid);
      const error = errorOf(caught[0]);
      assert.ok(error.message.startsWith(`ReachError: No answer from ${simName} within 1 s (command ${sid}). Check that the device is online`), error.message);
      assert.match(error.message, kind === 'ip' ? /the Fleet's IP Commands/ : /the Fleet's SMS Commands/);
      assert.equal(error.source?.id, 'send');
      assert.equal(caught[0].extra, 'kept', 'the Catch node gets the input message');
      assert.equal(answers.length, 0);
      await waitFor(() => /failed: no answer/.test(statusTexts('send').at(-1) ?? ''), 2_000, 'the status "failed: no answer"');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(caught.length, 1, 'one error, once');
    });
  }

  it('without retryFor, a command that ends failed: a Catch error at once saying no answer will come, with the error code', async function () {
    sim = await startSim('kore', false);
    sim.sim('mute').detach();
    const { flow, credentials } = reachFlow(sim, ipSend({ sim: 'mute', waitAnswer: true, answerTimeout: 30, outputs: 3, track: true }));
    await helper.load(reachingModules, flow, credentials);
    const out = collectMessages('out');
    const statuses = collectMessages('status');
    const caught = collectMessages('caught');
    helper.getNode('send').receive({ payload: 'hello' });
    await waitFor(() => caught.length === 1, 5_000, 'the Catch error');
    const sid = String((out[0].payload as { sid: string }).sid);
    assert.match(errorOf(caught[0]).message, new RegExp(`^ReachError: No answer will come from mute: command ${sid} ended failed \\(error 32001\\)`));
    assert.deepEqual(statuses.map((m) => (m.payload as { status: string }).status), ['failed'], 'with track, output 2 shows the status');
    assert.equal(statuses[0].attempt, undefined, 'no attempts without keeping trying');
    assert.equal(sim.createdCount('ip'), 1);
  });

  it('more than 1000 waiting on one node: a clear Catch error, and that message is not sent', async function () {
    this.timeout(60_000);
    sim = await startSim('twilio', false);
    const { flow, credentials } = reachFlow(sim, ipSend({ sim: 'mute', waitAnswer: true, answerTimeout: 60, outputs: 3 }));
    await helper.load(reachingModules, flow, credentials);
    const out = collectMessages('out');
    const caught = collectMessages('caught');
    const send = helper.getNode('send');
    const warnings: Error[] = [];
    const onWarning = (warning: Error): number => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i <= 1000; i++) send.receive({ payload: `m${i}` });
      await waitFor(() => out.length === 1000 && caught.length === 1, 40_000, '1000 created commands and one error');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(
      warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message),
      [],
      'a thousand commands waiting at once are expected: no listener-leak warning',
    );
    const error = errorOf(caught[0]);
    assert.equal(error.message, 'ReachRefusal: This node already waits for 1000 answers: nothing was sent. Send it again once earlier commands are answered or their wait ran out, or shorten Wait for.');
    assert.equal(caught[0].payload, 'm1000', 'the message past the bound is the one refused');
    assert.equal(sim.createdCount('ip'), 1000, 'nothing was sent for it');
    assert.equal(sim.createdCount('ip', (c) => c.payload === 'm1000'), 0);
    await waitFor(() => /1000 waiting for an answer$/.test(statusTexts('send').at(-1) ?? ''), 2_000, 'the status "1000 waiting for an answer"');
  });
});
