/**
 * Every flow in examples/ (what Import > Examples offers) in a real Node-RED against the simulator:
 * it deploys with no unknown node types once filled in as its comment asks (the account pointed at
 * the simulator, the simulator's SIM names), and its main path works. The dashboard example lives in
 * extras/, out of the Examples menu (without Dashboard 2 its deploy would stop every flow); it runs with
 * @flowfuse/node-red-dashboard installed from the npm registry by this test, as its comment tells users.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DebugWatcher, pressInject, resourceOf, textOf } from '../../scripts/compat-support';
import type { DebugMessage } from '../../scripts/compat-support';
import { childEnv, DEMO_FLEET, DEMO_IDS, DEMO_SIMS } from '../../scripts/start';
import { Simulator, generateSims } from '../../src/simulator';
import type { SimulatedDevice } from '../../src/simulator';
import { deployFlows, startNodeRed, webSocketClass } from '../support/node-red-process';
import { SimHttp } from '../support/sim-http';
import type { NodeRedInstance } from '../support/node-red-process';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
/** Shipped in the package but not listed by Node-RED's Examples menu, which shows examples/ only. */
const EXTRAS = join(__dirname, '..', '..', 'extras');
const DASHBOARD_EXAMPLE = 'Device control panel (Dashboard 2).json';
/** What the demo of `npm start` offers, which the examples' first comments point at. */
const DEMO_ACCOUNT = 'Simulator (KORE)';
const DASHBOARD = '@flowfuse/node-red-dashboard@1';
/** The SIM names the examples ask users to replace; the simulator has SIMs of those names. */
const SIM = 'my-device';
const WIRELESS_SIM = 'my-wireless-device';
/** The Fleet example 06 asks users to replace, with a few SIMs of its own. */
const FLEET = 'my-fleet';
const FLEET_SIMS = generateSims({ count: 4, prefix: 'fleet-sim-', fleet: FLEET });
const DEVICE_PORT = 6655;
/** What example 4 asks users to replace with their public URL. */
const PLACEHOLDER_BASE = 'https://nodered.example.com';
/**
 * Keeping trying waits about 30 s after a failed attempt; settings.js shortens it here. The second
 * wait (0.8 s at least) leaves a test the time to attach the SIM before the third attempt.
 */
const KEEP_TRYING = { firstRetryMs: 500, maxRetryMs: 1_000 };

interface FlowNode {
  id: string;
  type: string;
  name?: string;
  z?: string;
  wires?: string[][];
  [key: string]: unknown;
}

function exampleFiles(): string[] {
  return readdirSync(EXAMPLES)
    .filter((name) => name.endsWith('.json'))
    .sort();
}

function load(file: string): FlowNode[] {
  return JSON.parse(readFileSync(join(file === DASHBOARD_EXAMPLE ? EXTRAS : EXAMPLES, file), 'utf8')) as FlowNode[];
}

/** The menu's five and the dashboard one. */
function allExampleFiles(): string[] {
  return [...exampleFiles(), DASHBOARD_EXAMPLE];
}

function byName(flow: FlowNode[], type: string, name: string): FlowNode {
  const node = flow.find((n) => n.type === type && n.name === name);
  if (!node) throw new Error(`no ${type} named "${name}" in the example`);
  return node;
}

/** The status text a node shows under itself now: Node-RED keeps each node's last status for new editors. */
function statusTextOf(adminUrl: string, nodeId: string, timeoutMs = 5_000): Promise<string> {
  const WebSocket = webSocketClass();
  const url = new URL('comms', adminUrl);
  url.protocol = 'ws:';
  const socket = new WebSocket(url.toString());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no status of ${nodeId} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', reject);
    socket.on('open', () => socket.send(JSON.stringify({ subscribe: `status/${nodeId}` })));
    socket.on('message', (data) => {
      const events = [JSON.parse(String(data)) as unknown].flat() as { topic?: string; data?: { text?: unknown } }[];
      const status = events.find((event) => event.topic === `status/${nodeId}`);
      if (status === undefined) return;
      clearTimeout(timer);
      socket.close();
      resolve(String(status.data?.text ?? ''));
    });
  });
}

function execNpm(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('npm', args, { cwd, env: childEnv(), maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => (error ? reject(new Error(`npm ${args.join(' ')}: ${error.message}\n${stderr}`)) : resolve()));
  });
}

