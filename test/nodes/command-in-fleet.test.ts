/** The editor's "Point a Fleet at this node": the admin endpoints, against the simulator's Fleets API. */
import assert from 'node:assert/strict';
import { Simulator } from '../../src/simulator';
import type { SimulatorMode } from '../../src/simulator';
import { accountFor, commandInModules, helper } from '../support/flows';

const BASE = 'https://nodered.example.com';

describe('supersim-command-in: Fleet set-up endpoints', function () {
  this.timeout(20_000);
  let sim: Simulator;

  afterEach(async function () {
    await helper.unload();
    await sim?.close();
  });

  async function load(mode: SimulatorMode, callbackBaseUrl = BASE): Promise<void> {
    sim = await Simulator.start({
      mode,
      fleets: [{ uniqueName: 'default', ipCommandsUrl: 'https://old.example.com/ip', ipCommandsMethod: 'GET' }, { uniqueName: 'trackers' }],
    });
    const account = accountFor(sim, { callbackBaseUrl });
    await helper.load(
      commandInModules,
      [
        { id: 'tab', type: 'tab', label: 'test' },
        account.node,
        { z: 'tab', x: 100, y: 100, id: 'in', type: 'supersim-command-in', name: '', account: 'account', url: '/hooks/in', wires: [[], []] },
      ],
      { account: account.credentials },
    );
  }

  for (const mode of ['kore', 'twilio'] as SimulatorMode[]) {
    it(`GET shows the fleet and this node’s public URL (${mode})`, async function () {
      await load(mode);
      const res = await helper.request().get('/supersim-command-in/fleet').query({ account: 'account', fleet: 'default', url: '/hooks/in' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const fleet = sim.fleet('default');
      assert.deepEqual(res.body, {
        fleet: {
          sid: fleet.sid,
          unique_name: 'default',
          ip_commands_url: 'https://old.example.com/ip',
          ip_commands_method: 'GET',
          sms_commands_url: null,
          sms_commands_method: 'POST',
        },
        target: `${BASE}/hooks/in`,
      });
      const bySid = await helper.request().get('/supersim-command-in/fleet').query({ account: 'account', fleet: fleet.sid });
      assert.equal(bySid.body.fleet.unique_name, 'default');
      assert.equal(bySid.body.target, null, 'no path, no target');
    });

    it(`POST points the fleet’s IP and SMS Commands at this node (${mode})`, async function () {
      await load(mode);
      const res = await helper
        .request()
        .post('/supersim-command-in/fleet')
        .send({ account: 'account', fleet: 'default', url: '/hooks/in', ip: true, sms: true, method: 'POST' })
        .set('content-type', 'application/json');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const fleet = sim.fleet('default');
      assert.equal(fleet.ip_commands_url, `${BASE}/hooks/in`);
      assert.equal(fleet.ip_commands_method, 'POST');
      assert.equal(fleet.sms_commands_url, `${BASE}/hooks/in`);
      assert.equal(fleet.sms_commands_method, 'POST');
      assert.deepEqual(res.body, {
        fleet: { sid: fleet.sid, unique_name: 'default', ip_commands_url: `${BASE}/hooks/in`, ip_commands_method: 'POST', sms_commands_url: `${BASE}/hooks/in`, sms_commands_method: 'POST' },
        target: `${BASE}/hooks/in`,
      });
    });
  }

  it('never sets GET on a KORE Fleet (KORE signs nothing a GET carries): 400 saying to choose POST, the Fleet unchanged', async function () {
    await load('kore');
    const res = await helper
      .request()
      .post('/supersim-command-in/fleet')
      .send({ account: 'account', fleet: 'trackers', url: '/hooks/sms', ip: true, sms: true, method: 'GET' });
    assert.equal(res.status, 400);
    assert.match(res.body.message, /KORE does not sign GET callbacks.*choose POST/);
    const fleet = sim.fleet('trackers');
    assert.deepEqual([fleet.ip_commands_url, fleet.sms_commands_url], [null, null]);
  });

  it('POST with only SMS and GET (Twilio) leaves the IP Commands URL as it was', async function () {
    await load('twilio');
    const fleetSid = sim.fleet('trackers').sid;
    const res = await helper
      .request()
      .post('/supersim-command-in/fleet')
      .send({ account: 'account', fleet: fleetSid, url: '/hooks/sms', ip: false, sms: true, method: 'GET' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const fleet = sim.fleet('trackers');
    assert.equal(fleet.sms_commands_url, `${BASE}/hooks/sms`);
    assert.equal(fleet.sms_commands_method, 'GET');
    assert.equal(fleet.ip_commands_url, null);
    assert.equal(sim.fleet('default').sms_commands_url, null, 'other fleets are untouched');
  });

  it('answers 400 with a clear message: account not deployed, no Public URL, the API refusing, a bad request', async function () {
    await load('twilio');
    const post = (body: Record<string, unknown>) => helper.request().post('/supersim-command-in/fleet').send(body);
    const valid = { account: 'account', fleet: 'default', url: '/hooks/in', ip: true, sms: false, method: 'POST' };

    const undeployed = await post({ ...valid, account: 'not-deployed' });
    assert.equal(undeployed.status, 400);
    assert.match(undeployed.body.message, /not deployed yet: deploy the flow first/);
    const notAnAccount = await helper.request().get('/supersim-command-in/fleet').query({ account: 'in', fleet: 'default' });
    assert.equal(notAnAccount.status, 400, 'a node that is not an account');
    assert.match(notAnAccount.body.message, /not deployed/);

    const unknownFleet = await helper.request().get('/supersim-command-in/fleet').query({ account: 'account', fleet: 'nope' });
    assert.equal(unknownFleet.status, 400);
    assert.equal(unknownFleet.body.status, 404);
    assert.equal(unknownFleet.body.code, 20404);
    assert.match(unknownFleet.body.message, /^Fleet nope is not in this account \(HTTP 404, code 20404\)\. .*not found/i);

    const invalidMethod = await post({ ...valid, method: 'PUT' });
    assert.equal(invalidMethod.status, 400);
    assert.match(invalidMethod.body.message, /method must be POST or GET/);
    const neither = await post({ ...valid, ip: false });
    assert.equal(neither.status, 400);
    assert.match(neither.body.message, /IP Commands, SMS Commands or both/);
    const badPath = await post({ ...valid, url: 'hooks' });
    assert.equal(badPath.status, 400);
    assert.match(badPath.body.message, /URL cannot be used.*start with "\/"/);
    const noFleet = await helper.request().get('/supersim-command-in/fleet').query({ account: 'account' });
    assert.equal(noFleet.status, 400);
    assert.match(noFleet.body.message, /Fleet SID or unique name is missing/);

    assert.equal(sim.fleet('default').ip_commands_url, 'https://old.example.com/ip', 'nothing was changed');
    assert.equal(sim.stats.count('POST', `/supersim/v1/Fleets/default`), 0);
  });

  it('answers 400 saying how to set the Public URL when the account has none, without calling the API', async function () {
    await load('kore', '');
    const res = await helper.request().post('/supersim-command-in/fleet').send({ account: 'account', fleet: 'default', url: '/hooks/in', ip: true });
    assert.equal(res.status, 400);
    assert.match(res.body.message, /no Public URL.*Advanced tab.*tunnel/);
    const shown = await helper.request().get('/supersim-command-in/fleet').query({ account: 'account', fleet: 'default' });
    assert.equal(shown.status, 400);
    assert.equal(sim.stats.requests, 0);
  });
});
