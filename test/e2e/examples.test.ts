/**
 * Every flow in examples/ (what Import > Examples offers) in a real Node-RED against the simulator:
 * it deploys with no unknown node types once filled in as its comment asks (the account pointed at
 * the simulator, the simulator's SIM names), and its main path works. The dashboard example runs with
 * @flowfuse/node-red-dashboard installed from the npm registry by this test, as its comment tells users.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DebugWatcher, pressInject, resourceOf, textOf } from '../../scripts/compat-support';
import type { DebugMessage } from '../../scripts/compat-support';
import { childEnv } from '../../scripts/start';
import { Simulator } from '../../src/simulator';
import type { SimulatedDevice } from '../../src/simulator';
import { deployFlows, startNodeRed } from '../support/node-red-process';
import type { NodeRedInstance } from '../support/node-red-process';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
const DASHBOARD = '@flowfuse/node-red-dashboard@1';
/** The SIM names the examples ask users to replace; the simulator has SIMs of those names. */
const SIM = 'my-device';
const WIRELESS_SIM = 'my-wireless-device';
const DEVICE_PORT = 6655;
/** What example 4 asks users to replace with their public URL. */
const PLACEHOLDER_BASE = 'https://nodered.example.com';

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
  return JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8')) as FlowNode[];
}

function byName(flow: FlowNode[], type: string, name: string): FlowNode {
  const node = flow.find((n) => n.type === type && n.name === name);
  if (!node) throw new Error(`no ${type} named "${name}" in the example`);
  return node;
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

    simulator = await Simulator.start({ mode: 'kore', sims: [{ uniqueName: SIM }, { uniqueName: WIRELESS_SIM, api: 'wireless' }] });
    device = simulator.sim(SIM);
    wirelessDevice = simulator.sim(WIRELESS_SIM);
    await device.listen(DEVICE_PORT);
    nodeRed = await startNodeRed({ extraModules: [join(modulesDir, 'node_modules', '@flowfuse', 'node-red-dashboard')] });
    debug = await DebugWatcher.open(nodeRed.adminUrl);
  });

  after(async function () {
    debug?.close();
    await nodeRed?.stop();
    await simulator?.close();
    if (modulesDir) rmSync(modulesDir, { recursive: true, force: true });
  });

  /** The example on a tab of its own, filled in as its comment asks; deployed; resolves with the flow as deployed. */
  async function deployExample(file: string, adjust: (flow: FlowNode[]) => void = () => undefined): Promise<FlowNode[]> {
    const flow = load(file);
    const tab = `tab-${file.slice(0, 2)}`;
    for (const node of flow) {
      // Flow nodes have wires; config nodes (the account, the dashboard's base, page, group, theme) have none.
      if (node.wires !== undefined) node.z = tab;
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
    const flows = [{ id: tab, type: 'tab', label: file }, ...flow];
    await deployFlows(nodeRed, flows, { [account.id]: { clientId: c.clientId, clientSecret: c.clientSecret, webhookSecret: c.webhookSecret } });
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

  it('are the five flows, each with the account node left without credentials', function () {
    const files = exampleFiles();
    assert.deepEqual(files, [
      '01 Send an IP Command.json',
      '02 Send an SMS Command and a binary Wireless Command.json',
      '03 Receive commands from devices.json',
      '04 Track delivery with command-in and the status filter.json',
      '05 Device control panel (Dashboard 2).json',
    ]);
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

  it('every node type the examples use is known to a Node-RED with this package (and Dashboard 2)', async function () {
    const response = await fetch(new URL('nodes', nodeRed.adminUrl), { headers: { accept: 'application/json' } });
    const known = new Set(((await response.json()) as { types: string[]; enabled: boolean }[]).filter((set) => set.enabled).flatMap((set) => set.types));
    for (const file of exampleFiles()) {
      const unknown = [...new Set(load(file).map((node) => node.type))].filter((type) => !known.has(type));
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

  it('05 Device control panel (Dashboard 2): the buttons send, the tables fill, the dashboard is served', async function () {
    const tap = { rows: 'examples-test-rows', last: 'examples-test-last' };
    const presses = { reboot: 'examples-test-reboot', locate: 'examples-test-locate' };
    const flow = await deployExample('05 Device control panel (Dashboard 2).json', (nodes) => {
      const tab = nodes.find((node) => node.type === 'supersim-command-in')?.z;
      const buttons = nodes.filter((node) => node.type === 'ui-button');
      // A button with emulateClick sends as if clicked when a message arrives: a click without a browser.
      for (const button of buttons) button.emulateClick = true;
      const reboot = buttons.find((button) => button.payload === 'reboot') as FlowNode;
      const locate = buttons.find((button) => button.payload !== 'reboot') as FlowNode;
      const debugTap = (id: string): FlowNode => ({ id, type: 'debug', z: tab, name: id, active: true, tosidebar: true, console: false, tostatus: false, complete: 'payload', targetType: 'msg', x: 0, y: 0, wires: [] });
      const press = (id: string, button: FlowNode): FlowNode => ({ id, type: 'inject', z: tab, name: id, props: [{ p: 'payload' }], payload: '', payloadType: 'str', repeat: '', once: false, x: 0, y: 0, wires: [[button.id]] });
      byName(nodes, 'function', 'command rows').wires?.[0].push(tap.rows);
      byName(nodes, 'function', 'last message per device').wires?.[0].push(tap.last);
      nodes.push(debugTap(tap.rows), debugTap(tap.last), press(presses.reboot, reboot), press(presses.locate, locate));
    });
    await pointFleetAt(flow, byName(flow, 'supersim-command-in', 'from devices'));

    type Row = { command: string; kind: string; device: string; status: string };
    const rowsOf = (m: DebugMessage): Row[] => (Array.isArray(m.value) ? (m.value as Row[]) : []);
    await pressInject(nodeRed.adminUrl, presses.reboot);
    await debug.waitFor((m) => m.id === tap.rows && rowsOf(m).some((row) => row.kind === 'IP' && row.device === SIM && row.status === 'sent'), 'of an IP row, sent');
    await pressInject(nodeRed.adminUrl, presses.locate);
    const table = await debug.waitFor((m) => m.id === tap.rows && rowsOf(m).some((row) => row.kind === 'SMS' && row.status === 'delivered'), 'of an SMS row, delivered');
    assert.deepEqual(rowsOf(table).map((row) => [row.kind, row.status]), [['SMS', 'delivered'], ['IP', 'sent']], 'newest first, one row per command');

    await device.sendSms('at home');
    const last = await debug.waitFor((m) => m.id === tap.last && Array.isArray(m.value), 'of the last-message table');
    assert.deepEqual((last.value as { device: string; message: string }[]).map((row) => [row.device, row.message]), [[SIM, 'at home']]);

    const page = await fetch(new URL('dashboard/', nodeRed.url));
    assert.equal(page.status, 200);
  });
});
