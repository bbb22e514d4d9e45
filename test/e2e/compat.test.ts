/**
 * The packed package on a real Node-RED, per target (a Node-RED and a Node to run it with): installed
 * from its tarball into a fresh user directory, a flow deployed through the admin API (account →
 * simulator, an IP Command sent with tracking, the status filter, command-in receiving the device's
 * answer), and the loop checked through the debug messages the editor would show.
 *
 * scripts/compat.sh runs this on Node-RED 4.1 under Node 20, on Node-RED 5 under Node 22 and Node
 * 24, and on the oldest Node-RED under the oldest Node package.json claims (COMPAT_TARGETS,
 * COMPAT_TARBALL); run plainly, it checks the devDependency Node-RED under the running Node with a
 * tarball it packs (and so builds) itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DebugWatcher, pressInject, resourceOf, textOf } from '../../scripts/compat-support';
import { installPackage, nodeRedDirectory, packPackage, startNodeRedProcess } from '../../scripts/start';
import type { NodeRedProcess } from '../../scripts/start';
import { Simulator } from '../../src/simulator';
import { freePort } from '../support/net';
import { deployFlows } from '../support/node-red-process';

interface Target {
  label: string;
  nodeBin: string;
  nodeRedDir: string;
  /** The Node-RED version it must report, as a prefix: "4.1", "5.", "4.0.0". */
  expectNodeRed?: string;
  /** The Node it must run on: a major ("22") or an exact version ("20.18.1"). */
  expectNode?: string;
}

function targets(): Target[] {
  const given = process.env.COMPAT_TARGETS;
  if (given) return JSON.parse(given) as Target[];
  return [{ label: `the devDependency Node-RED on Node ${process.version}`, nodeBin: process.execPath, nodeRedDir: nodeRedDirectory() }];
}

const SIM = 'compat-device';
const DEVICE_PORT = 6655;
const IN_PATH = '/supersim/compat';

const ids = {
  tab: 'c0c0a70000000001',
  account: 'c0c0a70000000002',
  inject: 'c0c0a70000000003',
  send: 'c0c0a70000000004',
  created: 'c0c0a70000000005',
  filter: 'c0c0a70000000006',
  status: 'c0c0a70000000007',
  commandIn: 'c0c0a70000000008',
  fromDevice: 'c0c0a70000000009',
};

function flow(simulator: Simulator, nodeRedUrl: string): object[] {
  const z = ids.tab;
  const debug = (id: string, name: string): object => ({ id, type: 'debug', z, name, active: true, tosidebar: true, console: false, tostatus: false, complete: 'payload', targetType: 'msg', x: 600, y: 100, wires: [] });
  return [
    { id: z, type: 'tab', label: 'compat' },
    { id: ids.account, type: 'supersim-account', name: 'simulator', provider: 'kore', supersimUrl: simulator.supersimUrl, wirelessUrl: simulator.wirelessUrl, tokenUrl: simulator.tokenUrl, callbackBaseUrl: nodeRedUrl },
    { id: ids.inject, type: 'inject', z, name: '', props: [{ p: 'payload' }], repeat: '', crontab: '', once: false, onceDelay: 0.1, topic: '', payload: 'compat check', payloadType: 'str', x: 100, y: 100, wires: [[ids.send]] },
    { id: ids.send, type: 'supersim-ip-command', z, name: '', account: ids.account, sim: SIM, devicePort: String(DEVICE_PORT), payloadType: 'auto', callbackUrl: '', callbackMethod: '', track: true, trackTimeout: 30, x: 300, y: 100, wires: [[ids.created], [ids.filter]] },
    debug(ids.created, 'created'),
    { id: ids.filter, type: 'supersim-status-filter', z, name: '', statuses: [], maxCommands: 1000, store: '', x: 450, y: 160, wires: [[ids.status]] },
    debug(ids.status, 'status'),
    { id: ids.commandIn, type: 'supersim-command-in', z, name: '', account: ids.account, url: IN_PATH, x: 120, y: 240, wires: [[ids.fromDevice], [ids.filter]] },
    debug(ids.fromDevice, 'from device'),
  ];
}

