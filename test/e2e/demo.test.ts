/**
 * `npm start`'s demo, on free ports and a temporary user directory: the simulator and a real Node-RED
 * with the packed package installed, and the loop the demo promises, read from the debug messages
 * Node-RED publishes to the editor: a command sent, its status changes through the filter, and the
 * device's answer received by the webhook node. Also the process itself: Ctrl-C stops both, exit 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DebugWatcher, pressInject, resourceOf, textOf } from '../../scripts/compat-support';
import type { DebugMessage } from '../../scripts/compat-support';
import { DEMO_DEVICE_PORT, DEMO_IDS, DEMO_SIMS, DEMO_SLEEP, PROJECT_ROOT, childEnv, startDemo } from '../../scripts/start';
import type { DemoRun } from '../../scripts/start';
import { freePort } from '../support/net';

const ids = DEMO_IDS;

interface ExampleNode {
  id: string;
  type: string;
  name?: string;
  z?: string;
  [key: string]: unknown;
}

function from(id: string): (m: DebugMessage) => boolean {
  return (m) => m.id === id;
}

/** Whether something listens on the port (a bind fails), without sending it anything. */
function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

describe('npm start: the demo', function () {
  this.timeout(120_000);

  let userDir: string;
  let demo: DemoRun;
  let debug: DebugWatcher;
  const lines: string[] = [];

  before(async function () {
    userDir = mkdtempSync(join(tmpdir(), 'supersim-demo-'));
    demo = await startDemo({ port: await freePort(), simulatorPort: await freePort(), userDir, log: (line) => lines.push(line) });
    debug = await DebugWatcher.open(demo.url);
  });

  after(async function () {
    debug?.close();
    await demo?.stop();
    if (userDir) rmSync(userDir, { recursive: true, force: true });
  });

  it('serves the editor with the demo flow, and the package installed from its tarball, not linked', async function () {
    const editor = await fetch(demo.url);
    assert.equal(editor.status, 200);
    assert.match(await editor.text(), /Node-RED/);

    const flows = (await (await fetch(new URL('flows', demo.url))).json()) as { id: string; type: string }[];
    const byId = new Map(flows.map((node) => [node.id, node]));
    for (const id of Object.values(ids)) assert.ok(byId.has(id), `the demo flow has node ${id}`);

    const installed = join(userDir, 'node_modules', 'node-red-contrib-supersim');
    assert.ok(lstatSync(installed).isDirectory() && !lstatSync(installed).isSymbolicLink(), 'a copy from the tarball, as users get it');
    const manifest = JSON.parse(readFileSync(join(userDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    assert.match(manifest.dependencies['node-red-contrib-supersim'], /^file:node-red-contrib-supersim-.*\.tgz$/);

    const nodes = (await (await fetch(new URL('nodes', demo.url), { headers: { accept: 'application/json' } })).json()) as {
      module: string;
      types: string[];
      err?: string;
    }[];
    const ours = nodes.filter((set) => set.module === 'node-red-contrib-supersim');
    assert.deepEqual(ours.filter((set) => set.err).map((set) => set.err), []);
    assert.deepEqual(
      ours.flatMap((set) => set.types).sort(),
      ['supersim-account', 'supersim-command-in', 'supersim-command-lookup', 'supersim-ip-command', 'supersim-sims', 'supersim-sms-command', 'supersim-status-filter'],
    );
  });

  it('names the inject nodes for what they send, unlike the palette\'s nodes, and catches errors into a readable line', async function () {
    const flows = (await (await fetch(new URL('flows', demo.url))).json()) as { id: string; type: string; name?: string; wires?: string[][]; [key: string]: unknown }[];
    const byId = new Map(flows.map((node) => [node.id, node]));
    const paletteNames = ['IP Command', 'SMS Command', 'SMS / Wireless Command', 'Wireless Command', 'command in', 'status filter'];
    const injects = flows.filter((node) => node.type === 'inject').map((node) => String(node.name));
    assert.equal(injects.length, 4);
    for (const name of injects) assert.ok(!paletteNames.some((palette) => name.toLowerCase() === palette.toLowerCase()), `inject "${name}" is named like a palette node`);

    const catchNode = byId.get(ids.catchErrors);
    assert.equal(catchNode?.type, 'catch');
    assert.equal(catchNode?.scope ?? null, null, 'it catches the errors of every node on the tab');
    assert.deepEqual(catchNode?.wires, [[ids.debugErrors]]);
    const shown = byId.get(ids.debugErrors);
    assert.deepEqual([shown?.type, shown?.targetType, shown?.complete], ['debug', 'msg', 'error.message']);
  });

  it('IP Command: created, sent (through the status filter), and the device answers ack:<payload> to the webhook node', async function () {
    await pressInject(demo.url, ids.injectIp);
    const created = resourceOf(await debug.waitFor((m) => from(ids.debugCreated)(m) && resourceOf(m).payload === 'set temperature 21', 'of the created IP Command'));
    assert.match(created.sid ?? '', /^HG[0-9a-f]{32}$/);
    assert.equal(created.status, 'queued');
    // The sidebar's line starts with the status, readable without expanding the object.
    assert.deepEqual(Object.keys(created), ['status', 'sid', 'payload']);

    const answer = await debug.waitFor((m) => from(ids.debugFromDevices)(m) && m.topic === DEMO_SIMS.thermostat, `from ${DEMO_SIMS.thermostat}`);
    assert.equal(textOf(answer), 'ack:set temperature 21');

    const sent = await debug.waitFor((m) => from(ids.debugStatus)(m) && resourceOf(m).sid === created.sid, `of ${created.sid}'s status`);
    assert.equal(resourceOf(sent).status, 'sent');
  });

  it("IP Command with waitAnswer: the thermostat's answer leaves output 3 tied to its command (msg.request.sid)", async function () {
    const flows = (await (await fetch(new URL('flows', demo.url))).json()) as { id: string; wires?: string[][]; waitAnswer?: boolean; outputs?: number }[];
    const sendIp = flows.find((node) => node.id === ids.sendIp);
    assert.deepEqual([sendIp?.waitAnswer, sendIp?.outputs, sendIp?.wires?.[2]], [true, 3, [ids.answerAsText]]);

    const earlier = new Set(debug.messages);
    await pressInject(demo.url, ids.injectIp);
    const created = resourceOf(await debug.waitFor((m) => !earlier.has(m) && from(ids.debugCreated)(m) && resourceOf(m).payload === 'set temperature 21', 'of the created IP Command'));
    const answer = await debug.waitFor((m) => from(ids.debugAnswer)(m) && resourceOf(m).command === created.sid, `of the answer to ${created.sid}`);
    // Shown as text, then the command it answers: the sidebar ties the two without expanding anything.
    assert.deepEqual(answer.value, { answer: 'ack:set temperature 21', command: created.sid, sent: 'set temperature 21' });
    assert.match(created.sid ?? '', /^HG[0-9a-f]{32}$/);
  });

  it('SMS Command: sent then delivered, each status once, and the device answers by SMS', async function () {
    await pressInject(demo.url, ids.injectSms);
    const created = resourceOf(await debug.waitFor((m) => from(ids.debugCreated)(m) && resourceOf(m).payload === 'where are you?', 'of the created SMS Command'));
    assert.match(created.sid ?? '', /^HC[0-9a-f]{32}$/);

    const answer = await debug.waitFor((m) => from(ids.debugFromDevices)(m) && textOf(m) === 'ack:where are you?', `from ${DEMO_SIMS.tracker}`);
    assert.equal(answer.topic, DEMO_SIMS.tracker);

    await debug.waitFor((m) => from(ids.debugStatus)(m) && resourceOf(m).sid === created.sid && resourceOf(m).status === 'delivered', 'delivered');
    // Give a late duplicate the time to show up: the filter must have dropped it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const statuses = debug.messages.filter((m) => from(ids.debugStatus)(m) && resourceOf(m).sid === created.sid).map((m) => resourceOf(m).status);
    assert.deepEqual(statuses, ['sent', 'delivered']);
  });

  it('binary IP Command and Programmable Wireless Command: both devices answer', async function () {
    await pressInject(demo.url, ids.injectIpBinary);
    await pressInject(demo.url, ids.injectWireless);
    const binary = await debug.waitFor((m) => from(ids.debugFromDevices)(m) && m.topic === DEMO_SIMS.tracker && Buffer.isBuffer(m.value), `of binary data from ${DEMO_SIMS.tracker}`);
    assert.deepEqual(binary.value, Buffer.from([...Buffer.from('ack:'), 1, 2, 3, 4]));
    const wireless = await debug.waitFor((m) => from(ids.debugFromDevices)(m) && m.topic === DEMO_SIMS.meter, `from ${DEMO_SIMS.meter}`);
    assert.equal(textOf(wireless), 'ack:read meter');
    const created = resourceOf(await debug.waitFor((m) => from(ids.debugCreated)(m) && resourceOf(m).command === 'read meter', 'of the Wireless Command'));
    assert.match(created.sid ?? '', /^DC[0-9a-f]{32}$/);
    // A Wireless Command's status is far down its resource: the demo's debug nodes show it first.
    assert.deepEqual(Object.keys(created), ['status', 'sid', 'command']);
    const delivered = await debug.waitFor((m) => from(ids.debugStatus)(m) && resourceOf(m).sid === created.sid && resourceOf(m).status === 'delivered', 'delivered');
    assert.deepEqual(Object.keys(resourceOf(delivered)), ['status', 'sid', 'command']);
  });

  it(`has ${DEMO_SIMS.sleeper}, a device that sleeps and wakes by turns, for the example "Wake a sleeping device"`, function () {
    const sleeper = demo.simulator.sim(DEMO_SIMS.sleeper);
    assert.deepEqual(sleeper.sleepSchedule, DEMO_SLEEP);
    assert.equal(sleeper.api, 'supersim');
  });

  it('example 05, filled in as its first comment says, keeps trying sim-sleeper until it wakes (the real 30 s backoff)', async function () {
    this.timeout(90_000);
    const example = JSON.parse(readFileSync(join(PROJECT_ROOT, 'examples', '05 Wake a sleeping device.json'), 'utf8')) as ExampleNode[];
    const send = example.find((node) => node.type === 'supersim-ip-command') as ExampleNode;
    const first = example.filter((node) => node.type === 'comment').sort((a, b) => Number(a.y) - Number(b.y))[0];
    // What the comment asks: the demo's account, the SIM sim-sleeper, device port 6655.
    assert.match(String(first.name), /account Simulator \(KORE\), SIM sim-sleeper/);
    assert.equal(send.devicePort, String(DEMO_DEVICE_PORT));
    Object.assign(send, { account: ids.account, sim: DEMO_SIMS.sleeper });
    const tab = example.find((node) => node.type === 'tab') as ExampleNode;
    const nodes = example.filter((node) => node.z === tab.id);
    const added = await fetch(new URL('flow', demo.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ label: tab.label, nodes }),
    });
    assert.equal(added.status, 200, await added.text());
    const attempts = example.find((node) => node.type === 'debug' && node.name === 'attempts') as ExampleNode;
    const errors = example.find((node) => node.type === 'debug' && node.name === 'error message') as ExampleNode;

    // Asleep for the first attempt, awake well before the second (about 30 s later).
    demo.simulator.sim(DEMO_SIMS.sleeper).detachFor(5_000);
    const inject = (example.find((node) => node.type === 'inject') as ExampleNode).id;
    // The added flow starts a moment after the answer: its inject node is found once it runs.
    for (let tries = 0; ; tries++) {
      try {
        await pressInject(demo.url, inject);
        break;
      } catch (err) {
        if (tries >= 50 || !/HTTP 404/.test((err as Error).message)) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const sent = await debug.waitFor((m) => m.id === attempts.id && resourceOf(m).status === 'sent', 'of an attempt sent', 60_000);
    const shown = debug.messages.filter((m) => m.id === attempts.id).map((m) => `${String(resourceOf(m).attempt)}:${String(resourceOf(m).status)}`);
    assert.deepEqual(shown, ['1:failed', '2:sent']);
    assert.equal(resourceOf(sent).attempt, 2);
    assert.deepEqual(debug.messages.filter((m) => m.id === errors.id), []);
    const creates = demo.simulator.ipCommands().filter((c) => c.direction === 'to_sim' && c.sim_sid === demo.simulator.sim(DEMO_SIMS.sleeper).sid);
    assert.deepEqual(creates.map((c) => c.status), ['failed', 'sent']);
  });

  it('deploys the Device control panel (Dashboard 2) as a second tab, served at /dashboard, and says where', async function () {
    assert.ok(demo.dashboardUrl, 'Dashboard 2 is a devDependency, so the demo has its dashboard');
    const flows = (await (await fetch(new URL('flows', demo.url))).json()) as { id: string; type: string; label?: string; z?: string; account?: string }[];
    const tabs = flows.filter((node) => node.type === 'tab');
    // (A test above added an example's tab after them.)
    assert.deepEqual(tabs.slice(0, 2).map((tab) => tab.label), ['Super SIM demo', 'Device control panel'], 'the demo first, so the editor opens on it');
    const panel = tabs[1];
    const send = flows.find((node) => node.z === panel.id && node.type === 'supersim-ip-command');
    assert.equal(send?.account, ids.account, "on the demo's own account");
    assert.ok(flows.filter((node) => node.type.startsWith('ui-')).every((node) => node.z === panel.id), "Dashboard 2's nodes are on the panel's tab");
    const page = await fetch(demo.dashboardUrl);
    assert.equal(page.status, 200);
    assert.ok(lines.some((line) => line.includes(demo.dashboardUrl as string)), 'the terminal says where the dashboard is');
  });

  it('logs what the devices received, for the terminal', function () {
    assert.ok(lines.some((line) => line.includes(`${DEMO_SIMS.thermostat} got IP Command`)), lines.join('\n'));
    assert.ok(lines.some((line) => line.includes('[node-red]') && line.includes('Started flows')));
  });

  it('stop() ends Node-RED (exit 0) and the simulator, freeing both ports', async function () {
    await demo.stop();
    assert.equal(await demo.nodeRed.exited, 0);
    assert.equal(await portInUse(demo.nodeRed.port), false);
    assert.equal(await portInUse(demo.simulator.port), false);
  });
});

describe('npm start: the process', function () {
  this.timeout(120_000);

  it('prints the URL and what to click; Ctrl-C stops Node-RED and the simulator and exits 0', async function () {
    const userDir = mkdtempSync(join(tmpdir(), 'supersim-demo-cli-'));
    const port = await freePort();
    const simulatorPort = await freePort();
    // Its own process group, so that the signal reaches every process in it as a terminal's Ctrl-C does.
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', join('scripts', 'start.ts'), '--port', String(port), '--simulator-port', String(simulatorPort), '--user-dir', userDir], {
      cwd: PROJECT_ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv(),
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      const deadline = Date.now() + 90_000;
      while (!output.includes('Press Ctrl-C')) {
        if (child.exitCode !== null) assert.fail(`npm start's script exited early:\n${output}`);
        if (Date.now() > deadline) assert.fail(`no instructions within 90 s:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(output.includes(`http://127.0.0.1:${port}/`), output);
      assert.match(output, /click the square button on the left of an inject node/);
      assert.match(output, /Fleet "default"/, 'names the Fleet that "Point a Fleet at this node" needs');
      assert.match(output, /choose the account\n"Simulator \(KORE\)"/, 'says which account the examples take');
      assert.match(output, /sim-sleeper sleeps 30 s and wakes 30 s .*"Wake a sleeping device"/, 'says which SIM the sleeping example takes');
      assert.equal(await portInUse(port), true);
      assert.equal(await portInUse(simulatorPort), true);

      process.kill(-(child.pid as number), 'SIGINT');
      assert.deepEqual(await exited, { code: 0, signal: null }, output);
      assert.equal(await portInUse(port), false, 'Node-RED has stopped');
      assert.equal(await portInUse(simulatorPort), false, 'the simulator has stopped');
      assert.match(output, /Stopped flows/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-(child.pid as number), 'SIGKILL');
      rmSync(userDir, { recursive: true, force: true });
    }
  });
});
