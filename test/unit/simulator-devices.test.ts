import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import sinon from 'sinon';
import type { IpCommand, SmsCommand, WirelessCommand } from '../../src/api/types';
import { Simulator } from '../../src/simulator';
import type { AttachmentChange, SimulatedDevice } from '../../src/simulator';
import { CallbackReceiver } from '../support/sim-receiver';
import { SimHttp } from '../support/sim-http';

// 0x00 and 0xff, a lone continuation byte, an overlong encoding and a truncated sequence: none of it is UTF-8.
const NOT_UTF8 = Buffer.from([0x00, 0xff, 0x80, 0xc0, 0xaf, 0xe2, 0x82, 0x00, 0xfe, 0x7f]);

describe('simulated devices', () => {
  let sim: Simulator;
  let receiver: CallbackReceiver;
  let http: SimHttp;

  beforeEach(async () => {
    receiver = await CallbackReceiver.start();
    sim = await Simulator.start({
      timing: { ipSentMs: 1, smsSentMs: 1, smsDeliveredMs: 1 },
      fleets: [{ uniqueName: 'default', ipCommandsUrl: `${receiver.url}/ip-in`, smsCommandsUrl: `${receiver.url}/sms-in`, smsCommandsMethod: 'GET' }],
      sims: [
        { uniqueName: 'thermostat' },
        { uniqueName: 'meter', api: 'wireless', commandsCallbackUrl: `${receiver.url}/wireless-in` },
      ],
    });
    http = new SimHttp(sim);
  });

  afterEach(async () => {
    await sim.close();
    await receiver.close();
  });

  it('delivers the exact bytes of a binary IP Command over real UDP', async () => {
    const device = sim.sim('thermostat');
    const address = await device.listen(7000);
    assert.equal(address.address, '127.0.0.1');
    assert.ok(address.port > 0);
    const events: { bytes: Buffer; devicePort: number; commandSid: string }[] = [];
    device.on('ip', (bytes, info) => events.push({ bytes, devicePort: info.devicePort, commandSid: info.commandSid }));
    const created = await http.post<IpCommand>(`${sim.supersimUrl}/v1/IpCommands`, { Sim: 'thermostat', Payload: NOT_UTF8.toString('base64'), PayloadType: 'binary', DevicePort: 7000 });
    const item = await device.nextReceived();
    assert.equal(item.channel, 'ip');
    assert.equal(item.devicePort, 7000);
    assert.equal(item.commandSid, created.body.sid);
    assert.deepEqual(item.bytes, NOT_UTF8);
    assert.deepEqual(events, [{ bytes: NOT_UTF8, devicePort: 7000, commandSid: created.body.sid }]);
    assert.equal((await http.get<IpCommand>(created.body.url)).body.status, 'sent');
  });

  it('sends text payloads as their UTF-8 bytes, and loses datagrams for ports nobody listens on', async () => {
    const device = sim.sim('thermostat');
    await device.listen(7000);
    await http.post(`${sim.supersimUrl}/v1/IpCommands`, { Sim: 'thermostat', Payload: 'nobody home', DevicePort: 7001 });
    const created = await http.post<IpCommand>(`${sim.supersimUrl}/v1/IpCommands`, { Sim: 'thermostat', Payload: 'héllo', DevicePort: 7000 });
    const item = await device.nextReceived();
    assert.equal(item.commandSid, created.body.sid);
    assert.deepEqual(item.bytes, Buffer.from('héllo', 'utf8'));
    assert.equal(device.received.length, 1);
    assert.equal(sim.ipCommands().filter((c) => c.status === 'sent').length, 2, 'both were sent; UDP just loses one');
  });

  it('turns a device’s reply into a from_sim IP Command reported to the fleet’s ip_commands_url', async () => {
    const device = sim.sim('thermostat');
    await device.listen(7000);
    const reply = Buffer.concat([Buffer.from('ack:'), NOT_UTF8]);
    device.on('ip', (_bytes, info) => void info.reply(reply));
    await http.post(`${sim.supersimUrl}/v1/IpCommands`, { Sim: 'thermostat', Payload: 'ping', DevicePort: 7000 });
    const callback = await receiver.next();
    assert.equal(callback.path, '/ip-in');
    assert.equal(callback.method, 'POST');
    assert.equal(callback.params.Direction, 'from_sim');
    assert.equal(callback.params.Status, 'received');
    assert.equal(callback.params.PayloadType, 'binary');
    assert.equal(callback.params.SimSid, device.sid);
    assert.deepEqual(Buffer.from(callback.params.Payload, 'base64'), reply);
    const fromSim = sim.ipCommands().find((c) => c.direction === 'from_sim') as IpCommand;
    assert.equal(fromSim.sid, callback.params.CommandSid);
    assert.equal(fromSim.device_port, 7000);
    assert.match(fromSim.device_ip as string, /^100\.64\./);
    assert.equal(sim.stats.created.ip, 1, 'from_sim commands are not API creations');
  });

  it('sendIpCommand() sends a real datagram and resolves with the from_sim command once reported', async () => {
    const device = sim.sim('thermostat');
    await device.listen(7000);
    const first = await device.sendIpCommand(Buffer.from([1, 2, 3]));
    const second = await device.sendIpCommand('two');
    assert.match(first.sid, /^HG[0-9a-f]{32}$/);
    assert.equal(first.status, 'received');
    assert.equal(first.direction, 'from_sim');
    assert.equal(first.payload, Buffer.from([1, 2, 3]).toString('base64'));
    assert.equal(second.payload, Buffer.from('two').toString('base64'));
    assert.equal(receiver.requests.length, 2, 'the callback was attempted before sendIpCommand resolved');
    assert.deepEqual(receiver.requests.map((r) => r.params.CommandSid), [first.sid, second.sid]);
    const listed = await http.get<{ ip_commands: IpCommand[] }>(`${sim.supersimUrl}/v1/IpCommands?Direction=from_sim`);
    assert.deepEqual(listed.body.ip_commands.map((c) => c.sid), [second.sid, first.sid]);
    await assert.rejects(sim.sim('meter').sendIpCommand('x'), /Wireless/);
  });

  it('ignores datagrams that do not come from the carrier', async () => {
    const device = sim.sim('thermostat');
    const { port } = await device.listen(7000);
    const stranger = createSocket('udp4');
    await new Promise<void>((resolve, reject) => stranger.send(Buffer.from('spoof'), port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
    stranger.close();
    await assert.rejects(device.nextReceived(50), /nothing received/);
  });

  it('reports an SMS from a Super SIM to the fleet’s sms_commands_url', async () => {
    const device = sim.sim('thermostat');
    const command = (await device.sendSms('temp=21')) as SmsCommand;
    assert.match(command.sid, /^HC[0-9a-f]{32}$/);
    assert.equal(command.status, 'received');
    assert.equal(command.direction, 'from_sim');
    const callback = await receiver.next();
    assert.equal(callback.method, 'GET');
    assert.equal(callback.path, '/sms-in');
    assert.equal(callback.params.Payload, 'temp=21');
    assert.equal(callback.params.PayloadType, 'text');
    assert.equal(callback.params.Status, 'received');
    assert.equal(callback.params.Direction, 'from_sim');
    assert.equal(callback.params.CommandSid, command.sid);
    assert.deepEqual(sim.smsCommands().map((c) => c.sid), [command.sid]);
    await assert.rejects(device.sendSms(Buffer.from('x')), /text only/);
  });

  it('reports a Command from a Wireless SIM to its commands callback URL', async () => {
    const meter = sim.sim('meter');
    const command = (await meter.sendSms(Buffer.from([0xde, 0xad]))) as WirelessCommand;
    assert.equal(command.command_mode, 'binary');
    const callback = await receiver.next();
    assert.equal(callback.path, '/wireless-in');
    assert.equal(callback.params.Command, Buffer.from([0xde, 0xad]).toString('base64'));
    assert.equal(callback.params.CommandMode, 'binary');
    assert.equal(callback.params.Status, 'received');
    assert.equal(callback.params.SimSid, meter.sid);
  });

  it('refuses commands to a SIM whose status changed, and fails them once it detaches', async () => {
    const device = sim.sim('thermostat');
    device.status = 'inactive';
    assert.equal((await http.post(`${sim.supersimUrl}/v1/SmsCommands`, { Sim: 'thermostat', Payload: 'x' })).status, 400);
    device.status = 'active';
    device.attached = false;
    const created = await http.post<SmsCommand>(`${sim.supersimUrl}/v1/SmsCommands`, { Sim: 'thermostat', Payload: 'x' });
    for (let i = 0; i < 50 && sim.smsCommands()[0].status === 'queued'; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal((await http.get<SmsCommand>(created.body.url)).body.status, 'failed');
  });

  it('rejects pending waits when the simulator closes', async () => {
    const waiting = sim.sim('thermostat').nextReceived(10_000);
    await sim.close();
    await assert.rejects(waiting, /closed/);
  });

  describe('attached, detached, asleep', () => {
    const ipUrl = (): string => `${sim.supersimUrl}/v1/IpCommands`;

    async function settled(sid: string): Promise<IpCommand> {
      for (let i = 0; i < 200; i++) {
        const command = sim.ipCommands().find((c) => c.sid === sid);
        if (command !== undefined && command.status !== 'queued') return command;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      throw new Error(`${sid} stayed queued`);
    }

    function changes(device: SimulatedDevice): string[] {
      const seen: string[] = [];
      const note = (what: string) => (change: AttachmentChange) => seen.push(`${what} ${change.forMs ?? '-'}${change.sleeping ? ' sleeping' : ''}`);
      device.on('attached', note('attached'));
      device.on('detached', note('detached'));
      return seen;
    }

    it('a command sent while detached ends failed with 32001 (callback too); after attach() the next one is sent', async () => {
      const device = sim.sim('thermostat');
      const seen = changes(device);
      device.detach();
      assert.equal(device.attached, false);
      const callbackUrl = `${receiver.url}/status`;
      const lost = await http.post<IpCommand>(ipUrl(), { Sim: 'thermostat', Payload: 'ping', DevicePort: 6655, CallbackUrl: callbackUrl });
      assert.equal(lost.status, 201, 'the create itself succeeds: the API only learns at the send step');
      const failed = await settled(lost.body.sid);
      assert.deepEqual([failed.status, failed.error_code, failed.error_message], ['failed', 32001, 'Device not attached']);
      const callback = await receiver.next();
      assert.deepEqual([callback.params.Status, callback.params.ErrorCode], ['failed', '32001']);

      device.attach();
      assert.equal(device.attached, true);
      const next = await http.post<IpCommand>(ipUrl(), { Sim: 'thermostat', Payload: 'ping', DevicePort: 6655 });
      const sent = await settled(next.body.sid);
      assert.deepEqual([sent.status, sent.error_code], ['sent', null]);
      assert.deepEqual(seen, ['detached -', 'attached -']);
      device.attach();
      assert.deepEqual(seen, ['detached -', 'attached -'], 'no event when nothing changes');
    });

    it('a detached Wireless SIM fails its Commands the same way', async () => {
      sim.sim('meter').detach();
      const created = await http.post<WirelessCommand>(`${sim.wirelessUrl}/v1/Commands`, { Sim: 'meter', Command: 'x' });
      for (let i = 0; i < 200 && sim.wirelessCommands()[0].status === 'queued'; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      const [command] = sim.wirelessCommands();
      assert.deepEqual([command.sid, command.status, command.error_code], [created.body.sid, 'failed', 32001]);
      assert.equal(sim.sim('meter').received.length, 0);
    });

    it('detachFor(ms) re-attaches after ms, by the simulator’s timers (fake clock)', () => {
      const device = sim.sim('thermostat');
      const seen = changes(device);
      const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        device.detachFor(30_000);
        assert.equal(device.attached, false);
        clock.tick(29_999);
        assert.equal(device.attached, false);
        clock.tick(1);
        assert.equal(device.attached, true);
        // A later call replaces the plan: attach() now cancels a pending re-attach, detach() keeps it off.
        device.detachFor(1_000);
        device.detach();
        clock.tick(5_000);
        assert.equal(device.attached, false, 'detach() dropped the planned re-attach');
        assert.throws(() => device.detachFor(-1), /detachFor\(ms\) must be a finite number of ms >= 0/);
        assert.throws(() => device.detachFor(Number.NaN), RangeError);
      } finally {
        clock.restore();
      }
      assert.deepEqual(seen, ['detached 30000', 'attached -', 'detached 1000', 'detached -']);
    });

    it('detachFor(ms) for real: a command in the window fails, one after it is sent', async () => {
      const device = sim.sim('thermostat');
      device.detachFor(150);
      const during = await http.post<IpCommand>(ipUrl(), { Sim: 'thermostat', Payload: 'a', DevicePort: 6655 });
      assert.equal((await settled(during.body.sid)).status, 'failed');
      while (!device.attached) await new Promise((resolve) => setTimeout(resolve, 10));
      const after = await http.post<IpCommand>(ipUrl(), { Sim: 'thermostat', Payload: 'b', DevicePort: 6655 });
      assert.equal((await settled(after.body.sid)).status, 'sent');
    });

    it('sleep() starts asleep, then alternates awake/asleep until wake()', () => {
      const device = sim.sim('thermostat');
      const seen = changes(device);
      const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        device.sleep({ asleepMs: 30_000, awakeMs: 10_000 });
        assert.equal(device.attached, false);
        assert.deepEqual(device.sleepSchedule, { asleepMs: 30_000, awakeMs: 10_000 });
        clock.tick(30_000);
        assert.equal(device.attached, true);
        clock.tick(9_999);
        assert.equal(device.attached, true);
        clock.tick(1);
        assert.equal(device.attached, false);
        clock.tick(30_000);
        assert.equal(device.attached, true);
        device.wake();
        assert.equal(device.sleepSchedule, null);
        clock.tick(1_000_000);
        assert.equal(device.attached, true, 'wake() ended the schedule');
        device.sleep({ asleepMs: 500 });
        assert.deepEqual(device.sleepSchedule, { asleepMs: 500, awakeMs: 500 }, 'awakeMs defaults to asleepMs');
        clock.tick(500);
        assert.equal(device.attached, true);
        assert.throws(() => device.sleep({ asleepMs: 0 }), /sleep\.asleepMs must be a finite number of ms > 0/);
        assert.throws(() => device.sleep({ asleepMs: 10, awakeMs: Infinity }), /sleep\.awakeMs/);
        assert.deepEqual(device.sleepSchedule, { asleepMs: 500, awakeMs: 500 }, 'a bad schedule leaves the current one alone');
      } finally {
        clock.restore();
      }
      assert.deepEqual(seen, [
        'detached 30000 sleeping',
        'attached 10000 sleeping',
        'detached 30000 sleeping',
        'attached 10000 sleeping',
        'attached -',
        'detached 500 sleeping',
        'attached 500 sleeping',
      ]);
    });

    it('the sim option `sleep` starts the schedule; close() ends it', async () => {
      const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        const sleepy = sim.addSim({ uniqueName: 'sleepy', sleep: { asleepMs: 60_000, awakeMs: 5_000 } });
        assert.equal(sleepy.attached, false);
        assert.throws(() => sim.addSim({ uniqueName: 'bad', sleep: { asleepMs: -5 } }), /sleep\.asleepMs/);
        assert.throws(() => sim.sim('bad'), /no simulated SIM bad/, 'a bad schedule adds no SIM');
        clock.tick(60_000);
        assert.equal(sleepy.attached, true);
        const seen = changes(sleepy);
        assert.equal(clock.countTimers(), 1, 'the next change is planned');
        await sim.close();
        assert.equal(clock.countTimers(), 0, 'close() cleared it');
        clock.tick(1_000_000);
        assert.deepEqual(seen, []);
      } finally {
        clock.restore();
      }
    });

    it('setting `attached` is attach()/detach(), and ends a schedule', () => {
      const device = sim.sim('thermostat');
      const seen = changes(device);
      const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        device.sleep({ asleepMs: 1_000 });
        device.attached = true;
        clock.tick(10_000);
        assert.equal(device.attached, true);
        device.attached = false;
        assert.equal(device.attached, false);
      } finally {
        clock.restore();
      }
      assert.deepEqual(seen, ['detached 1000 sleeping', 'attached -', 'detached -']);
    });
  });
});
