import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SinonSpy } from 'sinon';
import { Simulator } from '../../src/simulator';
import type { SimulatorMode } from '../../src/simulator';
import { accountFor, collectMessages, helper, logLines, nextMessage, sendNodeModules as untranslatedModules, serveHttpNode, waitFor } from '../support/flows';
import type { NodeAPI } from '../../nodes/lib/red';
import { sendJson, startTestServer } from '../support/net';
import type { TestServer } from '../support/net';

const IP_POST = '/supersim/v1/IpCommands';
const SMS_POST = '/supersim/v1/SmsCommands';
const WIRELESS_POST = '/wireless/v1/Commands';

/**
 * The test helper's RED._ answers the key itself; statuses are checked as users read them, so the
 * nodes get a RED._ that reads the en-US catalogues the way Node-RED does.
 */
function translate(key: string, substitutions: Record<string, unknown> = {}): string {
  const [file] = key.split('.');
  let entry: unknown = JSON.parse(readFileSync(join(__dirname, '..', '..', 'nodes', 'locales', 'en-US', `${file}.json`), 'utf8'));
  for (const part of key.split('.')) entry = (entry as Record<string, unknown> | undefined)?.[part];
  if (typeof entry !== 'string') return key;
  return entry.replace(/__(\w+)__/g, (whole, name: string) => (name in substitutions ? String(substitutions[name]) : whole));
}

const sendNodeModules = untranslatedModules.map((register) => (RED: NodeAPI) => register(Object.create(RED, { _: { value: translate } }) as NodeAPI));

interface CaughtError {
  message: string;
  code?: unknown;
  source?: { id: string };
}

/** A flow: the account, one send node wired to two helper nodes, and a Catch node wired to a third. */
function sendFlow(sim: Simulator, node: Record<string, unknown>, accountOptions: Parameters<typeof accountFor>[1] = {}) {
  const account = accountFor(sim, accountOptions);
  const flow = [
    { id: 'tab', type: 'tab', label: 'test' },
    account.node,
    { z: 'tab', x: 100, y: 100, id: 'send', account: account.node.id, name: '', callbackUrl: '', callbackMethod: '', track: false, trackTimeout: 5, ...node, wires: [['out'], ['status']] },
    { z: 'tab', x: 100, y: 100, id: 'out', type: 'helper' },
    { z: 'tab', x: 100, y: 100, id: 'status', type: 'helper' },
    { z: 'tab', x: 100, y: 100, id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { z: 'tab', x: 100, y: 100, id: 'caught', type: 'helper' },
  ];
  return { flow, credentials: { [account.node.id as string]: account.credentials } };
}

function ipNode(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'supersim-ip-command', sim: 'thermostat', devicePort: '6655', payloadType: 'auto', ...overrides };
}

function smsNode(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'supersim-sms-command', api: 'supersim', sim: 'thermostat', commandMode: 'text', includeSid: 'none', deliveryReceipt: true, ...overrides };
}

interface ShownStatus {
  fill?: string;
  shape?: string;
  text?: string;
}

function statusCalls(id: string): ShownStatus[] {
  const node = helper.getNode(id);
  return (node.status as unknown as SinonSpy)
    .getCalls()
    .filter((c) => c.thisValue === node)
    .map((c) => c.args[0] as ShownStatus);
}

function lastStatus(id: string): ShownStatus | undefined {
  return statusCalls(id).at(-1);
}

const TIME = '\\d\\d:\\d\\d:\\d\\d';

async function caughtError(): Promise<CaughtError> {
  const msg = await nextMessage('caught');
  return msg.error as CaughtError;
}

