import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IpCommand, SmsCommand, WirelessCommand } from '../../src/api/types';
import { CallbackReceiver, KORE_GET_REASON } from '../../src/callbacks/index.js';
import type { CallbackRequest, CommandEvent, ReceiverOptions, ReceiverResult } from '../../src/callbacks/index.js';
import { Simulator } from '../../src/simulator';
import type { SimulatorMode, SimulatorOptions } from '../../src/simulator';
import { SimHttp } from '../support/sim-http';

const FAST = { ipSentMs: 2, smsSentMs: 2, smsDeliveredMs: 4, callbackRetryMs: 5 };
const AUTH_TOKEN = 'sim-test-auth-token';
const WEBHOOK_SECRET = 'sim-test-webhook-secret';
const BYTES = Buffer.from([0x00, 0xff, 0x80, 0x7f, 0x0a, 0x0d, 0x00, 0xfe]);

interface Delivery {
  request: CallbackRequest;
  result: ReceiverResult;
}

/**
 * The receiving end as a node would run it: a plain node:http server that reads each request whole and
 * hands method, url, headers and raw bytes to `handle`, answering with the status it returns (or
 * `answer`'s override, to make the simulator retry).
 */
class Hook {
  readonly deliveries: Delivery[] = [];
  #waiters: (() => void)[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(
    handle: (request: CallbackRequest) => ReceiverResult,
    options: { answer?: (result: ReceiverResult, index: number) => number; proxy?: (request: CallbackRequest) => CallbackRequest } = {},
  ): Promise<Hook> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const received: CallbackRequest = { method: req.method ?? '', url: req.url ?? '/', headers: req.headers, rawBody: Buffer.concat(chunks), protocol: 'http' };
        const request = options.proxy?.(received) ?? received;
        const result = handle(request);
        res.writeHead(options.answer?.(result, hook.deliveries.length) ?? result.status).end();
        hook.deliveries.push({ request, result });
        for (const wake of hook.#waiters.splice(0)) wake();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const hook = new Hook(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return hook;
  }

  /** Resolves once `count` requests have arrived in all. */
  async until(count: number, timeoutMs = 2000): Promise<Delivery[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.deliveries.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.deliveries.length} of ${count} callbacks arrived within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.deliveries.slice(0, count);
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function eventsOf(deliveries: Delivery[]): CommandEvent[] {
  return deliveries.map(({ result }) => {
    assert.equal(result.status, 200, result.reason);
    assert.ok(result.event);
    return result.event;
  });
}

function bySid(events: CommandEvent[], sid: string): CommandEvent[] {
  return events.filter((event) => event.sid === sid);
}

