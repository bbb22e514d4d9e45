import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { IpCommand, SmsCommand } from '../../src/api/types';
import sinon from 'sinon';
import { CliUsageError, USAGE, main, parseCliArgs, runCli } from '../../src/simulator/cli';
import type { CliOutput, CliRun } from '../../src/simulator/cli';
import { SimHttp } from '../support/sim-http';

function capture(): CliOutput & { logs: string[]; errors: string[] } {
  const logs: string[] = [];
  const errors: string[] = [];
  return { logs, errors, log: (line) => logs.push(line), error: (line) => errors.push(line) };
}

describe('simulator CLI', () => {
  describe('parseCliArgs', () => {
    it('has the documented defaults', () => {
      assert.deepEqual(parseCliArgs([]), {
        port: 1881,
        mode: 'kore',
        devicePort: 6655,
        help: false,
        devices: [
          { uniqueName: 'sim-thermostat', api: 'supersim' },
          { uniqueName: 'sim-tracker', api: 'supersim' },
          { uniqueName: 'sim-meter', api: 'wireless' },
        ],
      });
    });

    it('reads every flag', () => {
      const options = parseCliArgs(['--port', '0', '--mode', 'twilio', '--devices', 'a, b ,wireless:c', '--device-port=7000', '--help']);
      assert.equal(options.port, 0);
      assert.equal(options.mode, 'twilio');
      assert.equal(options.devicePort, 7000);
      assert.equal(options.help, true);
      assert.deepEqual(options.devices.map((d) => `${d.api}:${d.uniqueName}`), ['supersim:a', 'supersim:b', 'wireless:c']);
    });

    it('rejects bad flags with a CliUsageError naming the problem', () => {
      const cases: [string[], RegExp][] = [
        [['--bogus'], /bogus/],
        [['--port'], /port/],
        [['--port', '70000'], /--port must be an integer from 0 to 65535/],
        [['--port', 'abc'], /--port/],
        [['--device-port', '0'], /--device-port must be an integer from 1/],
        [['--mode', 'aws'], /--mode must be kore or twilio/],
        [['--devices', ' , '], /at least one/],
        [['--devices', 'a,a'], /twice/],
        [['stray'], /stray/],
      ];
      for (const [argv, message] of cases) assert.throws(() => parseCliArgs(argv), (error: Error) => error instanceof CliUsageError && message.test(error.message), argv.join(' '));
    });

    it('reads sleepy: devices, alone or with wireless: in either order', () => {
      const { devices } = parseCliArgs(['--devices', 'sleepy:thermostat:30s,sleepy:wireless:meter:90s,wireless:sleepy:tag:2m/500ms, sleepy : spaced : 1h ,plain']);
      assert.deepEqual(devices, [
        { uniqueName: 'thermostat', api: 'supersim', sleep: { asleepMs: 30_000, awakeMs: 30_000 } },
        { uniqueName: 'meter', api: 'wireless', sleep: { asleepMs: 90_000, awakeMs: 90_000 } },
        { uniqueName: 'tag', api: 'wireless', sleep: { asleepMs: 120_000, awakeMs: 500 } },
        { uniqueName: 'spaced', api: 'supersim', sleep: { asleepMs: 3_600_000, awakeMs: 3_600_000 } },
        { uniqueName: 'plain', api: 'supersim' },
      ]);
    });

    it('rejects bad sleepy: durations naming --devices and the accepted forms', () => {
      const forms = /--devices: .*use sleepy:NAME:30s .*sleepy:NAME:2m\/30s .*500ms, 30s, 2m/;
      const cases: [string, RegExp][] = [
        ['sleepy:a:30', /"sleepy:a:30" has an invalid duration "30"/],
        ['sleepy:a:0s', /invalid duration "0s"/],
        ['sleepy:a:1.5s', /invalid duration "1.5s"/],
        ['sleepy:a:30s/', /invalid duration "30s\/"/],
        ['sleepy:a:30s/x', /invalid duration/],
        ['sleepy:a:1s/2s/3s', /invalid duration/],
        ['sleepy:a', /"sleepy:a" needs how long the device sleeps/],
        ['sleepy::30s', /is not a usable SIM name/],
      ];
      for (const [entry, message] of cases) {
        assert.throws(
          () => parseCliArgs(['--devices', entry]),
          (error: Error) => error instanceof CliUsageError && message.test(error.message) && (/usable/.test(error.message) || forms.test(error.message)),
          entry,
        );
      }
      assert.match(USAGE, /sleepy:NAME:30s/);
      assert.match(USAGE, /sleepy:wireless:sim-meter:90s/);
      assert.match(USAGE, /\/simulator\/sims\/sim-thermostat\/detach\?for=30s/);
    });
  });

  describe('runCli', () => {
    let run: CliRun | undefined;
    afterEach(async () => {
      await run?.stop();
      run = undefined;
    });

    it('exits 2 with a clear message on bad flags, and 0 after --help', async () => {
      const out = capture();
      run = await runCli(['--mode', 'aws'], out);
      assert.equal(run.exitCode, 2);
      assert.equal(run.simulator, null);
      assert.match(out.errors.join('\n'), /--mode must be kore or twilio.*\n.*--help/);
      const help = capture();
      run = await runCli(['--help'], help);
      assert.equal(run.exitCode, 0);
      assert.equal(help.logs.join('\n'), USAGE);
      assert.match(USAGE, /Every SIM is in one Fleet, unique name "default"/);
      assert.match(USAGE, /"Point a Fleet at this node" and type default as the Fleet/);
    });

    it('prints the URLs and KORE credentials, and its devices echo what they receive', async () => {
      const out = capture();
      run = await runCli(['--port', '0', '--device-port', '7100'], out);
      assert.equal(run.exitCode, 0);
      const sim = run.simulator!;
      const text = out.logs.join('\n');
      for (const expected of [sim.supersimUrl, sim.wirelessUrl, sim.tokenUrl, 'sim-client-id', 'sim-client-secret', 'sim-webhook-secret', sim.sim('sim-meter').sid]) {
        assert.ok(text.includes(expected), `output names ${expected}`);
      }
      assert.match(text, /sim-thermostat\s+HS[0-9a-f]{32}\s+Super SIM, device port 7100 = udp:\/\/127\.0\.0\.1:\d+/);
      // "Point a Fleet at this node" needs the Fleet's name, which nothing else tells a newcomer.
      assert.match(text, /Fleet \(every SIM above is in it\):\n {2}default {2}HF[0-9a-f]{32}\n/);
      assert.equal(sim.fleet('default').sid, /default {2}(HF[0-9a-f]{32})/.exec(text)?.[1]);
      assert.match(text, /"Point a Fleet at this node" with Fleet default/);

      const http = new SimHttp(sim);
      const created = await http.post<IpCommand>(`${sim.supersimUrl}/v1/IpCommands`, { Sim: 'sim-tracker', Payload: Buffer.from([0, 0xff]).toString('base64'), PayloadType: 'binary', DevicePort: 7100 });
      await http.post<SmsCommand>(`${sim.supersimUrl}/v1/SmsCommands`, { Sim: 'sim-thermostat', Payload: 'status?' });
      for (let i = 0; i < 100 && (sim.ipCommands().length < 2 || sim.smsCommands().length < 2); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      const reply = sim.ipCommands().find((c) => c.direction === 'from_sim');
      assert.ok(reply, 'the device replied by UDP');
      assert.deepEqual(Buffer.from(reply.payload, 'base64'), Buffer.from([0x61, 0x63, 0x6b, 0x3a, 0, 0xff]));
      assert.equal(sim.smsCommands().find((c) => c.direction === 'from_sim')?.payload, 'ack:status?');
      assert.ok(out.logs.some((line) => line.includes(created.body.sid) && line.includes('0x00ff')), 'the datagram was logged');
      assert.deepEqual(out.errors, []);
      await run.stop();
      assert.equal((await fetch(sim.baseUrl).catch((error: Error) => error)) instanceof Error, true, 'stopped listening');
    });

    it('prints the Twilio credentials in twilio mode', async () => {
      const out = capture();
      run = await runCli(['--port', '0', '--mode', 'twilio', '--devices', 'solo'], out);
      const text = out.logs.join('\n');
      assert.ok(text.includes(run.simulator!.credentials.accountSid));
      assert.ok(text.includes('sim-auth-token'));
      assert.ok(!text.includes('Token URL'));
    });

    it('starts sleepy SIMs asleep, says so in the table and logs every sleep and wake', async () => {
      const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        const out = capture();
        run = await runCli(['--port', '0', '--devices', 'sleepy:thermostat:30s,sleepy:wireless:meter:2m/500ms,awake'], out);
        assert.equal(run.exitCode, 0);
        const sim = run.simulator!;
        const text = out.logs.join('\n');
        assert.match(text, /thermostat\s+HS[0-9a-f]{32}\s+Super SIM, device port 6655 = udp:\/\/127\.0\.0\.1:\d+, sleeps 30 s \/ awake 30 s\n/);
        assert.match(text, /meter\s+DE[0-9a-f]{32}\s+Programmable Wireless \(SMS Commands\), sleeps 2 min \/ awake 500 ms\n/);
        assert.match(text, /awake\s+HS[0-9a-f]{32}\s+Super SIM, device port 6655 = udp:\/\/127\.0\.0\.1:\d+\n/);
        assert.ok(text.includes(`${sim.controlUrl}/sims/`), 'it says how to detach a SIM');
        const afterTable = out.logs.slice(out.logs.findIndex((line) => line.startsWith('Press Ctrl+C')) + 1);
        assert.deepEqual(afterTable, ['[thermostat] asleep (detached) for 30 s', '[meter] asleep (detached) for 2 min']);
        assert.deepEqual(sim.devices.map((d) => d.attached), [false, false, true]);
        clock.tick(30_000);
        assert.equal(sim.sim('thermostat').attached, true);
        clock.tick(30_000);
        assert.deepEqual(out.logs.slice(-2), ['[thermostat] awake (attached) for 30 s', '[thermostat] asleep (detached) for 30 s']);
        clock.tick(60_000);
        assert.ok(out.logs.slice(-2).includes('[meter] awake (attached) for 500 ms'), out.logs.slice(-2).join(' | '));
      } finally {
        clock.restore();
      }
    });

    it('logs detach and attach made over the control routes', async () => {
      const out = capture();
      run = await runCli(['--port', '0', '--devices', 'thermostat'], out);
      const base = `${run.simulator!.controlUrl}/sims/thermostat`;
      const detached = await fetch(`${base}/detach?for=90s`, { method: 'POST' });
      assert.deepEqual(await detached.json(), { sim: 'thermostat', sid: run.simulator!.sim('thermostat').sid, attached: false });
      await fetch(`${base}/attach`, { method: 'POST' });
      await fetch(`${base}/detach`, { method: 'POST' });
      assert.deepEqual(out.logs.slice(-3), ['[thermostat] detached for 90 s', '[thermostat] attached', '[thermostat] detached']);
    });

    it('exits 1 when the port is taken', async () => {
      run = await runCli(['--port', '0', '--devices', 'a'], capture());
      const out = capture();
      const second = await runCli(['--port', String(run.simulator!.port), '--devices', 'b'], out);
      assert.equal(second.exitCode, 1);
      assert.match(out.errors.join('\n'), /could not start/);
    });
  });

  describe('main', () => {
    let exit: sinon.SinonStub;
    let signalListenersBefore: { SIGINT: number; SIGTERM: number };

    beforeEach(() => {
      signalListenersBefore = { SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') };
      exit = sinon.stub(process, 'exit');
    });

    afterEach(() => {
      exit.restore();
      process.exitCode = undefined;
    });

    function exited(): Promise<number> {
      return new Promise((resolve) => {
        exit.callsFake(((code?: number) => resolve(code ?? 0)) as never);
      });
    }

    it('honours a SIGTERM that arrives while the simulator is still starting: it starts, stops, then exits 0', async () => {
      const out = capture();
      const exitCode = exited();
      const running = main(['--port', '0', '--devices', 'a'], out);
      process.emit('SIGTERM', 'SIGTERM');
      await running;
      assert.equal(await exitCode, 0);
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out.logs.join('\n'))?.[1];
      assert.ok(url, 'it printed where it listened');
      assert.equal((await fetch(url).catch((error: Error) => error)) instanceof Error, true, 'stopped listening');
      assert.equal(process.listenerCount('SIGTERM'), signalListenersBefore.SIGTERM, 'no SIGTERM listener left behind');
      assert.equal(process.listenerCount('SIGINT'), signalListenersBefore.SIGINT, 'no SIGINT listener left behind');
    });

    it('stops on SIGINT once running, and leaves no signal listener behind', async () => {
      const out = capture();
      const exitCode = exited();
      await main(['--port', '0', '--devices', 'a'], out);
      assert.equal(process.listenerCount('SIGINT'), signalListenersBefore.SIGINT + 1, 'listening for Ctrl+C while running');
      process.emit('SIGINT', 'SIGINT');
      assert.equal(await exitCode, 0);
      assert.equal(process.listenerCount('SIGTERM'), signalListenersBefore.SIGTERM);
      assert.equal(process.listenerCount('SIGINT'), signalListenersBefore.SIGINT);
    });

    it('sets exit code 2 on bad flags and listens for no signal', async () => {
      const out = capture();
      await main(['--port', 'x'], out);
      assert.equal(process.exitCode, 2);
      assert.equal(exit.called, false);
      assert.equal(process.listenerCount('SIGTERM'), signalListenersBefore.SIGTERM);
      assert.equal(process.listenerCount('SIGINT'), signalListenersBefore.SIGINT);
    });
  });

  it('the script stops cleanly and exits 0 on SIGTERM', async function () {
    this.timeout(10_000);
    const script = join(__dirname, '../../src/simulator/cli.ts');
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', script, '--port', '0', '--devices', 'a'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`exited early with ${code}: ${stdout}`));
      child.once('exit', onExit);
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('Press Ctrl+C')) {
          child.off('exit', onExit);
          resolve();
        }
      });
    });
    assert.match(stdout, /listening on http:\/\/127\.0\.0\.1:\d+/);
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exit, 0);
  });
});