describe('send nodes', function () {
  this.timeout(20_000);
  let sim: Simulator;
  let extra: TestServer | undefined;

  afterEach(async function () {
    await helper.unload();
    await extra?.close();
    extra = undefined;
    await sim?.close();
  });

  for (const mode of ['kore', 'twilio'] as SimulatorMode[]) {
    describe(`supersim-ip-command (${mode})`, function () {
      beforeEach(async function () {
        sim = await Simulator.start({
          mode,
          timing: { ipSentMs: 20, smsSentMs: 20, smsDeliveredMs: 40 },
          sims: [{ uniqueName: 'thermostat' }, { uniqueName: 'tracker' }, { uniqueName: 'parked', attached: false }],
        });
      });

      it('sends the node’s SIM, port and payload and outputs the created resource with the message kept', async function () {
        const { flow, credentials } = sendFlow(sim, ipNode());
        await helper.load(sendNodeModules, flow, credentials);
        const out = nextMessage('out');
        helper.getNode('send').receive({ payload: 'hello', topic: 'greeting', custom: { keep: true } });
        const msg = await out;
        const resource = msg.payload as Record<string, unknown>;
        assert.match(String(resource.sid), /^HG[0-9a-f]{32}$/i);
        assert.equal(resource.status, 'queued');
        assert.equal(resource.payload, 'hello');
        assert.equal(resource.payload_type, 'text');
        assert.equal(resource.device_port, 6655);
        assert.equal(msg.topic, 'greeting');
        assert.deepEqual(msg.custom, { keep: true });
        assert.equal(sim.ipCommands()[0].sim_sid, sim.sim('thermostat').sid);
      });

      it('the node’s fields win over msg; blank fields are filled from msg', async function () {
        const { flow, credentials } = sendFlow(sim, ipNode({ sim: 'thermostat', devicePort: '7000' }));
        await helper.load(sendNodeModules, flow, credentials);
        const out = nextMessage('out');
        helper.getNode('send').receive({ payload: 'x', sim: 'tracker', devicePort: 9999 });
        const resource = (await out).payload as Record<string, unknown>;
        assert.equal(resource.sim_sid, sim.sim('thermostat').sid);
        assert.equal(resource.device_port, 7000);
        await helper.unload();

        const blank = sendFlow(sim, ipNode({ sim: '', devicePort: '' }));
        await helper.load(sendNodeModules, blank.flow, blank.credentials);
        const out2 = nextMessage('out');
        helper.getNode('send').receive({ payload: 'x', sim: 'tracker', devicePort: '9999' });
        const resource2 = (await out2).payload as Record<string, unknown>;
        assert.equal(resource2.sim_sid, sim.sim('tracker').sid);
        assert.equal(resource2.device_port, 9999);
      });

      it('payloadType auto sends a Buffer as binary, objects as JSON text; binary takes a Base64 string; msg.payloadType pins auto', async function () {
        const { flow, credentials } = sendFlow(sim, ipNode());
        await helper.load(sendNodeModules, flow, credentials);
        const send = helper.getNode('send');
        const outputs = collectMessages('out');
        send.receive({ payload: Buffer.from([0, 1, 255]) });
        send.receive({ payload: { on: true } });
        send.receive({ payload: 'AAH/', payloadType: 'binary' });
        await waitFor(() => outputs.length === 3, 5_000, 'three outputs');
        const byPayload = new Map(sim.ipCommands().map((c) => [c.payload, c.payload_type]));
        assert.equal(byPayload.get('AAH/'), 'binary');
        assert.equal(byPayload.get('{"on":true}'), 'text');
        assert.equal(sim.stats.created.ip, 3);
        await helper.unload();

        const binary = sendFlow(sim, ipNode({ payloadType: 'binary' }));
        await helper.load(sendNodeModules, binary.flow, binary.credentials);
        const out = nextMessage('out');
        helper.getNode('send').receive({ payload: 'aGVsbG8', payloadType: 'text' });
        const resource = (await out).payload as Record<string, unknown>;
        assert.equal(resource.payload_type, 'binary', 'the node’s binary wins over msg.payloadType');
        assert.equal(resource.payload, 'aGVsbG8=');
      });

      it('passes callbackUrl and callbackMethod from the node, or from msg when the node leaves them blank', async function () {
        const calls: { method: string; url: string }[] = [];
        extra = await startTestServer((req, res) => {
          calls.push({ method: req.method ?? '', url: req.url ?? '' });
          res.writeHead(204).end();
        });
        const { flow, credentials } = sendFlow(sim, ipNode({ callbackUrl: `${extra.url}/node`, callbackMethod: 'GET' }));
        await helper.load(sendNodeModules, flow, credentials);
        const out = nextMessage('out');
        helper.getNode('send').receive({ payload: 'a', callbackUrl: `${extra.url}/msg`, callbackMethod: 'POST' });
        await out;
        await waitFor(() => calls.length >= 1, 5_000, 'a status callback');
        assert.equal(calls[0].method, 'GET');
        assert.match(calls[0].url, /^\/node\?/);
        await helper.unload();

        const blank = sendFlow(sim, ipNode());
        await helper.load(sendNodeModules, blank.flow, blank.credentials);
        const out2 = nextMessage('out');
        helper.getNode('send').receive({ payload: 'b', callbackUrl: `${extra.url}/msg`, callbackMethod: 'POST' });
        await out2;
        await waitFor(() => calls.some((c) => c.url === '/msg'), 5_000, 'the msg callback URL');
        assert.equal(calls.find((c) => c.url === '/msg')?.method, 'POST');
      });

      const localChecks: [string, Record<string, unknown>, Record<string, unknown>, RegExp][] = [
        ['no SIM', { sim: '' }, { payload: 'x' }, /msg\.sim/],
        ['a port of 0', { devicePort: '' }, { payload: 'x', devicePort: 0 }, /devicePort.*1.*65535/],
        ['a port of 65536', { devicePort: '65536' }, { payload: 'x' }, /Device port.*1.*65535/],
        ['an empty payload', {}, { payload: '' }, /payload.*empty/],
        ['1301 bytes', {}, { payload: 'é'.repeat(650) + 'a' }, /1301 bytes.*1300/],
        ['invalid Base64', { payloadType: 'binary' }, { payload: 'not base64!' }, /Base64/],
      ];
      for (const [label, node, msg, pattern] of localChecks) {
        it(`refuses ${label} locally: a Catch error names the field and limit, and nothing is sent`, async function () {
          const { flow, credentials } = sendFlow(sim, ipNode(node));
          await helper.load(sendNodeModules, flow, credentials);
          const caught = caughtError();
          helper.getNode('send').receive(msg);
          const error = await caught;
          assert.match(error.message, pattern);
          assert.equal(error.source?.id, 'send');
          assert.equal(sim.stats.requests, 0, 'the simulator saw no request');
        });
      }

      it('a local refusal’s status names the field by its editor label, as the form does', async function () {
        const { flow, credentials } = sendFlow(sim, ipNode({ devicePort: '65536' }));
        await helper.load(sendNodeModules, flow, credentials);
        const caught = caughtError();
        helper.getNode('send').receive({ payload: 'x' });
        await caught;
        await waitFor(() => lastStatus('send')?.text === 'failed: Device port (limit 1-65535)', 2_000, `the status to name Device port: ${lastStatus('send')?.text}`);
      });

      it('an API error reaches the Catch node with the HTTP status, the API code and message', async function () {
        const { flow, credentials } = sendFlow(sim, ipNode({ sim: 'nobody' }));
        await helper.load(sendNodeModules, flow, credentials);
        const caught = caughtError();
        helper.getNode('send').receive({ payload: 'x' });
        const error = await caught;
        assert.match(error.message, /HTTP 404/);
        assert.match(error.message, /20404/);
        assert.match(error.message, /not found/i);
        assert.equal(error.code, 20404);
        // The Debug sidebar shows the start of it: what to fix comes first.
        assert.match(error.message, /^ApiError: SIM nobody is not in this account \(HTTP 404, code 20404\)\. The provider said: /);
      });

      it('tracks delivery by polling: queued → sent, and failed with its error code for a detached device', async function () {
        const attached = sendFlow(sim, ipNode({ track: true, trackTimeout: 10 }));
        await helper.load(sendNodeModules, attached.flow, attached.credentials);
        const sentUpdate = nextMessage('status', 5_000);
        helper.getNode('send').receive({ payload: 'ping', topic: 'kept' });
        const sent = await sentUpdate;
        assert.equal((sent.payload as Record<string, unknown>).status, 'sent');
        assert.equal(sent.topic, 'kept', 'status messages keep the input message’s properties');
        // The node's status follows the command instead of saying "queued" for ever.
        await waitFor(() => new RegExp(`^sent at ${TIME}$`).test(String(lastStatus('send')?.text)), 2_000, 'the status to say sent');
        assert.equal(lastStatus('send')?.fill, 'green');
        await helper.unload();

        const detached = sendFlow(sim, ipNode({ sim: 'parked', track: true, trackTimeout: 10 }));
        await helper.load(sendNodeModules, detached.flow, detached.credentials);
        const failedUpdate = nextMessage('status', 5_000);
        helper.getNode('send').receive({ payload: 'ping' });
        const failedMsg = await failedUpdate;
        const failed = failedMsg.payload as Record<string, unknown>;
        assert.equal(failed.status, 'failed');
        assert.equal(failed.error_code, 32001);
        assert.equal(failedMsg.topic, 'parked', 'output 2 carries the SIM as its topic');
        await waitFor(() => lastStatus('send')?.text === 'failed: 32001', 2_000, 'the status to say failed: 32001');
        assert.equal(lastStatus('send')?.fill, 'red');
      });

      it('sets msg.topic to the SIM as given on both outputs when the message has none, and keeps a topic the flow set', async function () {
        const { flow, credentials } = sendFlow(sim, ipNode({ sim: '', track: true, trackTimeout: 10 }));
        await helper.load(sendNodeModules, flow, credentials);
        const sid = sim.sim('tracker').sid;
        const outputs = collectMessages('out');
        const updates = collectMessages('status');
        const send = helper.getNode('send');
        send.receive({ payload: 'a', sim: 'thermostat' });
        send.receive({ payload: 'b', sim: sid });
        send.receive({ payload: 'c', sim: 'thermostat', topic: 'mine' });
        await waitFor(() => outputs.length === 3 && updates.length === 3, 5_000, 'three outputs and three updates');
        const topicOf = (messages: Record<string, unknown>[], payload: string) =>
          messages.find((m) => (m.payload as Record<string, unknown>).payload === payload)?.topic;
        for (const messages of [outputs, updates]) {
          assert.equal(topicOf(messages, 'a'), 'thermostat');
          assert.equal(topicOf(messages, 'b'), sid);
          assert.equal(topicOf(messages, 'c'), 'mine');
        }
      });

      it('tracks delivery by callback through the account’s route when callbackBaseUrl is set', async function () {
        const server = await serveHttpNodeAfterLoad(sim);
        try {
          const { flow, credentials } = sendFlow(sim, ipNode({ track: true, trackTimeout: 10 }), { callbackBaseUrl: server.url });
          await helper.load(sendNodeModules, flow, credentials);
          const update = nextMessage('status', 5_000);
          helper.getNode('send').receive({ payload: 'ping' });
          const resource = (await update).payload as Record<string, unknown>;
          assert.equal(resource.status, 'sent');
          await waitFor(() => new RegExp(`^sent at ${TIME}$`).test(String(lastStatus('send')?.text)), 2_000, 'the status to say sent');
          assert.ok(sim.stats.callbacks.sent >= 1, 'the simulator called back');
          const created = sim.ipCommands()[0];
          assert.equal(resource.sid, created.sid);
          assert.equal(sim.stats.count('GET', `${IP_POST}/${created.sid}`), 0, 'no polling was needed');
        } finally {
          await server.close();
        }
      });
    });

    describe(`supersim-sms-command (${mode})`, function () {
      beforeEach(async function () {
        sim = await Simulator.start({
          mode,
          timing: { ipSentMs: 20, smsSentMs: 20, smsDeliveredMs: 40 },
          sims: [{ uniqueName: 'thermostat' }, { uniqueName: 'parked', attached: false }, { uniqueName: 'meter', api: 'wireless' }],
        });
      });

      it('sends a Super SIM SMS Command and outputs the created resource', async function () {
        const { flow, credentials } = sendFlow(sim, smsNode());
        await helper.load(sendNodeModules, flow, credentials);
        const out = nextMessage('out');
        helper.getNode('send').receive({ payload: { led: 'on' }, topic: 'cmd' });
        const msg = await out;
        const resource = msg.payload as Record<string, unknown>;
        assert.match(String(resource.sid), /^HC[0-9a-f]{32}$/i);
        assert.equal(resource.payload, '{"led":"on"}');
        assert.equal(msg.topic, 'cmd');
        assert.equal(sim.stats.count('POST', SMS_POST), 1);
      });

      it('sends a Programmable Wireless binary Command with the node’s mode, includeSid and delivery receipt', async function () {
        const { flow, credentials } = sendFlow(sim, smsNode({ api: 'wireless', sim: 'meter', commandMode: 'binary', deliveryReceipt: false }));
        await helper.load(sendNodeModules, flow, credentials);
        const out = nextMessage('out');
        helper.getNode('send').receive({ payload: Buffer.from([1, 2, 3]) });
        const msg = await out;
        assert.equal(msg.topic, 'meter', 'the SIM is the topic when the message has none');
        const resource = msg.payload as Record<string, unknown>;
        assert.match(String(resource.sid), /^DC[0-9a-f]{32}$/i);
        assert.equal(resource.command, 'AQID');
        assert.equal(resource.command_mode, 'binary');
        assert.equal(resource.delivery_receipt_requested, false);
        assert.equal(sim.stats.count('POST', WIRELESS_POST), 1);
      });

      it('wireless text with includeSid, msg.sim and msg.commandMode filling blank fields', async function () {
        const { flow, credentials } = sendFlow(sim, smsNode({ api: 'wireless', sim: '', commandMode: '', includeSid: 'end' }));
        await helper.load(sendNodeModules, flow, credentials);
        const send = helper.getNode('send');
        const out = nextMessage('out');
        send.receive({ payload: 'a'.repeat(128), sim: 'meter', commandMode: 'text' });
        const resource = (await out).payload as Record<string, unknown>;
        assert.equal(resource.command_mode, 'text');
        const caught = caughtError();
        send.receive({ payload: 'a'.repeat(129), sim: 'meter' });
        assert.match((await caught).message, /129 characters.*128/);
        assert.equal(sim.stats.count('POST', WIRELESS_POST), 1);
      });

      const localChecks: [string, Record<string, unknown>, Record<string, unknown>, RegExp][] = [
        ['161 characters', {}, { payload: 'x'.repeat(161) }, /161 characters.*160/],
        ['a Buffer for Super SIM', {}, { payload: Buffer.from('hi') }, /text only/],
        ['141 binary bytes', { api: 'wireless', sim: 'meter', commandMode: 'binary' }, { payload: Buffer.alloc(141) }, /141 bytes.*140/],
        ['161 wireless characters', { api: 'wireless', sim: 'meter' }, { payload: 'x'.repeat(161) }, /161 characters.*160/],
        ['includeSid with binary', { api: 'wireless', sim: 'meter', commandMode: 'binary', includeSid: 'start' }, { payload: Buffer.from('x') }, /^CommandValidationError: Include SID is "start" but Command mode is binary/],
      ];
      for (const [label, node, msg, pattern] of localChecks) {
        it(`refuses ${label} locally, naming the field and limit, and sends nothing`, async function () {
          const { flow, credentials } = sendFlow(sim, smsNode(node));
          await helper.load(sendNodeModules, flow, credentials);
          const caught = caughtError();
          helper.getNode('send').receive(msg);
          assert.match((await caught).message, pattern);
          assert.equal(sim.stats.requests, 0);
        });
      }

      it('tracks an SMS Command to delivered by polling, and to failed for a detached device', async function () {
        const { flow, credentials } = sendFlow(sim, smsNode({ track: true, trackTimeout: 15 }));
        await helper.load(sendNodeModules, flow, credentials);
        const updates = collectMessages('status');
        helper.getNode('send').receive({ payload: 'reboot' });
        await waitFor(() => updates.some((m) => (m.payload as Record<string, unknown>).status === 'delivered'), 8_000, 'delivered');
        const seen = updates.map((m) => (m.payload as Record<string, unknown>).status);
        assert.equal(seen[seen.length - 1], 'delivered');
        assert.ok(!seen.includes('queued'), 'only changes are reported');
        await waitFor(() => new RegExp(`^delivered at ${TIME}$`).test(String(lastStatus('send')?.text)), 2_000, 'the status to say delivered');
        assert.equal(updates.at(-1)?.topic, 'thermostat');
        await helper.unload();

        const parked = sendFlow(sim, smsNode({ sim: 'parked', track: true, trackTimeout: 15 }));
        await helper.load(sendNodeModules, parked.flow, parked.credentials);
        const failed = nextMessage('status', 8_000);
        helper.getNode('send').receive({ payload: 'reboot' });
        const resource = (await failed).payload as Record<string, unknown>;
        assert.equal(resource.status, 'failed');
      });

      it('tracks an SMS Command to delivered by callback', async function () {
        const server = await serveHttpNodeAfterLoad(sim);
        try {
          const { flow, credentials } = sendFlow(sim, smsNode({ track: true, trackTimeout: 15 }), { callbackBaseUrl: server.url });
          await helper.load(sendNodeModules, flow, credentials);
          const updates = collectMessages('status');
          helper.getNode('send').receive({ payload: 'reboot' });
          await waitFor(() => updates.some((m) => (m.payload as Record<string, unknown>).status === 'delivered'), 8_000, 'delivered');
          assert.deepEqual(
            updates.map((m) => (m.payload as Record<string, unknown>).status),
            ['sent', 'delivered'],
          );
          await waitFor(() => new RegExp(`^delivered at ${TIME}$`).test(String(lastStatus('send')?.text)), 2_000, 'the status to say delivered');
          const created = sim.smsCommands()[0];
          assert.equal(sim.stats.count('GET', `${SMS_POST}/${created.sid}`), 0, 'no polling was needed');
        } finally {
          await server.close();
        }
      });
    });
  }

  /** A tracking IP Command node on a Twilio account whose API is `url`, with Catch and Complete nodes. */
  function stubFlow(url: string): Record<string, unknown>[] {
    return [
      { id: 'tab', type: 'tab', label: 'test' },
      { id: 'account', type: 'supersim-account', name: 'stub', provider: 'twilio', supersimUrl: url, wirelessUrl: url, tokenUrl: '', callbackBaseUrl: '' },
      { z: 'tab', x: 100, y: 100, id: 'send', type: 'supersim-ip-command', account: 'account', sim: 'thermostat', devicePort: '1', payloadType: 'auto', track: true, trackTimeout: 5, wires: [['out'], ['status']] },
      { z: 'tab', x: 100, y: 100, id: 'out', type: 'helper' },
      { z: 'tab', x: 100, y: 100, id: 'status', type: 'helper' },
      { z: 'tab', x: 100, y: 100, id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { z: 'tab', x: 100, y: 100, id: 'caught', type: 'helper' },
      { z: 'tab', x: 100, y: 100, id: 'complete', type: 'complete', scope: ['send'], uncaught: false, wires: [['completed']] },
      { z: 'tab', x: 100, y: 100, id: 'completed', type: 'helper' },
    ];
  }
  const STUB_CREDENTIALS = { account: { accountSid: 'AC0123456789abcdef0123456789abcdef', authToken: 'stub-auth-token' } };

  it('a create answered with 2 MB ends in one error that says so, a short status, and one request', async function () {
    extra = await startTestServer((_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.on('error', () => undefined);
      res.end(`"${'a'.repeat(2 * 1024 * 1024)}"`);
    });
    await helper.load(sendNodeModules, stubFlow(extra.url), STUB_CREDENTIALS);
    const caught = caughtError();
    helper.getNode('send').receive({ payload: 'x' });
    const error = await caught;
    assert.match(error.message, /larger than 1048576 bytes \(1 MB\), so it was not read \(HTTP 201\): the IP Command was created, but it was not sent again/);
    await waitFor(() => lastStatus('send')?.text === 'failed: invalid-response', 2_000, `a short status: ${lastStatus('send')?.text}`);
    assert.equal(extra.requests.length, 1);
  });

  describe('create answers without a status (every field of the API schema is nullable)', function () {
    const SID = 'HG0123456789abcdef0123456789abcdef';
    const answers: [string, Record<string, unknown>][] = [
      ['only a sid', { sid: SID }],
      ['nulls everywhere', { sid: SID, account_sid: null, sim_sid: null, status: null, direction: null, device_port: null, payload: null, date_created: null, url: null }],
    ];
    for (const [label, answer] of answers) {
      it(`${label}: outputs it, calls done once, shows "created at …", and tracking neither crashes nor fails the message`, async function () {
        extra = await startTestServer((_req, res) => sendJson(res, 201, answer));
        await helper.load(sendNodeModules, stubFlow(extra.url), STUB_CREDENTIALS);
        const outputs = collectMessages('out');
        const caught = collectMessages('caught');
        const completed = collectMessages('completed');
        helper.getNode('send').receive({ payload: 'x' });
        await waitFor(() => outputs.length === 1 && completed.length === 1, 3_000, 'the output and its completion');
        await waitFor(() => new RegExp(`^created at ${TIME}$`).test(String(lastStatus('send')?.text)), 2_000, 'the created status');
        assert.equal(lastStatus('send')?.fill, 'green');
        assert.deepEqual(outputs[0].payload, answer);
        assert.equal(extra.requests.length, 1);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(completed.length, 1, 'done was called once');
        assert.equal(caught.length, 0, 'nothing reported the sent command as failed');
        assert.ok(statusCalls('send').every((s) => s.fill !== 'red'), 'never a red status');
        assert.ok(logLines('send', 30).some((line) => line.includes(SID) && /cannot be followed/.test(line)), `a warning says why it is not followed: ${logLines('send', 30).join()}`);
      });
    }
  });

  describe('one account, many nodes', function () {
    it('two send nodes on one KORE account make one token request between them', async function () {
      sim = await Simulator.start({ mode: 'kore', sims: [{ uniqueName: 'thermostat' }] });
      const account = accountFor(sim);
      const flow = [
        account.node,
        { id: 'ip', type: 'supersim-ip-command', account: 'account', sim: 'thermostat', devicePort: '1', payloadType: 'auto', wires: [['out'], []] },
        { id: 'sms', type: 'supersim-sms-command', account: 'account', api: 'supersim', sim: 'thermostat', wires: [['out'], []] },
        { id: 'out', type: 'helper' },
      ];
      await helper.load(sendNodeModules, flow, { account: account.credentials });
      const outputs = collectMessages('out');
      for (let i = 0; i < 20; i++) {
        helper.getNode('ip').receive({ payload: `ip ${i}` });
        helper.getNode('sms').receive({ payload: `sms ${i}` });
      }
      await waitFor(() => outputs.length === 40, 10_000, '40 outputs');
      assert.equal(sim.stats.tokenRequests, 1);
    });

    it('a send node without an account says so on every message', async function () {
      sim = await Simulator.start({ mode: 'kore' });
      const flow = [
        { id: 'tab', type: 'tab' },
        { z: 'tab', x: 100, y: 100, id: 'send', type: 'supersim-ip-command', account: '', sim: 'x', devicePort: '1', wires: [[], []] },
        { z: 'tab', x: 100, y: 100, id: 'catch', type: 'catch', scope: null, wires: [['caught']] },
        { z: 'tab', x: 100, y: 100, id: 'caught', type: 'helper' },
      ];
      await helper.load(sendNodeModules, flow, {});
      const caught = caughtError();
      helper.getNode('send').receive({ payload: 'x' });
      assert.match((await caught).message, /No Super SIM account is selected/);
    });
  });
});

/** Starts serving the httpNode app of a throwaway load, so the base URL is known before the real flow loads. */
async function serveHttpNodeAfterLoad(sim: Simulator): Promise<{ url: string; close(): Promise<void> }> {
  const { flow, credentials } = sendFlow(sim, ipNode());
  await helper.load(sendNodeModules, flow, credentials);
  const server = await serveHttpNode();
  await helper.unload();
  return server;
}
