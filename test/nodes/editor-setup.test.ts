/**
 * Set-up from the editor, in a real Node-RED against the simulator: pointing the account's Wireless
 * SIMs at command-in, after which a device's Wireless Command reaches its output 1; and Create webhook
 * secret, which stores KORE's new secret as the account's credential without any admin API revealing it.
 * Needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { DebugWatcher } from '../../scripts/compat-support';
import { Simulator } from '../../src/simulator';
import { deployFlows, startNodeRed } from '../support/node-red-process';
import type { NodeRedInstance } from '../support/node-red-process';

const PATH = '/wireless/in';

describe('set-up from the editor: Wireless SIMs and the webhook secret', function () {
  this.timeout(60_000);
  let simulator: Simulator;
  let nodeRed: NodeRedInstance;
  let debug: DebugWatcher;
  let flows: object[];

  before(async function () {
    simulator = await Simulator.start({ mode: 'kore', sims: [{ uniqueName: 'wl-1', api: 'wireless' }, { uniqueName: 'wl-2', api: 'wireless' }, { uniqueName: 'super-1' }] });
    nodeRed = await startNodeRed();
    flows = [
      { id: 'tab1', type: 'tab', label: 'Super SIM' },
      {
        id: 'acc1',
        type: 'supersim-account',
        name: 'simulator',
        provider: 'kore',
        supersimUrl: simulator.supersimUrl,
        wirelessUrl: simulator.wirelessUrl,
        tokenUrl: simulator.tokenUrl,
        webhookUrl: simulator.webhookUrl,
        callbackBaseUrl: nodeRed.url,
      },
      { id: 'in1', type: 'supersim-command-in', z: 'tab1', name: '', account: 'acc1', url: PATH, x: 100, y: 100, wires: [['dbg1'], []] },
      { id: 'dbg1', type: 'debug', z: 'tab1', name: 'from devices', active: true, tosidebar: true, console: false, tostatus: false, complete: 'payload', targetType: 'msg', x: 300, y: 100, wires: [] },
    ];
    const { clientId, clientSecret, webhookSecret } = simulator.credentials;
    await deployFlows(nodeRed, flows, { acc1: { clientId, clientSecret, webhookSecret } });
    debug = await DebugWatcher.open(nodeRed.adminUrl);
  });

  after(async function () {
    await nodeRed?.stop();
    await simulator?.close();
  });

  function post(path: string, body: object): Promise<Response> {
    return fetch(new URL(path, nodeRed.adminUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  it('points all of the account’s Wireless SIMs at command-in, and a device’s Command reaches output 1', async function () {
    const response = await post('supersim-command-in/wireless-sims', { account: 'acc1', url: PATH, all: true });
    const answer = (await response.json()) as { target: string; updated: number; failures: number; sims: { unique_name: string; commands_callback_url: string }[] };
    assert.equal(response.status, 200, JSON.stringify(answer));
    const target = `${nodeRed.url}${PATH}`;
    assert.equal(answer.target, target);
    assert.equal(answer.updated, 2, 'the two Wireless SIMs, not the Super SIM');
    assert.equal(answer.failures, 0);
    for (const name of ['wl-1', 'wl-2']) assert.deepEqual(simulator.sim(name).commandsCallback, { url: target, method: 'POST' }, name);

    await simulator.sim('wl-1').sendSms('hello from wl-1');
    await debug.waitFor((m) => m.value === 'hello from wl-1', 'with the Wireless Command on output 1');
  });

  it('points one Wireless SIM by unique name; an unknown one is the API’s 404, in words', async function () {
    const one = await post('supersim-command-in/wireless-sims', { account: 'acc1', url: '/elsewhere', sim: 'wl-2' });
    assert.equal(one.status, 200, await one.clone().text());
    assert.equal(simulator.sim('wl-2').commandsCallback.url, `${nodeRed.url}/elsewhere`);
    assert.equal(simulator.sim('wl-1').commandsCallback.url, `${nodeRed.url}${PATH}`, 'the other SIM is left alone');
    const unknown = await post('supersim-command-in/wireless-sims', { account: 'acc1', url: PATH, sim: 'no-such-sim' });
    assert.equal(unknown.status, 400);
    assert.equal(((await unknown.json()) as { status?: number }).status, 404);
    const neither = await post('supersim-command-in/wireless-sims', { account: 'acc1', url: PATH });
    assert.equal(neither.status, 400);
    await post('supersim-command-in/wireless-sims', { account: 'acc1', url: PATH, sim: 'wl-2' });
  });

  it('creates a webhook secret and stores it as the credential, which neither GET /flows nor the credentials API reveals', async function () {
    const before = simulator.webhookSecret;
    const form = await fetch(new URL('supersim-account/acc1/webhook-secret', nodeRed.adminUrl), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=x' });
    assert.equal(form.status, 415, 'a form, as a cross-site page could send, is refused');
    assert.equal(simulator.webhookSecret, before, 'and nothing was created');

    const response = await post('supersim-account/acc1/webhook-secret', { name: 'node-red test' });
    const text = await response.text();
    assert.equal(response.status, 200, text);
    const created = simulator.webhookSecret;
    assert.notEqual(created, before, 'KORE (the simulator) signs with a new secret');
    assert.ok(!text.includes(created), 'the answer does not carry the secret');
    const answer = JSON.parse(text) as { stored: boolean; id: string; name: string };
    assert.equal(answer.stored, true);
    assert.match(answer.id, /^whs_/);
    assert.equal(answer.name, 'node-red test');

    const flowsText = await (await fetch(new URL('flows', nodeRed.adminUrl))).text();
    assert.ok(!flowsText.includes(created), 'GET /flows does not reveal it');
    const credentials = await fetch(new URL('credentials/supersim-account/acc1', nodeRed.adminUrl));
    const credentialsText = await credentials.text();
    assert.equal(credentials.status, 200);
    assert.ok(!credentialsText.includes(created), 'the credentials API does not reveal it');
    const shown = JSON.parse(credentialsText) as Record<string, unknown>;
    assert.equal(shown.has_webhookSecret, true);
    assert.equal(shown.webhookSecret, undefined);

    // A deploy that leaves the account's credentials as they are (as the editor's Done after "stored" does) uses the new secret.
    await deployFlows(nodeRed, flows);
    await simulator.sim('wl-2').sendSms('signed with the new secret');
    await debug.waitFor((m) => m.value === 'signed with the new secret', 'from a callback signed with the created secret');
  });
});
