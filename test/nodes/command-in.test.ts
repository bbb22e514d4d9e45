/**
 * supersim-command-in in the test helper, called over real HTTP: by the simulator (as KORE and
 * Twilio would call it) and by hand-made requests signed as they sign theirs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import express from 'express';
import type { SinonSpy } from 'sinon';
import { Agent, request } from 'undici';
import type { SmsCommand } from '../../src/api';
import { KORE_IDEMPOTENCY_HEADER, KORE_SIGNATURE_HEADER, TWILIO_IDEMPOTENCY_HEADER, TWILIO_SIGNATURE_HEADER, koreSignature, twilioSignature } from '../../src/callbacks';
import { Simulator } from '../../src/simulator';
import type { SimulatorMode } from '../../src/simulator';
import type { Node, NodeAPI, NodeDefinition, NodeMessage } from '../../nodes/lib/red';
import type { AccountNode } from '../../nodes/supersim-account';
import { accountFor, collectMessages, commandInModules, helper, logLines, nextMessage, serveHttpNode, waitFor } from '../support/flows';

const HOOK = '/hooks/in';
const FAST = { ipSentMs: 10, smsSentMs: 10, smsDeliveredMs: 20, callbackRetryMs: 20 };
const BYTES = Buffer.from([0x00, 0xff, 0x80, 0x7f, 0x0a, 0x0d, 0x25, 0x2b, 0x00, 0xfe]);
const TEXT = 'héllo wörld +&=%20 ✓';
const HG = `HG${'0a'.repeat(16)}`;
const HS = `HS${'3d'.repeat(16)}`;
const HG2 = `HG${'0b'.repeat(16)}`;
const HG3 = `HG${'0c'.repeat(16)}`;

type Method = 'GET' | 'POST';
type Msg = Record<string, unknown> & { command: Record<string, unknown>; callback: Record<string, unknown> };

/** Node-RED's own i18n is not in the helper (its RED._ returns the key): substitute from the catalogue, so tests read real messages. */
const CATALOGUE = JSON.parse(readFileSync(join(__dirname, '..', '..', 'nodes', 'locales', 'en-US', 'supersim-command-in.json'), 'utf8')) as Record<string, unknown>;
function translate(key: string, substitutions: Record<string, unknown> = {}): string {
  let text: unknown = CATALOGUE;
  for (const part of key.split('.')) text = typeof text === 'object' && text !== null ? (text as Record<string, unknown>)[part] : undefined;
  return typeof text === 'string' ? text.replace(/__(\w+)__/g, (_, name: string) => String(substitutions[name] ?? '')) : key;
}
function withMessages(RED: NodeAPI): void {
  RED._ = translate;
}

/** A node that holds each message (never done) until the test opens the gate. */
const gate = { arrived: [] as NodeMessage[], finished: 0, open: Promise.resolve() };
function gateModule(RED: NodeAPI): void {
  RED.nodes.registerType('test-gate', function (this: Node, config: NodeDefinition) {
    RED.nodes.createNode(this, config);
    this.on('input', (msg, _send, done) => {
      gate.arrived.push(msg);
      void gate.open.then(() => {
        gate.finished++;
        done();
      });
    });
  });
}

const MODULES = [withMessages, ...commandInModules, gateModule];

interface Answer {
  status: number;
  text: string;
}

const agent = new Agent({ keepAliveTimeout: 1_000, headersTimeout: 3_000, bodyTimeout: 3_000 });

async function call(base: string, method: string, pathAndQuery: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<Answer> {
  const response = await request(base + pathAndQuery, { method, headers, body, dispatcher: agent });
  return { status: response.statusCode, text: await response.body.text() };
}

interface SignOptions {
  /** Sign for another URL than the one called. */
  signedPath?: string;
  /** Sign these parameters instead of the ones sent. */
  signedParams?: Record<string, string>;
  secret?: string;
  token?: string;
  /** The body as sent, when not the form of params (KORE signs these bytes). */
  rawBody?: string;
}

interface SignedRequest {
  method: Method;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** A request signed as `sim`'s provider signs callbacks to `base`. */
function signedRequest(sim: Simulator, base: string, method: Method, path: string, params: Record<string, string>, options: SignOptions = {}): SignedRequest {
  const query = (p: Record<string, string>) => new URLSearchParams(p).toString();
  const target = method === 'GET' ? `${path}?${query(params)}` : path;
  const signedPath = options.signedPath ?? path;
  const signedParams = options.signedParams ?? params;
  const signedTarget = method === 'GET' ? `${signedPath}?${query(signedParams)}` : signedPath;
  const body = method === 'POST' ? (options.rawBody ?? query(params)) : undefined;
  const headers: Record<string, string> = {};
  if (method === 'POST') headers['content-type'] = 'application/x-www-form-urlencoded';
  if (sim.mode === 'kore') {
    const signedBody = method === 'POST' ? query(signedParams) : '';
    headers[KORE_SIGNATURE_HEADER] = koreSignature(options.secret ?? sim.credentials.webhookSecret, method, base + signedTarget, signedBody);
    if (options.token) headers[KORE_IDEMPOTENCY_HEADER] = options.token;
  } else {
    headers[TWILIO_SIGNATURE_HEADER] = twilioSignature(options.secret ?? sim.credentials.authToken, base + signedTarget, method === 'POST' ? signedParams : {});
    if (options.token) headers[TWILIO_IDEMPOTENCY_HEADER] = options.token;
  }
  return { method, path: target, headers, body };
}

function send(base: string, req: SignedRequest): Promise<Answer> {
  return call(base, req.method, req.path, req.headers, req.body);
}

/** `req` with a Host header of its own, which undici will not send when it is no host. */
function withHost(base: string, host: string, req: SignedRequest): Promise<Answer> {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const sent = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.path, headers: { ...req.headers, host } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    sent.on('error', reject);
    sent.end(req.body);
  });
}