describe('compatibility of the packed package', function () {
  this.timeout(180_000);

  let workDir: string;
  let tarball: string;

  before(async function () {
    workDir = mkdtempSync(join(tmpdir(), 'supersim-compat-'));
    tarball = process.env.COMPAT_TARBALL ?? (await packPackage(workDir));
  });

  after(function () {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  for (const target of targets()) {
    describe(target.label, function () {
      let simulator: Simulator;
      let nodeRed: NodeRedProcess;
      let debug: DebugWatcher;

      before(async function () {
        const userDir = mkdtempSync(join(workDir, 'userdir-'));
        await installPackage(userDir, tarball);
        const port = await freePort();
        const nodeRedUrl = `http://127.0.0.1:${port}`;
        simulator = await Simulator.start({
          mode: 'kore',
          sims: [{ uniqueName: SIM }],
          fleets: [{ uniqueName: 'default', ipCommandsUrl: nodeRedUrl + IN_PATH }],
        });
        const device = simulator.sim(SIM);
        await device.listen(DEVICE_PORT);
        device.on('ip', (bytes, info) => void info.reply(Buffer.concat([Buffer.from('ack:'), bytes])).catch(() => undefined));
        nodeRed = await startNodeRedProcess({ port, userDir, nodeBin: target.nodeBin, nodeRedDir: target.nodeRedDir, flows: [] });
        debug = await DebugWatcher.open(nodeRed.url);
      });

      after(async function () {
        debug?.close();
        await nodeRed?.stop();
        await simulator?.close();
      });

      it('runs on the Node-RED and the Node it should', async function () {
        const settings = (await (await fetch(`${nodeRed.url}/settings`)).json()) as { version: string };
        if (target.expectNodeRed) assert.ok(settings.version.startsWith(target.expectNodeRed), `Node-RED ${settings.version}, expected ${target.expectNodeRed}`);
        const nodeVersion = /Node\.js\s+version:\s+(v[\d.]+)/.exec(nodeRed.logs())?.[1];
        assert.ok(nodeVersion, 'Node-RED logs the Node version');
        if (target.expectNode) assert.ok(nodeVersion === `v${target.expectNode}` || nodeVersion.startsWith(`v${target.expectNode}.`), `Node ${nodeVersion}, expected ${target.expectNode}`);
        console.log(`      (Node-RED ${settings.version} on Node ${nodeVersion})`);
      });

      it('loads every node type from the tarball', async function () {
        const nodes = (await (await fetch(`${nodeRed.url}/nodes`, { headers: { accept: 'application/json' } })).json()) as { module: string; types: string[]; err?: string; enabled: boolean }[];
        const ours = nodes.filter((set) => set.module === 'node-red-contrib-supersim');
        assert.deepEqual(ours.filter((set) => set.err !== undefined || !set.enabled).map((set) => set.err), []);
        assert.deepEqual(ours.flatMap((set) => set.types).sort(), ['supersim-account', 'supersim-command-in', 'supersim-command-lookup', 'supersim-ip-command', 'supersim-sims', 'supersim-sms-command', 'supersim-status-filter']);
      });

      it('deploys the flow, sends a tracked IP Command, passes its status through the filter and receives the device\'s answer', async function () {
        const { credentials: c } = simulator;
        await deployFlows({ adminUrl: `${nodeRed.url}/` }, flow(simulator, nodeRed.url), {
          [ids.account]: { clientId: c.clientId, clientSecret: c.clientSecret, webhookSecret: c.webhookSecret },
        });
        await pressInject(nodeRed.url, ids.inject);
        const created = resourceOf(await debug.waitFor((m) => m.id === ids.created, 'of the created command'));
        assert.match(created.sid ?? '', /^HG[0-9a-f]{32}$/);
        assert.equal(created.status, 'queued');
        const sent = await debug.waitFor((m) => m.id === ids.status && resourceOf(m).sid === created.sid, 'of its status');
        assert.equal(resourceOf(sent).status, 'sent');
        const answer = await debug.waitFor((m) => m.id === ids.fromDevice, 'of the device\'s answer');
        assert.equal(answer.topic, SIM);
        assert.equal(textOf(answer), 'ack:compat check');
        assert.doesNotMatch(nodeRed.logs(), /\[error\]/, 'Node-RED logged no errors');
      });
    });
  }
});
