import assert from 'node:assert/strict';
import type { IpCommand, SmsCommand, WirelessCommand } from '../../src/api/types';
import {
  KORE_IDEMPOTENCY_HEADER,
  KORE_SIGNATURE_HEADER,
  TWILIO_IDEMPOTENCY_HEADER,
  TWILIO_SIGNATURE_HEADER,
  koreSignature,
  twilioSignature,
} from '../../src/callbacks/signatures';
import { Simulator } from '../../src/simulator';
import type { SimulatorMode, SimulatorOptions } from '../../src/simulator';
import { CallbackReceiver } from '../support/sim-receiver';
import type { ReceivedCallback } from '../support/sim-receiver';
import { SimHttp } from '../support/sim-http';

const FAST = { ipSentMs: 5, smsSentMs: 5, smsDeliveredMs: 10, callbackRetryMs: 10 };

describe('simulator callbacks', () => {
  let sim: Simulator | undefined;
  let receiver: CallbackReceiver | undefined;
  let http: SimHttp;

  async function start(options: SimulatorOptions = {}, respond?: (callback: ReceivedCallback, index: number) => number): Promise<Simulator> {
    receiver = await CallbackReceiver.start(respond);
    sim = await Simulator.start({
      timing: FAST,
      sims: [{ uniqueName: 'thermostat' }, { uniqueName: 'meter', api: 'wireless' }, { uniqueName: 'parked', attached: false }],
      ...options,
    });
    http = new SimHttp(sim);
    return sim;
  }

  afterEach(async () => {
    await sim?.close();
    await receiver?.close();
    sim = receiver = undefined;
  });

  describe('signature vectors', () => {
    it('twilioSignature matches Twilio’s documented example', () => {
      const params = { CallSid: 'CA1234567890ABCDE', Caller: '+14158675309', Digits: '1234', From: '+14158675309', To: '+18005551212' };
      assert.equal(twilioSignature('12345', 'https://mycompany.com/myapp.php?foo=1&bar=2', params), 'RSOYDt4T1cUTdK1PDd93/VVr8B8=');
    });

    it('koreSignature matches KORE’s documented example', () => {
      assert.ok(koreSignature('12345', 'POST', 'https://testendpoint.com', 'field1=value1&field2=value2').startsWith('f562d395'));
    });
  });

  for (const mode of ['kore', 'twilio'] as SimulatorMode[]) {
    for (const method of ['POST', 'GET'] as const) {
      it(`signs a ${method} status callback so the ${mode} receiver can verify it`, async () => {
        const s = await start({ mode });
        const created = await http.post<IpCommand>(`${s.supersimUrl}/v1/IpCommands`, {
          Sim: 'thermostat',
          Payload: 'a b&c=d+é',
          DevicePort: 6655,
          CallbackUrl: `${receiver!.url}/hook?existing=1`,
          CallbackMethod: method,
        });
        assert.equal(created.status, 201);
        const callback = await receiver!.next();
        assert.equal(callback.method, method);
        assert.equal(callback.path, '/hook');
        assert.equal(callback.params.existing, method === 'GET' ? '1' : undefined);
        assert.equal(callback.params.Payload, 'a b&c=d+é');
        assert.equal(callback.params.CommandSid, created.body.sid);
        if (method === 'GET') assert.equal(callback.rawBody, '');
        else assert.equal(callback.headers['content-type'], 'application/x-www-form-urlencoded');
        if (mode === 'kore') {
          assert.equal(callback.headers[KORE_SIGNATURE_HEADER], koreSignature(s.credentials.webhookSecret, method, callback.url, callback.rawBody));
          assert.match(String(callback.headers[KORE_IDEMPOTENCY_HEADER]), /.{8,}/);
          assert.equal(callback.headers[TWILIO_SIGNATURE_HEADER], undefined);
        } else {
          const { existing: _ignored, ...fields } = callback.params;
          const expected = twilioSignature(s.credentials.authToken, callback.url, method === 'POST' ? fields : {});
          assert.equal(callback.headers[TWILIO_SIGNATURE_HEADER], expected);
          assert.match(String(callback.headers[TWILIO_IDEMPOTENCY_HEADER]), /.{8,}/);
          assert.equal(callback.headers[KORE_SIGNATURE_HEADER], undefined);
        }
      });
    }
  }

  it('reports an IP Command sent, with the documented fields', async () => {
    const s = await start();
    const device = s.sim('thermostat');
    const created = await http.post<IpCommand>(`${s.supersimUrl}/v1/IpCommands`, { Sim: device.sid, Payload: 'on', DevicePort: 6655, CallbackUrl: `${receiver!.url}/ip` });
    const callback = await receiver!.next();
    assert.deepEqual(callback.params, {
      AccountSid: s.credentials.accountSid,
      CommandSid: created.body.sid,
      SimSid: device.sid,
      SimUniqueName: 'thermostat',
      SimIccid: device.iccid,
      Payload: 'on',
      PayloadType: 'text',
      Direction: 'to_sim',
      Status: 'sent',
      ApiVersion: 'v1',
    });
    const fetched = await http.get<IpCommand>(created.body.url);
    assert.equal(fetched.body.status, 'sent');
    assert.match(fetched.body.device_ip as string, /^100\.64\.\d+\.\d+$/);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(receiver!.requests.length, 1, 'sent is final for an IP Command');
  });

  it('reports an IP Command to a detached device as failed, with the error fields', async () => {
    const s = await start();
    const created = await http.post<IpCommand>(`${s.supersimUrl}/v1/IpCommands`, { Sim: 'parked', Payload: 'on', DevicePort: 6655, CallbackUrl: `${receiver!.url}/ip` });
    const callback = await receiver!.next();
    assert.equal(callback.params.Status, 'failed');
    assert.equal(callback.params.ErrorCode, '32001');
    assert.equal(callback.params.ErrorMessage, 'Device not attached');
    const fetched = await http.get<IpCommand>(created.body.url);
    assert.equal(fetched.body.status, 'failed');
    assert.equal(fetched.body.error_code, 32001);
    assert.equal(fetched.body.error_message, 'Device not attached');
    assert.equal(fetched.body.device_ip, null);
    assert.equal(s.sim('parked').received.length, 0);
  });

  it('reports an SMS Command sent then delivered, in order, and the device gets the text at sent', async () => {
    const s = await start();
    const texts: string[] = [];
    s.sim('thermostat').on('sms', (text) => texts.push(text));
    const created = await http.post<SmsCommand>(`${s.supersimUrl}/v1/SmsCommands`, { Sim: 'thermostat', Payload: 'reboot', CallbackUrl: `${receiver!.url}/sms` });
    assert.equal(created.body.status, 'queued');
    const [sent, delivered] = await receiver!.take(2);
    assert.deepEqual([sent.params.Status, delivered.params.Status], ['sent', 'delivered']);
    assert.equal(sent.params.Payload, 'reboot');
    assert.equal(sent.params.PayloadType, 'text');
    assert.equal(sent.params.SimIccid, undefined);
    assert.notEqual(sent.headers[KORE_IDEMPOTENCY_HEADER], delivered.headers[KORE_IDEMPOTENCY_HEADER], 'one token per event');
    assert.deepEqual(texts, ['reboot']);
    const item = await s.sim('thermostat').nextReceived();
    assert.equal(item.channel, 'sms');
    assert.equal(item.commandSid, created.body.sid);
    assert.equal((await http.get<SmsCommand>(created.body.url)).body.status, 'delivered');
  });

  it('fails an SMS Command to a detached device', async () => {
    const s = await start();
    await http.post(`${s.supersimUrl}/v1/SmsCommands`, { Sim: 'parked', Payload: 'x', CallbackUrl: `${receiver!.url}/sms` });
    const callback = await receiver!.next();
    assert.equal(callback.params.Status, 'failed');
    assert.equal(callback.params.ErrorCode, '32001');
  });

  it('delivers Wireless Commands with the SID included, and stops at sent without a delivery receipt', async () => {
    const s = await start();
    const meter = s.sim('meter');
    const commands: { command: string | Buffer; mode: string }[] = [];
    meter.on('wireless', (command, info) => commands.push({ command, mode: info.mode }));
    const withSid = await http.post<WirelessCommand>(`${s.wirelessUrl}/v1/Commands`, { Sim: 'meter', Command: 'read', IncludeSid: 'start', CallbackUrl: `${receiver!.url}/w` });
    const [sent, delivered] = await receiver!.take(2);
    assert.deepEqual([sent.params.Status, delivered.params.Status], ['sent', 'delivered']);
    assert.equal(sent.params.Command, 'read');
    assert.equal(sent.params.CommandMode, 'text');
    assert.equal(sent.params.Payload, undefined);
    assert.deepEqual(commands, [{ command: `${withSid.body.sid} read`, mode: 'text' }]);

    const noReceipt = await http.post<WirelessCommand>(`${s.wirelessUrl}/v1/Commands`, {
      Sim: 'meter',
      Command: Buffer.from([0, 1, 255]).toString('base64'),
      CommandMode: 'binary',
      DeliveryReceiptRequested: 'false',
      CallbackUrl: `${receiver!.url}/w`,
    });
    assert.equal((await receiver!.next()).params.Status, 'sent');
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(receiver!.requests.length, 3);
    assert.equal((await http.get<WirelessCommand>(noReceipt.body.url)).body.status, 'sent');
    assert.deepEqual(commands[1], { command: Buffer.from([0, 1, 255]), mode: 'binary' });
  });

  it('retries a callback answered 500 once, with the same idempotency token', async () => {
    const s = await start({}, (_callback, index) => (index === 0 ? 500 : 204));
    await http.post(`${s.supersimUrl}/v1/IpCommands`, { Sim: 'thermostat', Payload: 'x', DevicePort: 1, CallbackUrl: `${receiver!.url}/ip` });
    const [first, second] = await receiver!.take(2);
    assert.equal(first.params.Status, 'sent');
    assert.equal(first.rawBody, second.rawBody);
    assert.equal(first.headers[KORE_IDEMPOTENCY_HEADER], second.headers[KORE_IDEMPOTENCY_HEADER]);
    assert.equal(first.headers[KORE_SIGNATURE_HEADER], second.headers[KORE_SIGNATURE_HEADER]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(receiver!.requests.length, 2);
    assert.deepEqual(s.stats.callbacks, { sent: 2, failed: 1 });
  });

  it('gives up after callbackRetries on an unreachable receiver, and the API carries on', async () => {
    const s = await start({ callbackRetries: 1 });
    const deadUrl = `${receiver!.url}/gone`;
    await receiver!.close();
    receiver = undefined;
    await http.post(`${s.supersimUrl}/v1/IpCommands`, { Sim: 'thermostat', Payload: 'x', DevicePort: 1, CallbackUrl: deadUrl });
    for (let i = 0; i < 100 && s.stats.callbacks.failed < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(s.stats.callbacks, { sent: 2, failed: 2 });
    assert.equal((await http.get(`${s.supersimUrl}/v1/IpCommands`)).status, 200);
  });
});