function fromDeviceParams(sim: Simulator, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AccountSid: sim.credentials.accountSid,
    CommandSid: HG,
    SimSid: HS,
    SimUniqueName: 'thermostat',
    Payload: BYTES.toString('base64'),
    PayloadType: 'binary',
    Direction: 'from_sim',
    Status: 'received',
    ApiVersion: 'v1',
    ...extra,
  };
}

function statusCalls(id: string): { fill?: string; shape?: string; text?: string }[] {
  const node = helper.getNode(id);
  return (node.status as unknown as SinonSpy)
    .getCalls()
    .filter((c) => c.thisValue === node)
    .map((c) => c.args[0] as { fill?: string; shape?: string; text?: string });
}

const quietly = (ms = 100) => new Promise((resolve) => setTimeout(resolve, ms));

describe('supersim-command-in', function () {
  this.timeout(20_000);
  let server: { url: string; close(): Promise<void> };
  let sim: Simulator | undefined;

  before(async function () {
    // The handler is looked up per request, so one server serves the httpNode app of each load.
    server = await serveHttpNode();
  });

  after(async function () {
    await server.close();
    await agent.close();
  });

  afterEach(async function () {
    await helper.unload();
    await sim?.close();
    sim = undefined;
  });

  function flowOf(s: Simulator, options: { url?: string; callbackBaseUrl?: string; extra?: object[]; wires?: string[][]; accountId?: string } = {}) {
    const account = accountFor(s, { callbackBaseUrl: options.callbackBaseUrl ?? server.url, id: options.accountId });
    return {
      flow: [
        { id: 'tab', type: 'tab', label: 'test' },
        account.node,
        { z: 'tab', x: 100, y: 100, id: 'in', type: 'supersim-command-in', name: '', account: account.node.id, url: options.url ?? HOOK, wires: options.wires ?? [['fromDevices'], ['statuses']] },
        { z: 'tab', x: 100, y: 100, id: 'fromDevices', type: 'helper' },
        { z: 'tab', x: 100, y: 100, id: 'statuses', type: 'helper' },
        ...(options.extra ?? []),
      ],
      credentials: { [account.node.id as string]: account.credentials },
    };
  }

  async function load(s: Simulator, options: Parameters<typeof flowOf>[1] = {}): Promise<void> {
    const { flow, credentials } = flowOf(s, options);
    await helper.load(MODULES, flow, credentials);
  }

  for (const mode of ['kore', 'twilio'] as SimulatorMode[]) {
    describe(`callbacks from the ${mode} simulator`, function () {
      // KORE signs nothing a GET carries: an account with a webhook secret refuses GETs (see HTTP behaviour).
      for (const method of (mode === 'kore' ? ['POST'] : ['POST', 'GET']) as Method[]) {
        it(`a device's UDP datagram (IP, binary) reaches output 1 as a Buffer with the exact bytes (${method})`, async function () {
          sim = await Simulator.start({ mode, timing: FAST, fleets: [{ uniqueName: 'default', ipCommandsUrl: server.url + HOOK, ipCommandsMethod: method }], sims: [{ uniqueName: 'thermostat' }] });
          await load(sim);
          const device = sim.sim('thermostat');
          await device.listen(6655);
          const statuses = collectMessages('statuses');
          const arrived = nextMessage('fromDevices');
          const command = await device.sendIpCommand(BYTES);
          const msg = (await arrived) as Msg;
          assert.ok(Buffer.isBuffer(msg.payload), 'binary data is a Buffer');
          assert.deepEqual(msg.payload, BYTES);
          assert.equal(msg.topic, 'thermostat');
          assert.deepEqual(msg.command, {
            sid: command.sid,
            kind: 'ip',
            direction: 'from_sim',
            status: 'received',
            sim: { sid: device.sid, uniqueName: 'thermostat', iccid: device.iccid },
            payloadType: 'binary',
            errorCode: null,
            errorMessage: null,
            accountSid: sim.credentials.accountSid,
          });
          assert.equal(msg.callback.verified, true);
          assert.equal(typeof msg.callback.idempotencyToken, 'string');
          await quietly(50);
          assert.equal(statuses.length, 0, 'nothing on output 2');
          const status = statusCalls('in').at(-1);
          assert.equal(status?.fill, 'green');
          assert.match(String(status?.text), /^from thermostat: received at \d\d:\d\d:\d\d$/);
        });

        it(`a device's SMS (text) reaches output 1 as a string (${method})`, async function () {
          sim = await Simulator.start({ mode, timing: FAST, fleets: [{ uniqueName: 'default', smsCommandsUrl: server.url + HOOK, smsCommandsMethod: method }], sims: [{ uniqueName: 'thermostat' }] });
          await load(sim);
          const arrived = nextMessage('fromDevices');
          const command = (await sim.sim('thermostat').sendSms(TEXT)) as SmsCommand;
          const msg = (await arrived) as Msg;
          assert.equal(msg.payload, TEXT);
          assert.equal(msg.topic, 'thermostat');
          assert.equal(msg.command.sid, command.sid);
          assert.equal(msg.command.kind, 'sms');
          assert.equal(msg.command.direction, 'from_sim');
          assert.equal(msg.command.payloadType, 'text');
        });

        it(`status callbacks of sent IP and SMS Commands reach output 2 with the status as payload (${method})`, async function () {
          sim = await Simulator.start({ mode, timing: FAST, sims: [{ uniqueName: 'thermostat' }] });
          await load(sim);
          const statuses = collectMessages('statuses');
          const fromDevices = collectMessages('fromDevices');
          const client = (helper.getNode('account') as unknown as AccountNode).account.client;
          const callback = { callbackUrl: server.url + HOOK, callbackMethod: method };
          const ip = await client.createIpCommand({ sim: 'thermostat', payload: 'ping', devicePort: 6655, ...callback });
          const sms = await client.createSmsCommand({ sim: 'thermostat', payload: 'reboot', ...callback });
          await waitFor(() => statuses.length >= 3, 5_000, 'three status callbacks');
          const seen = (statuses as Msg[]).map((m) => `${m.command.sid} ${String(m.payload)}`);
          assert.deepEqual(seen.filter((line) => line.startsWith(ip.sid)), [`${ip.sid} sent`]);
          assert.deepEqual(seen.filter((line) => line.startsWith(sms.sid)), [`${sms.sid} sent`, `${sms.sid} delivered`]);
          const delivered = (statuses as Msg[]).find((m) => m.payload === 'delivered') as Msg;
          assert.equal(delivered.topic, 'thermostat');
          assert.deepEqual(delivered.command, {
            sid: sms.sid,
            kind: 'sms',
            direction: 'to_sim',
            status: 'delivered',
            sim: { sid: sim.sim('thermostat').sid, uniqueName: 'thermostat', iccid: null },
            payloadType: 'text',
            errorCode: null,
            errorMessage: null,
            accountSid: sim.credentials.accountSid,
          });
          assert.equal((delivered.callback.params as Record<string, string>).Payload, 'reboot');
          assert.equal(fromDevices.length, 0, 'nothing on output 1');
          const status = statusCalls('in').at(-1);
          assert.equal(status?.fill, 'blue');
          assert.match(String(status?.text), /^to thermostat: (sent|delivered) at /);
        });
      }

      it('a failed command’s status carries its error code and message', async function () {
        sim = await Simulator.start({ mode, timing: FAST, sims: [{ uniqueName: 'parked', attached: false }] });
        await load(sim);
        const client = (helper.getNode('account') as unknown as AccountNode).account.client;
        const arrived = nextMessage('statuses');
        await client.createIpCommand({ sim: 'parked', payload: 'ping', devicePort: 6655, callbackUrl: server.url + HOOK });
        const msg = (await arrived) as Msg;
        assert.equal(msg.payload, 'failed');
        assert.equal(msg.command.errorCode, 32001);
        assert.equal(typeof msg.command.errorMessage, 'string');
      });

      it('a Programmable Wireless SIM’s commands (binary and text) reach output 1 through its commands callback URL', async function () {
        sim = await Simulator.start({ mode, timing: FAST, sims: [{ uniqueName: 'meter', api: 'wireless', commandsCallbackUrl: server.url + HOOK }] });
        await load(sim);
        const messages = collectMessages('fromDevices');
        await sim.sim('meter').sendSms(Buffer.from([0x00, 0xff, 0x01]));
        await sim.sim('meter').sendSms('status?');
        await waitFor(() => messages.length === 2, 5_000, 'two commands');
        const [binary, text] = messages as Msg[];
        assert.deepEqual(binary.payload, Buffer.from([0x00, 0xff, 0x01]));
        assert.equal(binary.command.kind, 'wireless');
        assert.equal(binary.command.payloadType, 'binary');
        assert.equal(binary.topic, 'meter');
        assert.match(String(binary.command.sid), /^DC/);
        assert.equal(text.payload, 'status?');
        assert.equal(text.command.payloadType, 'text');
      });

      describe(`signature checks (${mode})`, function () {
        const tampered: [string, (s: Simulator, method: Method) => SignedRequest | undefined][] = [
          ['a changed parameter', (s, m) => signedRequest(s, server.url, m, HOOK, fromDeviceParams(s, { Payload: 'AAEC' }), { signedParams: fromDeviceParams(s) })],
          ['an added parameter', (s, m) => signedRequest(s, server.url, m, HOOK, fromDeviceParams(s, { Extra: '1' }), { signedParams: fromDeviceParams(s) })],
          ['another URL', (s, m) => signedRequest(s, server.url, m, HOOK, fromDeviceParams(s), { signedPath: '/hooks/other' })],
          ['the wrong secret', (s, m) => signedRequest(s, server.url, m, HOOK, fromDeviceParams(s), { secret: 'not-the-secret' })],
          [
            'no signature',
            (s, m) => {
              const req = signedRequest(s, server.url, m, HOOK, fromDeviceParams(s));
              delete req.headers[KORE_SIGNATURE_HEADER];
              delete req.headers[TWILIO_SIGNATURE_HEADER];
              return req;
            },
          ],
          [
            'the same parameters in other bytes (KORE signs the raw body)',
            (s, m) => {
              if (s.mode !== 'kore' || m !== 'POST') return undefined;
              const params = fromDeviceParams(s, { Payload: 'AAEC', PayloadType: 'binary', SimUniqueName: 'the meter' });
              return signedRequest(s, server.url, m, HOOK, params, { rawBody: new URLSearchParams(params).toString().replace('the+meter', 'the%20meter') });
            },
          ],
        ];
        // KORE GETs are refused whatever they carry (see HTTP behaviour).
        const methods: Method[] = mode === 'kore' ? ['POST'] : ['POST', 'GET'];
        for (const method of methods) {
          it(`refuses tampered ${method} requests with 403 and emits nothing; the same request signed right passes`, async function () {
            sim = await Simulator.start({ mode });
            await load(sim);
            const fromDevices = collectMessages('fromDevices');
            const statuses = collectMessages('statuses');
            for (const [label, make] of tampered) {
              const req = make(sim, method);
              if (!req) continue;
              const answer = await send(server.url, req);
              assert.equal(answer.status, 403, `${label}: ${answer.text}`);
              assert.doesNotMatch(answer.text, /does not match|127\.0\.0\.1/, 'the sender learns nothing about the check');
            }
            await quietly();
            assert.equal(fromDevices.length + statuses.length, 0, 'nothing was emitted');
            const refused = statusCalls('in').at(-1);
            assert.equal(refused?.fill, 'red');
            assert.match(String(refused?.text), /^refused 403 \(signature check failed\) at /);
            const warnings = logLines('in', 30).filter((line) => line.includes('Refused'));
            assert.equal(warnings.length, 1, 'one warning for the burst of refusals');
            assert.match(warnings[0], /HTTP 403: .*(kore-signature|X-Twilio-Signature)/);

            const good = await send(server.url, signedRequest(sim, server.url, method, HOOK, fromDeviceParams(sim)));
            assert.equal(good.status, 200, good.text);
            await waitFor(() => fromDevices.length === 1, 3_000, 'the genuine callback');
            assert.deepEqual(fromDevices[0].payload, BYTES);
          });
        }

        it('emits a retried delivery with the same idempotency token once', async function () {
          sim = await Simulator.start({ mode });
          await load(sim);
          const fromDevices = collectMessages('fromDevices');
          const first = signedRequest(sim, server.url, 'POST', HOOK, fromDeviceParams(sim), { token: 'delivery-1' });
          for (let i = 0; i < 3; i++) assert.equal((await send(server.url, first)).status, 200);
          const other = signedRequest(sim, server.url, 'POST', HOOK, fromDeviceParams(sim, { CommandSid: HG2 }), { token: 'delivery-2' });
          assert.equal((await send(server.url, other)).status, 200);
          await waitFor(() => fromDevices.length === 2, 3_000, 'two callbacks');
          await quietly();
          assert.deepEqual(
            fromDevices.map((m) => (m.callback as Record<string, unknown>).idempotencyToken),
            ['delivery-1', 'delivery-2'],
          );
        });

        it('emits the same event delivered again under another token once; the next status of a command is another event', async function () {
          sim = await Simulator.start({ mode });
          await load(sim);
          const fromDevices = collectMessages('fromDevices');
          const statuses = collectMessages('statuses');
          for (const token of ['first', 'second', 'third']) {
            assert.equal((await send(server.url, signedRequest(sim, server.url, 'POST', HOOK, fromDeviceParams(sim), { token }))).status, 200);
          }
          const toSim = (status: string, token: string) =>
            signedRequest(sim as Simulator, server.url, 'POST', HOOK, fromDeviceParams(sim as Simulator, { CommandSid: HG2, Direction: 'to_sim', Status: status }), { token });
          for (const [status, token] of [['sent', 's1'], ['sent', 's2'], ['delivered', 'd1'], ['delivered', 'd2']]) {
            assert.equal((await send(server.url, toSim(status, token))).status, 200);
          }
          await waitFor(() => statuses.length === 2, 3_000, 'two statuses');
          await quietly();
          assert.deepEqual(fromDevices.map((m) => (m.callback as Record<string, unknown>).idempotencyToken), ['first']);
          assert.deepEqual(statuses.map((m) => [m.payload, (m.callback as Record<string, unknown>).idempotencyToken]), [['sent', 's1'], ['delivered', 'd1']]);
        });
      });
    });
  }

  describe('HTTP behaviour', function () {
    beforeEach(async function () {
      sim = await Simulator.start({ mode: 'kore' });
    });

    it('answers 413 past 64 KiB, 400 for what is no callback, 405 for other methods and 404 elsewhere; none emits', async function () {
      const s = sim as Simulator;
      await load(s);
      const fromDevices = collectMessages('fromDevices');
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      const cases: [string, string, string, Record<string, string>, string | Buffer | undefined, number][] = [
        ['past the limit', 'POST', HOOK, form, `Payload=${'a'.repeat(64 * 1024)}`, 413],
        ['at the limit, with a broken escape', 'POST', HOOK, form, `a=%zz${'a'.repeat(64 * 1024 - 5)}`, 400],
        ['bytes that are not UTF-8', 'POST', HOOK, form, Buffer.from([0x61, 0x3d, 0xff, 0xfe]), 400],
        ['a text body', 'POST', HOOK, { 'content-type': 'text/plain' }, 'CommandSid=1', 400],
        ['invalid JSON', 'POST', HOOK, { 'content-type': 'application/json' }, '{"CommandSid":', 400],
        ['PUT', 'PUT', HOOK, form, 'x=1', 405],
        ['DELETE', 'DELETE', HOOK, {}, undefined, 405],
        ['another path', 'POST', '/hooks/elsewhere', form, 'x=1', 404],
      ];
      for (const [label, method, path, headers, body, status] of cases) {
        const answer = await call(server.url, method, path, headers, body);
        assert.equal(answer.status, status, `${label}: ${answer.text}`);
      }
      // Fields are checked after the signature, so a forger cannot probe them: these are signed.
      for (const [label, params] of [
        ['invalid Base64', fromDeviceParams(s, { Payload: '!!!' })],
        ['no CommandSid', fromDeviceParams(s, { CommandSid: '' })],
        ['an unknown status', fromDeviceParams(s, { Status: 'lost' })],
      ] as const) {
        const answer = await send(server.url, signedRequest(s, server.url, 'POST', HOOK, params));
        assert.equal(answer.status, 400, `${label}: ${answer.text}`);
      }
      await quietly();
      assert.equal(fromDevices.length, 0);
      // Status updates are throttled to a few a second: the latest shows when the interval is over.
      await waitFor(() => /^refused 400 \(malformed\)/.test(String(statusCalls('in').at(-1)?.text)), 2_000, 'the 400 in the status');
    });

    it('takes no request whose path is past the URL length limit as its own, however it ends: 404 and nothing emitted for it', async function () {
      const s = sim as Simulator;
      await load(s);
      const fromDevices = collectMessages('fromDevices');
      // Trailing slashes do not make another path, but 3000 of them make a path no route can have.
      const long = signedRequest(s, server.url, 'POST', `${HOOK}${'/'.repeat(3000)}`, fromDeviceParams(s));
      const answer = await send(server.url, long);
      assert.equal(answer.status, 404, answer.text);
      const short = await send(server.url, signedRequest(s, server.url, 'POST', `${HOOK}${'/'.repeat(3)}`, fromDeviceParams(s)));
      assert.equal(short.status, 200, `a few trailing slashes still reach the node: ${short.text}`);
      await quietly();
      assert.equal(fromDevices.length, 1, 'only the short one was emitted');
    });

    it('answers 2xx before the flow runs: the answer arrives while the message is still being handled downstream', async function () {
      let openGate!: () => void;
      gate.arrived = [];
      gate.finished = 0;
      gate.open = new Promise<void>((resolve) => (openGate = resolve));
      await load(sim as Simulator, { wires: [['gate'], []], extra: [{ z: 'tab', x: 100, y: 100, id: 'gate', type: 'test-gate', wires: [] }] });
      try {
        const answer = await send(server.url, signedRequest(sim as Simulator, server.url, 'POST', HOOK, fromDeviceParams(sim as Simulator)));
        assert.equal(answer.status, 200);
        assert.equal(gate.finished, 0, 'the flow had not finished when the answer came');
        await waitFor(() => gate.arrived.length === 1, 3_000, 'the message at the gate');
      } finally {
        openGate();
      }
      await waitFor(() => gate.finished === 1, 3_000, 'the flow to finish');
    });

    it('after a redeploy with a new path the old one is 404 and the new one works', async function () {
      const s = sim as Simulator;
      await load(s);
      assert.equal((await send(server.url, signedRequest(s, server.url, 'POST', HOOK, fromDeviceParams(s)))).status, 200);
      const moved = flowOf(s, { url: '/hooks/moved' });
      await helper.setFlows(moved.flow, 'nodes', moved.credentials);
      const old = await send(server.url, signedRequest(s, server.url, 'POST', HOOK, fromDeviceParams(s)));
      assert.equal(old.status, 404);
      const fromDevices = collectMessages('fromDevices');
      // Another command: the node remembers the first across the redeploy.
      const answer = await send(server.url, signedRequest(s, server.url, 'POST', '/hooks/moved', fromDeviceParams(s, { CommandSid: HG3 })));
      assert.equal(answer.status, 200, answer.text);
      await waitFor(() => fromDevices.length === 1, 3_000, 'a message from the moved node');
    });

    it('a second node on a path in use reports a node error naming the holder, and the first keeps it', async function () {
      const s = sim as Simulator;
      await load(s, {
        extra: [{ z: 'tab', x: 100, y: 100, id: 'in2', type: 'supersim-command-in', name: 'second', account: 'account', url: `${HOOK}/`, wires: [['second'], []] }, { z: 'tab', x: 100, y: 100, id: 'second', type: 'helper' }],
      });
      const [first, second] = [helper.getNode('in'), helper.getNode('in2')];
      // Flows start their nodes in an order of their own: whichever came second lost the path.
      const [loser, winner] = logLines('in2', 20).length > 0 ? [second, first] : [first, second];
      const errors = logLines(loser.id, 20);
      assert.equal(errors.length, 1);
      assert.match(errors[0], new RegExp(`Cannot listen at /hooks/in: the path /hooks/in is already used by supersim-command-in node .*\\(${winner.id}\\)`));
      assert.deepEqual(logLines(winner.id, 20), []);
      assert.equal(statusCalls(loser.id).at(-1)?.fill, 'red');
      const outputs = collectMessages(winner.id === 'in' ? 'fromDevices' : 'second');
      assert.equal((await send(server.url, signedRequest(s, server.url, 'POST', HOOK, fromDeviceParams(s)))).status, 200);
      await waitFor(() => outputs.length === 1, 3_000, 'the holder’s message');
    });

    it('without an account, or with an unusable one, or with a bad path: a node error, a red status and no route', async function () {
      const s = sim as Simulator;
      const base = flowOf(s);
      const flow = [
        ...base.flow,
        { z: 'tab', x: 100, y: 100, id: 'noAccount', type: 'supersim-command-in', name: '', account: '', url: '/hooks/a', wires: [[], []] },
        { id: 'broken', type: 'supersim-account', name: '', provider: 'twilio', supersimUrl: '', wirelessUrl: '', tokenUrl: '', callbackBaseUrl: '' },
        { z: 'tab', x: 100, y: 100, id: 'unusable', type: 'supersim-command-in', name: '', account: 'broken', url: '/hooks/b', wires: [[], []] },
        { z: 'tab', x: 100, y: 100, id: 'badPath', type: 'supersim-command-in', name: '', account: 'account', url: 'hooks/c', wires: [[], []] },
      ];
      await helper.load(MODULES, flow, base.credentials);
      const expected: [string, RegExp, string][] = [
        ['noAccount', /No Super SIM account is selected/, '/hooks/a'],
        ['unusable', /The Super SIM account cannot be used: .+\. Fix it in the account node/, '/hooks/b'],
        ['badPath', /The node's URL cannot be used: the URL path must start with "\/"/, '/hooks/c'],
      ];
      for (const [id, pattern, path] of expected) {
        const errors = logLines(id, 20);
        assert.equal(errors.length, 1, id);
        assert.match(errors[0], pattern);
        const status = statusCalls(id).at(-1);
        assert.equal(status?.fill, 'red', id);
        assert.equal(status?.shape, 'ring', id);
        assert.equal((await call(server.url, 'POST', path, { 'content-type': 'application/x-www-form-urlencoded' }, 'x=1')).status, 404, `${id} has no route`);
      }
    });

    it('at a path the admin API serves on the same server: a node error, a red status and no route', async function () {
      const s = sim as Simulator;
      // As Node-RED mounts them with httpAdminRoot and httpNodeRoot both "/" (the helper keeps them apart).
      const shareOneServer = (RED: NodeAPI): void => {
        const server = express();
        server.use('/', RED.httpAdmin);
        server.use('/', RED.httpNode);
      };
      const base = flowOf(s);
      const flow = [
        ...base.flow,
        { z: 'tab', x: 100, y: 100, id: 'atFlows', type: 'supersim-command-in', name: '', account: 'account', url: '/flows', wires: [[], []] },
        { z: 'tab', x: 100, y: 100, id: 'atFleet', type: 'supersim-command-in', name: '', account: 'account', url: '/supersim-command-in/fleet/', wires: [[], []] },
      ];
      await helper.load([shareOneServer, ...MODULES], flow, base.credentials);
      const expected: [string, string, RegExp][] = [
        ['atFlows', '/flows', /\(the editor's \/flows\)/],
        ['atFleet', '/supersim-command-in/fleet', /\(the route \/supersim-command-in\/fleet\)/],
      ];
      for (const [id, path, what] of expected) {
        const errors = logLines(id, 20);
        assert.equal(errors.length, 1, id);
        assert.match(errors[0], new RegExp(`^Cannot listen at ${path.replace(/\//g, '\\/')}/?: Node-RED's editor and admin API serve that path`));
        assert.match(errors[0], what);
        assert.match(errors[0], /Choose another URL/);
        assert.deepEqual(statusCalls(id).at(-1), { fill: 'red', shape: 'ring', text: 'URL path reserved by the editor' }, id);
        assert.equal((await call(server.url, 'POST', path, { 'content-type': 'application/x-www-form-urlencoded' }, 'x=1')).status, 404, `${id} has no route`);
      }
      // The node beside them, at a path of its own, listens.
      assert.deepEqual(logLines('in', 20), []);
      assert.deepEqual(statusCalls('in').at(-1), {});
    });

    it('with httpNodeRoot false: a clear warning and no route', async function () {
      helper.settings({ httpNodeRoot: false });
      try {
        await load(sim as Simulator);
        const warnings = logLines('in', 30);
        assert.equal(warnings.length, 1);
        assert.match(warnings[0], /httpNodeRoot is false in settings\.js/);
        assert.deepEqual(logLines('in', 20), []);
        const answer = await send(server.url, signedRequest(sim as Simulator, server.url, 'POST', HOOK, fromDeviceParams(sim as Simulator)));
        assert.equal(answer.status, 404);
      } finally {
        helper.settings({});
      }
    });

    it('warns at deploy when KORE callbacks cannot be checked (no Webhook secret), and accepts them unverified', async function () {
      const s = sim as Simulator;
      const { flow, credentials } = flowOf(s);
      delete (credentials.account as Record<string, string>).webhookSecret;
      await helper.load(MODULES, flow, credentials);
      assert.match(logLines('in', 30).join('\n'), /accepted without a signature check.*Webhook secret/);
      const fromDevices = collectMessages('fromDevices');
      const answer = await call(server.url, 'POST', HOOK, { 'content-type': 'application/x-www-form-urlencoded' }, new URLSearchParams(fromDeviceParams(s)).toString());
      assert.equal(answer.status, 200);
      await waitFor(() => fromDevices.length === 1, 3_000, 'the unsigned callback');
      assert.equal((fromDevices[0].callback as Record<string, unknown>).verified, false);
    });

    it('refuses GET on a KORE account with a Webhook secret, even signed "right" with other parameters: 403, a status and a log line saying to use POST; POST still works', async function () {
      const s = sim as Simulator;
      await load(s);
      const fromDevices = collectMessages('fromDevices');
      const statuses = collectMessages('statuses');
      // The signature covers the URL without its query, so it is "right" for any parameters at all.
      const forged = signedRequest(s, server.url, 'GET', HOOK, fromDeviceParams(s, { Payload: 'AAEC' }), { signedParams: fromDeviceParams(s) });
      for (const req of [forged, signedRequest(s, server.url, 'GET', HOOK, fromDeviceParams(s))]) {
        const answer = await send(server.url, req);
        assert.equal(answer.status, 403);
        assert.match(answer.text, /KORE does not sign GET callbacks.*set the callback method to POST/);
      }
      await quietly();
      assert.equal(fromDevices.length + statuses.length, 0, 'nothing was emitted');
      await waitFor(() => /^refused 403 \(KORE does not sign GET: use POST\) at /.test(String(statusCalls('in').at(-1)?.text)), 2_000, 'the reason in the status');
      const warnings = logLines('in', 30).filter((line) => line.includes('Refused'));
      assert.equal(warnings.length, 1, 'one warning a minute');
      assert.match(warnings[0], /HTTP 403: KORE does not sign GET callbacks.*POST/);

      const post = await send(server.url, signedRequest(s, server.url, 'POST', HOOK, fromDeviceParams(s)));
      assert.equal(post.status, 200, post.text);
      await waitFor(() => fromDevices.length === 1, 3_000, 'the POST');
    });

    it('accepts GET on a KORE account without a Webhook secret, as it accepts POST: unverified', async function () {
      const s = sim as Simulator;
      const { flow, credentials } = flowOf(s);
      delete (credentials.account as Record<string, string>).webhookSecret;
      await helper.load(MODULES, flow, credentials);
      const fromDevices = collectMessages('fromDevices');
      const answer = await call(server.url, 'GET', `${HOOK}?${new URLSearchParams(fromDeviceParams(s)).toString()}`);
      assert.equal(answer.status, 200, answer.text);
      await waitFor(() => fromDevices.length === 1, 3_000, 'the GET');
      assert.equal((fromDevices[0].callback as Record<string, unknown>).verified, false);
    });

    it('warns at deploy that a Public URL is recommended when signatures are checked without one', async function () {
      const s = sim as Simulator;
      const twilio = await Simulator.start({ mode: 'twilio' });
      try {
        const cases: [string, Simulator, string, boolean, RegExp | undefined][] = [
          ['kore with a secret, no Public URL', s, '', true, /^A Public URL is recommended for callbacks to \/hooks\/in: .*Host header.*Advanced tab/],
          ['twilio, no Public URL', twilio, '', true, /^A Public URL is recommended/],
          ['kore with a secret and a Public URL', s, server.url, true, undefined],
          ['kore without a secret, no Public URL (nothing is checked: the unverified warning says so)', s, '', false, undefined],
        ];
        for (const [label, simulator, callbackBaseUrl, secret, expected] of cases) {
          const { flow, credentials } = flowOf(simulator, { callbackBaseUrl });
          if (!secret) delete (credentials.account as Record<string, string>).webhookSecret;
          await helper.load(MODULES, flow, credentials);
          const warnings = logLines('in', 30).filter((line) => line.includes('Public URL is recommended'));
          if (expected) {
            assert.equal(warnings.length, 1, label);
            assert.match(warnings[0], expected, label);
          } else {
            assert.deepEqual(warnings, [], label);
          }
          assert.deepEqual(logLines('in', 20), [], `${label}: no error`);
          await helper.unload();
        }
      } finally {
        await twilio.close();
      }
    });

    it('without a Public URL, trusts X-Forwarded-Proto/Host only when the HTTP app trusts the proxy, and answers 400 to a junk Host', async function () {
      const s = sim as Simulator;
      const params = fromDeviceParams(s);
      // Signed for the address a reverse proxy in front of Node-RED would be called at.
      const proxied = signedRequest(s, 'https://nodered.example.com', 'POST', HOOK, params);
      proxied.headers['x-forwarded-proto'] = 'https';
      proxied.headers['x-forwarded-host'] = 'nodered.example.com';
      const trustLoopback = (RED: NodeAPI): void => {
        RED.httpNode.set('trust proxy', 'loopback');
      };
      for (const trusted of [false, true]) {
        const { flow, credentials } = flowOf(s, { callbackBaseUrl: '' });
        await helper.load(trusted ? [...MODULES, trustLoopback] : MODULES, flow, credentials);
        const fromDevices = collectMessages('fromDevices');
        const answer = await send(server.url, proxied);
        assert.equal(answer.status, trusted ? 200 : 403, `trusted: ${trusted}: ${answer.text}`);
        if (trusted) await waitFor(() => fromDevices.length === 1, 3_000, 'the proxied callback');
        // A request without forwarded headers is checked against its Host, trusted or not.
        const direct = await send(server.url, signedRequest(s, server.url, 'POST', HOOK, fromDeviceParams(s, { CommandSid: trusted ? HG2 : HG3 })));
        assert.equal(direct.status, 200, `direct, trusted: ${trusted}: ${direct.text}`);
        for (const host of ['evil.example.com/x', 'a..b!', '[::1']) {
          const junk = signedRequest(s, `http://${host}`, 'POST', HOOK, fromDeviceParams(s));
          const refused = await withHost(server.url, host, junk);
          assert.equal(refused.status, 400, `Host ${host}`);
          assert.match(refused.text, /Host header is not a host name/);
        }
        await helper.unload();
      }
    });

    it('remembers idempotency tokens across a redeploy of the node', async function () {
      const s = sim as Simulator;
      await load(s);
      const retry = signedRequest(s, server.url, 'POST', HOOK, fromDeviceParams(s), { token: 'across-deploys' });
      assert.equal((await send(server.url, retry)).status, 200);
      const renamed = flowOf(s);
      (renamed.flow[2] as Record<string, unknown>).name = 'renamed';
      await helper.setFlows(renamed.flow, 'nodes', renamed.credentials);
      const fromDevices = collectMessages('fromDevices');
      assert.equal((await send(server.url, retry)).status, 200);
      await quietly();
      assert.equal(fromDevices.length, 0, 'the retry after the redeploy was not emitted again');
    });
  });
});