describe('examples', function () {
  // Installing the dashboard takes a while on a cold npm cache.
  this.timeout(300_000);

  let simulator: Simulator;
  let nodeRed: NodeRedInstance;
  let debug: DebugWatcher;
  let modulesDir: string;
  let device: SimulatedDevice;
  let wirelessDevice: SimulatedDevice;

  before(async function () {
    modulesDir = mkdtempSync(join(tmpdir(), 'supersim-examples-modules-'));
    writeFileSync(join(modulesDir, 'package.json'), JSON.stringify({ name: 'examples-test-modules', private: true }));
    await execNpm(['install', '--prefix', modulesDir, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', '--loglevel=error', DASHBOARD], modulesDir);

    simulator = await Simulator.start({ mode: 'kore', fleets: [{ uniqueName: FLEET }], sims: [{ uniqueName: SIM }, { uniqueName: WIRELESS_SIM, api: 'wireless' }, ...FLEET_SIMS] });
    for (const fleetSim of FLEET_SIMS) await simulator.sim(fleetSim.uniqueName).listen(DEVICE_PORT);
    device = simulator.sim(SIM);
    wirelessDevice = simulator.sim(WIRELESS_SIM);
    await device.listen(DEVICE_PORT);
    nodeRed = await startNodeRed({
      extraModules: [join(modulesDir, 'node_modules', '@flowfuse', 'node-red-dashboard')],
      settings: { supersim: { keepTrying: KEEP_TRYING } },
    });
    debug = await DebugWatcher.open(nodeRed.adminUrl);
  });

  after(async function () {
    debug?.close();
    await nodeRed?.stop();
    await simulator?.close();
    if (modulesDir) rmSync(modulesDir, { recursive: true, force: true });
  });

  /** The example on its own tab, filled in as its comment asks; deployed; resolves with the flow as deployed. */
  async function deployExample(file: string, adjust: (flow: FlowNode[]) => void = () => undefined): Promise<FlowNode[]> {
    const flow = load(file);
    for (const node of flow) {
      if (node.type === 'supersim-account') {
        Object.assign(node, {
          supersimUrl: simulator.supersimUrl,
          wirelessUrl: simulator.wirelessUrl,
          tokenUrl: simulator.tokenUrl,
          callbackBaseUrl: nodeRed.url,
        });
      }
      if (typeof node.callbackUrl === 'string' && node.callbackUrl.startsWith(PLACEHOLDER_BASE)) {
        node.callbackUrl = nodeRed.url + node.callbackUrl.slice(PLACEHOLDER_BASE.length);
      }
    }
    adjust(flow);
    const account = flow.find((node) => node.type === 'supersim-account') as FlowNode;
    const { credentials: c } = simulator;
    await deployFlows(nodeRed, flow, { [account.id]: { clientId: c.clientId, clientSecret: c.clientSecret, webhookSecret: c.webhookSecret } });
    return flow;
  }

  /** "Point a Fleet at this node" of a command-in node, as the example's comment tells users to do. */
  async function pointFleetAt(flow: FlowNode[], commandIn: FlowNode): Promise<void> {
    const account = flow.find((node) => node.type === 'supersim-account') as FlowNode;
    const response = await fetch(new URL('supersim-command-in/fleet', nodeRed.adminUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ account: account.id, fleet: 'default', url: commandIn.url, ip: true, sms: true, method: 'POST' }),
    });
    assert.equal(response.status, 200, await response.text());
    assert.equal(simulator.fleet().ip_commands_url, `${nodeRed.url}${String(commandIn.url)}`);
  }

  const from =
    (node: FlowNode) =>
    (m: DebugMessage): boolean =>
      m.id === node.id;

  it('are seven flows in the Examples menu and the dashboard one outside it, each with the account node left without credentials', function () {
    assert.deepEqual(exampleFiles(), [
      '01 Send an IP Command.json',
      '02 Send an SMS Command and a binary Wireless Command.json',
      '03 Receive commands from devices.json',
      '04 Track delivery with command-in and the status filter.json',
      '05 Wake a sleeping device.json',
      '06 Send to a whole Fleet.json',
      '07 Look up commands.json',
    ]);
    const files = allExampleFiles();
    for (const file of files) {
      const flow = load(file);
      const accounts = flow.filter((node) => node.type === 'supersim-account');
      assert.equal(accounts.length, 1, `${file}: one account node`);
      assert.equal(accounts[0].credentials, undefined, `${file}: no credentials in the example`);
      for (const field of ['supersimUrl', 'wirelessUrl', 'tokenUrl', 'callbackBaseUrl']) assert.equal(accounts[0][field], '', `${file}: ${field} blank (the provider's default)`);
      assert.doesNotMatch(JSON.stringify(flow), /sim-client-secret|sim-webhook-secret|sim-auth-token/, `${file}: no secrets`);
      const comments = flow.filter((node) => node.type === 'comment');
      assert.ok(comments.some((node) => /fill in|install/i.test(String(node.name)) && /credential/i.test(String(node.info))), `${file}: a comment says what to fill in`);
      // Every wire leads to a node of the example.
      const ids = new Set(flow.map((node) => node.id));
      for (const node of flow) for (const target of (node.wires ?? []).flat()) assert.ok(ids.has(target), `${file}: ${node.id} is wired to ${target}, which is missing`);
    }
  });

  it('each imports into a tab of its own with a telling name, with ids no other example or the demo uses', function () {
    const seen = new Map<string, string>(Object.values(DEMO_IDS).map((id) => [id, 'the demo']));
    const labels = new Set<string>();
    for (const file of allExampleFiles()) {
      const flow = load(file);
      const tabs = flow.filter((node) => node.type === 'tab');
      assert.equal(tabs.length, 1, `${file}: one tab`);
      const label = String(tabs[0].label ?? '');
      assert.doesNotMatch(label, /^(Flow \d+)?$/, `${file}: the tab is named`);
      assert.match(label, /example/i, `${file}: the tab says it is an example`);
      assert.ok(!labels.has(label), `${file}: tab label ${label} is another example's`);
      labels.add(label);
      // Flow nodes (those with wires) are on that tab; config nodes are global.
      for (const node of flow) if (node.wires !== undefined) assert.equal(node.z, tabs[0].id, `${file}: ${node.id} is on the example's tab`);
      // Any id already in the workspace makes Node-RED ask "import copy or replace?", which a newcomer cannot answer.
      for (const node of flow) {
        assert.ok(!seen.has(node.id), `${file}: id ${node.id} is also in ${seen.get(node.id)}`);
        seen.set(node.id, file);
      }
    }
  });

  it('each says in its first comment how to try it on the simulator of npm start: which account, which SIM or Fleet', function () {
    const simNames = [...Object.values(DEMO_SIMS), DEMO_FLEET.name];
    for (const file of allExampleFiles()) {
      const flow = load(file);
      // First as a user reads the tab: top to bottom.
      const [first] = flow.filter((node) => node.type === 'comment').sort((a, b) => Number(a.y) - Number(b.y));
      assert.ok(first, `${file}: has a comment`);
      const text = `${String(first.name)}\n${String(first.info)}`;
      assert.match(text, /simulator/i, `${file}: first comment mentions the simulator`);
      assert.match(String(first.info), /`npm start`/, `${file}: says to run npm start`);
      assert.ok(text.includes(DEMO_ACCOUNT), `${file}: names the demo's account ${DEMO_ACCOUNT}`);
      assert.ok(simNames.some((sim) => text.includes(sim)), `${file}: names a SIM or the Fleet of the demo (${simNames.join(', ')})`);
    }
    // Scoped to the example's tab, Dashboard's config nodes go when the tab is deleted, instead of staying
    // behind as unknown types that keep every flow stopped.
    const tab = load(DASHBOARD_EXAMPLE).find((node) => node.type === 'tab') as FlowNode;
    const dashboardConfig = load(DASHBOARD_EXAMPLE).filter((node) => node.type.startsWith('ui-') && node.wires === undefined);
    assert.equal(dashboardConfig.length, 5);
    for (const node of dashboardConfig) assert.equal(node.z, tab.id, `${node.type} ${node.id} is on the example's tab`);
    const dashboard = load(DASHBOARD_EXAMPLE).filter((node) => node.type === 'comment').sort((a, b) => Number(a.y) - Number(b.y))[0];
    assert.match(String(dashboard.name), /Install Dashboard 2 .*BEFORE/, 'the dashboard example says to install Dashboard 2 first, in its name');
    assert.match(String(dashboard.info), /@flowfuse\/node-red-dashboard/);
  });

  it('their Catch nodes show the error message in the Debug sidebar, not a collapsed message', function () {
    let catches = 0;
    for (const file of allExampleFiles()) {
      const flow = load(file);
      for (const node of flow.filter((n) => n.type === 'catch')) {
        catches++;
        for (const target of (node.wires ?? []).flat()) {
          const shown = flow.find((n) => n.id === target) as FlowNode;
          assert.equal(shown.type, 'debug', `${file}: the catch leads to a debug node`);
          assert.deepEqual([shown.targetType, shown.complete], ['msg', 'error.message'], `${file}: ${shown.id} shows msg.error.message`);
        }
      }
    }
    assert.ok(catches >= 3, 'examples 01, 02 and 05 catch errors');
  });

  it('every node type the examples use is known to a Node-RED with this package (and Dashboard 2)', async function () {
    const response = await fetch(new URL('nodes', nodeRed.adminUrl), { headers: { accept: 'application/json' } });
    const known = new Set(((await response.json()) as { types: string[]; enabled: boolean }[]).filter((set) => set.enabled).flatMap((set) => set.types));
    for (const file of allExampleFiles()) {
      const unknown = [...new Set(load(file).map((node) => node.type))].filter((type) => type !== 'tab' && !known.has(type));
      assert.deepEqual(unknown, [], `${file} uses unknown node types`);
    }
  });

  it('01 Send an IP Command: text, JSON and binary reach the device; the created command comes out', async function () {
    const flow = await deployExample('01 Send an IP Command.json');
    const created = byName(flow, 'debug', 'IP Command created');
    await pressInject(nodeRed.adminUrl, byName(flow, 'inject', 'text').id);
    const resource = resourceOf(await debug.waitFor((m) => from(created)(m) && resourceOf(m).payload === 'hello device', 'of the created IP Command'));
    assert.match(resource.sid ?? '', /^HG/);
    assert.equal(resource.status, 'queued');
    await pressInject(nodeRed.adminUrl, byName(flow, 'inject', 'JSON').id);
    await pressInject(nodeRed.adminUrl, byName(flow, 'inject', 'binary (4 bytes)').id);
    const got = [await device.nextReceived(5_000), await device.nextReceived(5_000), await device.nextReceived(5_000)];
    assert.deepEqual(
      got.map((item) => item.bytes.toString('hex')),
      [Buffer.from('hello device'), Buffer.from('{"led":"on","level":3}'), Buffer.from([1, 2, 3, 4])].map((b) => b.toString('hex')),
    );
  });

  it('01 Send an IP Command: an error reaches the Debug sidebar as its message, a line of text', async function () {
    const flow = await deployExample('01 Send an IP Command.json', (nodes) => {
      byName(nodes, 'supersim-ip-command', 'send to my-device').devicePort = '';
    });
    await pressInject(nodeRed.adminUrl, byName(flow, 'inject', 'text').id);
    const shown = await debug.waitFor((m) => from(byName(flow, 'debug', 'error message'))(m), 'of the error');
    assert.equal(typeof shown.value, 'string', `shown as text, not an object: ${JSON.stringify(shown.value)}`);
    assert.match(String(shown.value), /port/i);
  });

  it('02 Send an SMS Command and a binary Wireless Command: the SMS and the 5 bytes arrive', async function () {
    const flow = await deployExample('02 Send an SMS Command and a binary Wireless Command.json');
    await pressInject(nodeRed.adminUrl, byName(flow, 'inject', 'text').id);
    const sms = await device.nextReceived(5_000);
    assert.equal(sms.channel, 'sms');
    assert.equal(sms.text, 'where are you?');
    await pressInject(nodeRed.adminUrl, byName(flow, 'inject', 'binary (5 bytes)').id);
    const command = await wirelessDevice.nextReceived(5_000);
    assert.equal(command.channel, 'wireless');
    assert.deepEqual(command.bytes, Buffer.from([2, 0, 255, 16, 1]));
    const created = resourceOf(await debug.waitFor((m) => from(byName(flow, 'debug', 'Wireless Command created'))(m), 'of the Wireless Command'));
    assert.equal(created.command_mode, 'binary');
  });

  it('03 Receive commands from devices: a datagram and an SMS from the device come out of output 1', async function () {
    const flow = await deployExample('03 Receive commands from devices.json');
    await pointFleetAt(flow, byName(flow, 'supersim-command-in', 'from devices'));
    const sent = byName(flow, 'debug', 'device sent');
    await device.sendIpCommand('temperature=21.5', DEVICE_PORT);
    const datagram = await debug.waitFor((m) => from(sent)(m) && textOf(m) === 'temperature=21.5', 'of the datagram');
    assert.equal(datagram.topic, SIM);
    await device.sendSms('battery low');
    await debug.waitFor((m) => from(sent)(m) && textOf(m) === 'battery low', 'of the SMS');
  });

  it('04 Track delivery with command-in and the status filter: each change once, and the outcome', async function () {
    const flow = await deployExample('04 Track delivery with command-in and the status filter.json');
    const every = byName(flow, 'debug', 'status change');
    const outcome = byName(flow, 'debug', 'delivered or failed');
    await pressInject(nodeRed.adminUrl, byName(flow, 'inject', 'SMS Command').id);
    const created = resourceOf(await debug.waitFor((m) => from(byName(flow, 'debug', 'command created'))(m) && resourceOf(m).payload === 'status?', 'of the created SMS Command'));
    const sid = created.sid as string;
    const commandOf = (m: DebugMessage): { sid?: string; status?: string } => (resourceOf(m).command ?? {}) as { sid?: string; status?: string };
    await debug.waitFor((m) => from(outcome)(m) && commandOf(m).sid === sid, 'of the outcome');
    await debug.waitFor((m) => from(every)(m) && commandOf(m).sid === sid && commandOf(m).status === 'delivered', 'delivered');
    assert.deepEqual(
      debug.messages.filter((m) => from(every)(m) && commandOf(m).sid === sid).map((m) => commandOf(m).status),
      ['sent', 'delivered'],
    );
    assert.deepEqual(
      debug.messages.filter((m) => from(outcome)(m) && commandOf(m).sid === sid).map((m) => commandOf(m).status),
      ['delivered'],
    );
  });

  describe('05 Wake a sleeping device', function () {
    type Attempt = { attempt?: number; status?: string; error_code?: number | string | null; sid?: string };
    const attemptOf = (m: DebugMessage): Attempt => resourceOf(m) as Attempt;
    const createsOf = (payload: string): number => simulator.ipCommands().filter((c) => c.direction === 'to_sim' && c.sim_sid === device.sid && c.payload === payload).length;

    afterEach(function () {
      device.attach();
    });

    it('keeps trying while the SIM is detached: every attempt on output 2, the last one sent, one create each, no Catch error', async function () {
      const flow = await deployExample('05 Wake a sleeping device.json', (nodes) => {
        byName(nodes, 'inject', 'wake up').payload = 'wake up (detached, then attached)';
      });
      const payload = 'wake up (detached, then attached)';
      const attempts = from(byName(flow, 'debug', 'attempts'));
      const created = from(byName(flow, 'debug', 'command created'));
      const errors = from(byName(flow, 'debug', 'error message'));
      device.detach();
      await pressInject(nodeRed.adminUrl, byName(flow, 'inject', 'wake up').id);
      await debug.waitFor((m) => attempts(m) && attemptOf(m).attempt === 2 && attemptOf(m).status === 'failed', 'of attempt 2 failed');
      device.attach();
      const sent = await debug.waitFor((m) => attempts(m) && attemptOf(m).status === 'sent', 'of an attempt sent');
      // A late status or a duplicate attempt would show up in this time.
      await new Promise((resolve) => setTimeout(resolve, 1_500));

      const shown = debug.messages.filter(attempts).map(attemptOf);
      const last = attemptOf(sent).attempt as number;
      assert.ok(last >= 3, `at least two failed attempts before the one sent: ${JSON.stringify(shown)}`);
      assert.deepEqual(
        shown.map((a) => `${a.attempt}:${a.status}`),
        [...Array.from({ length: last - 1 }, (_, i) => `${i + 1}:failed`), `${last}:sent`],
      );
      for (const failed of shown.filter((a) => a.status === 'failed')) assert.equal(String(failed.error_code), '32001', 'the API\'s code for a SIM not attached');
      assert.equal(new Set(shown.map((a) => a.sid)).size, last, 'each attempt is a command of its own');
      assert.equal(createsOf(payload), last, 'one create per attempt');
      const announced = debug.messages.filter((m) => created(m) && resourceOf(m).payload === payload);
      assert.equal(announced.length, 1, 'output 1 once');
      assert.equal(resourceOf(announced[0]).sid, shown[0].sid, 'output 1 is the first attempt');
      assert.deepEqual(debug.messages.filter(errors).map((m) => m.value), [], 'no Catch error');
      // What the user reads under "attempts" without opening the sidebar.
      assert.equal(await statusTextOf(nodeRed.adminUrl, byName(flow, 'debug', 'attempts').id), `attempt ${last}: sent`);
    });

    it('a SIM never attached: the Catch node gets the "gave up" error at the deadline', async function () {
      const payload = 'wake up (never attached)';
      const flow = await deployExample('05 Wake a sleeping device.json', (nodes) => {
        byName(nodes, 'supersim-ip-command', 'wake my-device').retryFor = 3;
        byName(nodes, 'inject', 'wake up').payload = payload;
      });
      const attempts = from(byName(flow, 'debug', 'attempts'));
      const errors = from(byName(flow, 'debug', 'error message'));
      device.detach();
      const pressed = debug.messages.length;
      await pressInject(nodeRed.adminUrl, byName(flow, 'inject', 'wake up').id);
      const error = await debug.waitFor((m) => errors(m) && /gave up/i.test(String(m.value)), 'of the gave-up error', 15_000);
      const tried = debug.messages.slice(pressed).filter(attempts).map(attemptOf);
      assert.ok(tried.length >= 2 && tried.every((a) => a.status === 'failed'), JSON.stringify(tried));
      assert.match(String(error.value), new RegExp(`^(ReachError: )?Gave up on ${SIM} after ${tried.length} attempts over \\d+ s \\(last error code 32001\\)`));
      assert.equal(createsOf(payload), tried.length);
    });
  });

  it('06 Send to a whole Fleet: one command per SIM of the Fleet, every outcome in one summary, a detached SIM reported failed', async function () {
    const flow = await deployExample('06 Send to a whole Fleet.json', (nodes) => {
      // The simulator's SIMs need no pause between creates; the example's own pace is for the real API.
      byName(nodes, 'delay', '10 SIMs a second').rate = '50';
    });
    const summary = from(byName(flow, 'debug', 'summary'));
    const detached = simulator.sim('fleet-sim-0003');
    detached.detach();
    try {
      await pressInject(nodeRed.adminUrl, byName(flow, 'inject', 'send to the Fleet').id);
      const shown = await debug.waitFor(summary, 'of the summary', 15_000);
      const names = FLEET_SIMS.map((s) => s.uniqueName);
      assert.deepEqual(shown.value, {
        sims: 4,
        sent: 3,
        failed: 1,
        bySim: Object.fromEntries(names.map((name) => [name, name === 'fleet-sim-0003' ? 'failed (32001)' : 'sent'])),
      });
      for (const name of names) {
        const sid = simulator.sim(name).sid;
        assert.equal(simulator.ipCommands().filter((c) => c.direction === 'to_sim' && c.sim_sid === sid && c.payload === 'report status').length, 1, `one command to ${name}`);
      }
      assert.equal(await statusTextOf(nodeRed.adminUrl, byName(flow, 'debug', 'summary').id), 'sent 3, failed 1');
      assert.deepEqual(debug.messages.filter(from(byName(flow, 'debug', 'error message'))).map((m) => m.value), [], 'no Catch error');
    } finally {
      detached.attach();
    }
  });

  it('07 Look up commands: the newest IP Commands of a SIM, the newest fetched again by its SID, the newest Wireless Command deleted', async function () {
    const http = new SimHttp(simulator);
    const create = async (url: string, form: Record<string, string | number>): Promise<{ sid: string }> => {
      const answer = await http.post<{ sid: string }>(url, form);
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      return answer.body;
    };
    await create(`${simulator.supersimUrl}/v1/IpCommands`, { Sim: SIM, Payload: 'lookup one', DevicePort: DEVICE_PORT });
    const newest = await create(`${simulator.supersimUrl}/v1/IpCommands`, { Sim: SIM, Payload: 'lookup two', DevicePort: DEVICE_PORT });
    const wireless = await create(`${simulator.wirelessUrl}/v1/Commands`, { Sim: WIRELESS_SIM, Command: 'to be deleted' });
    const flow = await deployExample('07 Look up commands.json');

    await pressInject(nodeRed.adminUrl, byName(flow, 'inject', 'newest IP Commands').id);
    const listed = await debug.waitFor(from(byName(flow, 'debug', 'newest commands')), 'of the newest commands');
    const rows = listed.value as { sid: string; payload: string }[];
    assert.ok(Array.isArray(rows) && rows.length >= 2 && rows.length <= 10, JSON.stringify(rows));
    assert.deepEqual(rows.slice(0, 2).map((row) => row.payload), ['lookup two', 'lookup one'], 'newest first');
    const fetched = await debug.waitFor(from(byName(flow, 'debug', 'fetched')), 'of the fetched command');
    assert.equal(resourceOf(fetched).sid, newest.sid);

    await pressInject(nodeRed.adminUrl, byName(flow, 'inject', 'delete the newest Wireless Command').id);
    const deleted = await debug.waitFor(from(byName(flow, 'debug', 'deleted')), 'of the deleted command');
    assert.deepEqual(deleted.value, { sid: wireless.sid, deleted: true });
    assert.ok(!simulator.wirelessCommands().some((command) => command.sid === wireless.sid), 'gone from the API');
    assert.deepEqual(debug.messages.filter(from(byName(flow, 'debug', 'error message'))).map((m) => m.value), [], 'no Catch error');
  });

  it('Device control panel (Dashboard 2), in extras/: the button sends, the table shows the statuses and the answer, the dashboard is served', async function () {
    const tap = 'examples-test-rows';
    const press = 'examples-test-press';
    const flow = await deployExample(DASHBOARD_EXAMPLE, (nodes) => {
      const tab = nodes.find((node) => node.type === 'tab')?.id;
      const button = nodes.find((node) => node.type === 'ui-button') as FlowNode;
      // A button with emulateClick sends as if clicked when a message arrives: a click without a browser.
      button.emulateClick = true;
      byName(nodes, 'function', 'command rows').wires?.[0].push(tap);
      nodes.push(
        { id: tap, type: 'debug', z: tab, name: tap, active: true, tosidebar: true, console: false, tostatus: false, complete: 'payload', targetType: 'msg', x: 0, y: 0, wires: [] },
        { id: press, type: 'inject', z: tab, name: press, props: [{ p: 'payload' }], payload: '', payloadType: 'str', repeat: '', once: false, x: 0, y: 0, wires: [[button.id]] },
      );
    });
    const send = flow.find((node) => node.type === 'supersim-ip-command') as FlowNode;
    assert.equal(send.waitAnswer, true, 'the IP Command node waits for the answer');
    assert.deepEqual(send.wires, [[byName(flow, 'function', 'command rows').id], [byName(flow, 'function', 'command rows').id], [byName(flow, 'function', 'command rows').id]], 'outputs 1, 2 and 3 go to the table');

    // The device answers what it gets, as the demo's do.
    const answer = (bytes: Buffer, info: { reply(data: Buffer): Promise<void> }): void => void info.reply(Buffer.concat([Buffer.from('ack:'), bytes]));
    device.on('ip', answer);
    try {
      type Row = { sent: string; statuses: string; answer: string; sid: string };
      const rowsOf = (m: DebugMessage): Row[] => (Array.isArray(m.value) ? (m.value as Row[]) : []);
      await pressInject(nodeRed.adminUrl, press);
      const table = await debug.waitFor((m) => m.id === tap && rowsOf(m).some((row) => row.answer !== '' && row.statuses.includes('sent')), 'of a row with its statuses and the answer');
      const [row] = rowsOf(table);
      assert.equal(rowsOf(table).length, 1, 'one row per command');
      assert.equal(row.sent, 'status?');
      assert.equal(row.answer, 'ack:status?');
      assert.match(row.statuses, /^queued → sent/);
      assert.match(row.sid, /^HG[0-9a-f]{32}$/);
    } finally {
      device.off('ip', answer);
    }

    const page = await fetch(new URL('dashboard/', nodeRed.url));
    assert.equal(page.status, 200);
  });
});
