/**
 * Sending one command to every SIM of a Fleet, at a chosen pace, in a real Node-RED: supersim-sims
 * (split) → core delay (rate limit) → supersim-ip-command → core join (automatic). Every SIM gets
 * exactly one command, the join hands back all results in one message, and the creates reach the API
 * at the rate set in the delay node, as the simulator's own timestamps show.
 */
import assert from 'node:assert/strict';
import { DebugWatcher, pressInject } from '../../scripts/compat-support';
import { Simulator, generateSims } from '../../src/simulator';
import { deployFlows, startNodeRed } from '../support/node-red-process';
import type { NodeRedInstance } from '../support/node-red-process';

const FLEET = 'fleet-250';
const SIMS = 250;
const RATE_PER_SECOND = 50;
const ids = {
  tab: 'f1ee7e2e00000000',
  account: 'f1ee7e2e000000a1',
  inject: 'f1ee7e2e00000001',
  sims: 'f1ee7e2e00000002',
  payload: 'f1ee7e2e00000003',
  delay: 'f1ee7e2e00000004',
  send: 'f1ee7e2e00000005',
  join: 'f1ee7e2e00000006',
  joined: 'f1ee7e2e00000007',
  catch: 'f1ee7e2e00000008',
  errors: 'f1ee7e2e00000009',
};

describe('Fleet fan-out in a real Node-RED', function () {
  this.timeout(60_000);
  let simulator: Simulator;
  let nodeRed: NodeRedInstance;
  let debug: DebugWatcher;

  before(async function () {
    simulator = await Simulator.start({
      mode: 'kore',
      fleets: [{ uniqueName: FLEET }],
      sims: [
        ...generateSims({ count: SIMS, fleet: FLEET }),
        // Outside the Fleet, or inactive in it: never sent to.
        ...generateSims({ count: 10, prefix: 'other-' }),
        ...generateSims({ count: 10, prefix: 'idle-', fleet: FLEET, statuses: ['inactive'] }),
      ],
    });
    nodeRed = await startNodeRed();
    debug = await DebugWatcher.open(nodeRed.adminUrl);
  });

  after(async function () {
    debug?.close();
    await nodeRed?.stop();
    await simulator?.close();
  });

  it(`${SIMS} SIMs through a delay at ${RATE_PER_SECOND}/s into the IP node: one command per SIM, all results joined, the rate kept within 10 %`, async function () {
    const z = ids.tab;
    const at = (x: number): { z: string; x: number; y: number } => ({ z, x, y: 100 });
    const flow = [
      { id: z, type: 'tab', label: 'fleet fan-out' },
      { id: ids.account, type: 'supersim-account', name: 'simulator', provider: 'kore', supersimUrl: simulator.supersimUrl, wirelessUrl: simulator.wirelessUrl, tokenUrl: simulator.tokenUrl, callbackBaseUrl: '' },
      { id: ids.inject, type: 'inject', ...at(100), name: 'go', props: [{ p: 'payload' }], payload: '', payloadType: 'date', repeat: '', once: false, wires: [[ids.sims]] },
      { id: ids.sims, type: 'supersim-sims', ...at(200), account: ids.account, fleet: FLEET, status: 'active', iccid: '', output: 'split', wires: [[ids.payload]] },
      { id: ids.payload, type: 'change', ...at(300), rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'fleet update', tot: 'str' }], wires: [[ids.delay]] },
      { id: ids.delay, type: 'delay', ...at(400), pauseType: 'rate', timeout: '5', timeoutUnits: 'seconds', rate: String(RATE_PER_SECOND), nbRateUnits: '1', rateUnits: 'second', randomFirst: '1', randomLast: '5', randomUnits: 'seconds', drop: false, allowrate: false, outputs: 1, wires: [[ids.send]] },
      { id: ids.send, type: 'supersim-ip-command', ...at(500), account: ids.account, sim: '', devicePort: '6655', payloadType: 'auto', callbackUrl: '', callbackMethod: '', track: false, trackTimeout: 60, waitAnswer: false, answerTimeout: 60, retryFor: 0, outputs: 2, wires: [[ids.join], []] },
      { id: ids.join, type: 'join', ...at(600), mode: 'auto', build: 'object', property: 'payload', propertyType: 'msg', key: 'topic', joiner: '\\n', joinerType: 'str', accumulate: false, timeout: '', count: '', reduceRight: false, wires: [[ids.joined]] },
      // The whole array would be cut short in the sidebar: the debug node shows what the test checks.
      { id: ids.joined, type: 'debug', ...at(700), name: 'joined', active: true, tosidebar: true, console: false, tostatus: false, complete: '{"results": $count(payload), "sims": $count($distinct(payload.sim_sid)), "topic": topic}', targetType: 'jsonata', wires: [] },
      { id: ids.catch, type: 'catch', ...at(100), scope: null, uncaught: false, wires: [[ids.errors]] },
      { id: ids.errors, type: 'debug', ...at(200), name: 'errors', active: true, tosidebar: true, console: false, tostatus: false, complete: 'error.message', targetType: 'msg', wires: [] },
    ];
    const c = simulator.credentials;
    await deployFlows(nodeRed, flow, { [ids.account]: { clientId: c.clientId, clientSecret: c.clientSecret } });

    await pressInject(nodeRed.adminUrl, ids.inject);
    const joined = await debug.waitFor((m) => m.id === ids.joined, 'of the joined results', 30_000);
    assert.deepEqual(debug.messages.filter((m) => m.id === ids.errors).map((m) => m.value), [], 'no error');
    assert.equal(debug.messages.filter((m) => m.id === ids.joined).length, 1, 'one joined message');
    assert.deepEqual((joined.value as { results: number; sims: number }).results, SIMS);
    assert.deepEqual((joined.value as { results: number; sims: number }).sims, SIMS);

    const created = simulator.ipCommands().filter((command) => command.direction === 'to_sim');
    assert.equal(created.length, SIMS, 'one create per SIM, no more');
    const fleetSids = new Set(generateSims({ count: SIMS }).map((sim) => simulator.sim(sim.uniqueName).sid));
    assert.deepEqual(new Set(created.map((command) => command.sim_sid)), fleetSids, 'every SIM of the Fleet, and only those');
    assert.ok(created.every((command) => command.payload === 'fleet update'));

    const times = created.map((command) => Date.parse(command.date_created)).sort((a, b) => a - b);
    const seconds = (times[times.length - 1] - times[0]) / 1000;
    const achieved = (times.length - 1) / seconds;
    assert.ok(Math.abs(achieved - RATE_PER_SECOND) <= RATE_PER_SECOND * 0.1, `achieved ${achieved.toFixed(1)}/s over ${seconds.toFixed(2)} s; set ${RATE_PER_SECOND}/s`);
  });
});