describe('callbacks from the simulator', () => {
  let sim: Simulator | undefined;
  let hook: Hook | undefined;

  interface StartOptions {
    /** Receiver options; a function gets the hook's URL. */
    receiver?: Partial<ReceiverOptions> | ((hookUrl: string) => Partial<ReceiverOptions>);
    simulator?: SimulatorOptions;
    answer?: (result: ReceiverResult, index: number) => number;
    /** What a reverse proxy in front of the server changes in each request. */
    proxy?: (request: CallbackRequest) => CallbackRequest;
  }

  async function start(mode: SimulatorMode, method: 'GET' | 'POST', options: StartOptions = {}): Promise<{ sim: Simulator; hook: Hook; http: SimHttp }> {
    // Requests can only arrive once the simulator runs, by which time `receiver` exists.
    hook = await Hook.start((request) => receiver.handle(request), options);
    const extra = typeof options.receiver === 'function' ? options.receiver(hook.url) : options.receiver;
    const receiver = new CallbackReceiver(mode === 'kore' ? { provider: 'kore', webhookSecret: WEBHOOK_SECRET, ...extra } : { provider: 'twilio', authToken: AUTH_TOKEN, ...extra });
    sim = await Simulator.start({
      mode,
      authToken: AUTH_TOKEN,
      webhookSecret: WEBHOOK_SECRET,
      timing: FAST,
      sims: [
        { uniqueName: 'thermostat' },
        { uniqueName: 'parked', attached: false },
        { uniqueName: 'meter', api: 'wireless', commandsCallbackUrl: `${hook.url}/from/wireless`, commandsCallbackMethod: method },
      ],
      fleets: [{ uniqueName: 'default', ipCommandsUrl: `${hook.url}/from/ip?kind=ip`, ipCommandsMethod: method, smsCommandsUrl: `${hook.url}/from/sms`, smsCommandsMethod: method }],
      ...options.simulator,
    });
    return { sim, hook, http: new SimHttp(sim) };
  }

  afterEach(async () => {
    await sim?.close();
    await hook?.close();
    sim = hook = undefined;
  });

  for (const mode of ['kore', 'twilio'] as const) {
    // KORE signs nothing a GET carries: those are refused, below.
    for (const method of mode === 'kore' ? (['POST'] as const) : (['POST', 'GET'] as const)) {
      describe(`${mode}, ${method}`, () => {
        it('IP Commands to a SIM (text, binary, failed) become verified to_sim events', async () => {
          const { sim: s, hook: h, http } = await start(mode, method);
          const callback = { CallbackUrl: `${h.url}/status?node=ip`, CallbackMethod: method };
          const text = await http.post<IpCommand>(`${s.supersimUrl}/v1/IpCommands`, { Sim: 'thermostat', Payload: 'a b&c=d+é', DevicePort: 6655, ...callback });
          const binary = await http.post<IpCommand>(`${s.supersimUrl}/v1/IpCommands`, { Sim: 'thermostat', Payload: BYTES.toString('base64'), PayloadType: 'binary', DevicePort: 6655, ...callback });
          const failed = await http.post<IpCommand>(`${s.supersimUrl}/v1/IpCommands`, { Sim: 'parked', Payload: 'x', DevicePort: 6655, ...callback });
          const deliveries = await h.until(3);
          for (const { result } of deliveries) assert.equal(result.verified, true);
          const events = eventsOf(deliveries);
          const device = s.sim('thermostat');

          const [sent] = bySid(events, text.body.sid);
          assert.deepEqual(
            { ...sent, params: undefined, idempotencyToken: undefined },
            {
              sid: text.body.sid,
              kind: 'ip',
              direction: 'to_sim',
              status: 'sent',
              sim: { sid: device.sid, uniqueName: 'thermostat', iccid: device.iccid },
              payloadType: 'text',
              payload: 'a b&c=d+é',
              rawPayload: 'a b&c=d+é',
              errorCode: null,
              errorMessage: null,
              accountSid: s.credentials.accountSid,
              apiVersion: 'v1',
              params: undefined,
              idempotencyToken: undefined,
            },
          );
          assert.match(sent.idempotencyToken ?? '', /^[0-9a-f-]{36}$/);
          // A GET's fields follow the query the callback URL already had; a POST's are the body alone.
          assert.equal(sent.params.node, method === 'GET' ? 'ip' : undefined);

          const [binarySent] = bySid(events, binary.body.sid);
          assert.equal(binarySent.payloadType, 'binary');
          assert.deepEqual(binarySent.payload, BYTES);

          const [failure] = bySid(events, failed.body.sid);
          assert.deepEqual([failure.status, failure.errorCode, failure.errorMessage], ['failed', 32001, 'Device not attached']);
        });

        it('SMS and Wireless Commands to a SIM report sent then delivered', async () => {
          const { sim: s, hook: h, http } = await start(mode, method);
          const callback = { CallbackUrl: `${h.url}/status`, CallbackMethod: method };
          const sms = await http.post<SmsCommand>(`${s.supersimUrl}/v1/SmsCommands`, { Sim: 'thermostat', Payload: 'reboot ✓', ...callback });
          const text = await http.post<WirelessCommand>(`${s.wirelessUrl}/v1/Commands`, { Sim: 'meter', Command: 'wake up', ...callback });
          const binary = await http.post<WirelessCommand>(`${s.wirelessUrl}/v1/Commands`, { Sim: 'meter', Command: BYTES.slice(0, 5).toString('base64'), CommandMode: 'binary', ...callback });
          const events = eventsOf(await h.until(6));

          const smsEvents = bySid(events, sms.body.sid);
          assert.deepEqual(smsEvents.map((e) => [e.kind, e.direction, e.status, e.payload, e.payloadType]), [
            ['sms', 'to_sim', 'sent', 'reboot ✓', 'text'],
            ['sms', 'to_sim', 'delivered', 'reboot ✓', 'text'],
          ]);
          assert.notEqual(smsEvents[0].idempotencyToken, smsEvents[1].idempotencyToken, 'one token per event');
          assert.deepEqual(bySid(events, text.body.sid).map((e) => [e.kind, e.status, e.payload, e.payloadType, e.sim.uniqueName]), [
            ['wireless', 'sent', 'wake up', 'text', 'meter'],
            ['wireless', 'delivered', 'wake up', 'text', 'meter'],
          ]);
          const binaryEvents = bySid(events, binary.body.sid);
          assert.deepEqual(binaryEvents.map((e) => e.status), ['sent', 'delivered']);
          for (const event of binaryEvents) assert.deepEqual(event.payload, BYTES.slice(0, 5));
        });

        it('commands from devices (IP datagram, Super SIM SMS, Wireless text and binary) become from_sim events', async () => {
          const { sim: s, hook: h } = await start(mode, method);
          const thermostat = s.sim('thermostat');
          const meter = s.sim('meter');
          const ip = await thermostat.sendIpCommand(BYTES, 7000);
          const sms = (await thermostat.sendSms('héllo 🌍 & = +')) as SmsCommand;
          const wirelessBinary = (await meter.sendSms(Buffer.from([0x00, 0xff, 0x01]))) as WirelessCommand;
          const wirelessText = (await meter.sendSms('status?')) as WirelessCommand;
          const events = eventsOf(await h.until(4));

          const [fromIp] = bySid(events, ip.sid);
          assert.deepEqual([fromIp.kind, fromIp.direction, fromIp.status, fromIp.payloadType], ['ip', 'from_sim', 'received', 'binary']);
          assert.ok(Buffer.isBuffer(fromIp.payload));
          assert.deepEqual(fromIp.payload, BYTES);
          assert.deepEqual(fromIp.sim, { sid: thermostat.sid, uniqueName: 'thermostat', iccid: thermostat.iccid });

          const [fromSms] = bySid(events, sms.sid);
          assert.deepEqual([fromSms.kind, fromSms.direction, fromSms.status, fromSms.payload], ['sms', 'from_sim', 'received', 'héllo 🌍 & = +']);

          const [fromWirelessBinary] = bySid(events, wirelessBinary.sid);
          assert.deepEqual([fromWirelessBinary.kind, fromWirelessBinary.direction, fromWirelessBinary.payloadType], ['wireless', 'from_sim', 'binary']);
          assert.deepEqual(fromWirelessBinary.payload, Buffer.from([0x00, 0xff, 0x01]));
          assert.equal(fromWirelessBinary.sim.sid, meter.sid);

          const [fromWirelessText] = bySid(events, wirelessText.sid);
          assert.deepEqual([fromWirelessText.payloadType, fromWirelessText.payload], ['text', 'status?']);
        });
      });
    }

    it(`${mode}: a retried delivery carries the same token and is reported as a duplicate`, async () => {
      // The first answer is lost (503): the simulator retries, as the provider does.
      const { sim: s, hook: h, http } = await start(mode, 'POST', { answer: (_result, index) => (index === 0 ? 503 : 200) });
      await http.post(`${s.supersimUrl}/v1/IpCommands`, { Sim: 'thermostat', Payload: 'once', DevicePort: 6655, CallbackUrl: `${h.url}/status` });
      const [first, retry] = await h.until(2);
      assert.equal(first.result.duplicate, false);
      assert.equal(retry.result.duplicate, true);
      assert.deepEqual(retry.result.event, first.result.event);
      await new Promise((resolve) => setTimeout(resolve, 30));
      assert.equal(h.deliveries.length, 2, 'the retry was answered 200');
    });

    it(`${mode}: behind a proxy that rewrites Host, verifies against the configured public base URL`, async () => {
      const proxy = (request: CallbackRequest): CallbackRequest => ({ ...request, headers: { ...request.headers, host: 'internal.example:1880' } });
      const { sim: s, hook: h, http } = await start(mode, 'POST', { receiver: (hookUrl) => ({ publicBaseUrl: `${hookUrl}/` }), proxy });
      await http.post(`${s.supersimUrl}/v1/SmsCommands`, { Sim: 'thermostat', Payload: 'x', CallbackUrl: `${h.url}/status` });
      const deliveries = await h.until(2);
      assert.deepEqual(eventsOf(deliveries).map((e) => e.status), ['sent', 'delivered']);
      const withoutBase = new CallbackReceiver(mode === 'kore' ? { provider: 'kore', webhookSecret: WEBHOOK_SECRET } : { provider: 'twilio', authToken: AUTH_TOKEN });
      assert.equal(withoutBase.handle(deliveries[0].request).status, 403, 'the Host the server saw is not what was signed');
    });
  }

  it('twilio: a receiver with another Auth Token refuses every callback, and emits nothing', async () => {
    const { sim: s, hook: h, http } = await start('twilio', 'POST', { receiver: { authToken: 'not-the-token' }, simulator: { callbackRetries: 0 } });
    await http.post(`${s.supersimUrl}/v1/IpCommands`, { Sim: 'thermostat', Payload: 'x', DevicePort: 6655, CallbackUrl: `${h.url}/status` });
    const [delivery] = await h.until(1);
    assert.equal(delivery.result.status, 403);
    assert.equal(delivery.result.event, undefined);
  });

  it('kore: GET callbacks, from a device or of a command sent to one, are refused with a webhook secret, saying to use POST', async () => {
    const { sim: s, hook: h, http } = await start('kore', 'GET', { simulator: { callbackRetries: 0 } });
    await s.sim('thermostat').sendSms('from the device');
    await http.post(`${s.supersimUrl}/v1/IpCommands`, { Sim: 'thermostat', Payload: 'x', DevicePort: 6655, CallbackUrl: `${h.url}/status`, CallbackMethod: 'GET' });
    const deliveries = await h.until(2);
    for (const { request, result } of deliveries) {
      assert.equal(request.method, 'GET');
      assert.deepEqual([result.status, result.reason, result.refusal, result.event], [403, KORE_GET_REASON, 'unsigned-get', undefined]);
    }
    // Without a secret nothing is verified anyway, and GET is accepted as POST is.
    const unverified = new CallbackReceiver({ provider: 'kore' }).handle(deliveries[0].request);
    assert.deepEqual([unverified.status, unverified.verified, unverified.event?.payload], [200, false, 'from the device']);
  });

  it('kore: an unsigned callback is accepted unverified without a secret, refused with one', async () => {
    const { sim: s, hook: h, http } = await start('kore', 'POST', { receiver: { webhookSecret: undefined }, simulator: { webhookSecret: '', callbackRetries: 0 } });
    await http.post(`${s.supersimUrl}/v1/IpCommands`, { Sim: 'thermostat', Payload: 'x', DevicePort: 6655, CallbackUrl: `${h.url}/status` });
    const [delivery] = await h.until(1);
    assert.equal(delivery.result.verified, false);
    assert.equal(eventsOf([delivery])[0].payload, 'x');
    const strict = new CallbackReceiver({ provider: 'kore', webhookSecret: WEBHOOK_SECRET });
    assert.equal(strict.handle(delivery.request).status, 403);
  });
});
