import assert from 'node:assert/strict';
import type { ListMeta, Sim, WirelessSim } from '../../src/api/types';
import { koreSignature } from '../../src/callbacks';
import { Simulator, generateSims } from '../../src/simulator';
import type { SimulatorOptions } from '../../src/simulator';
import { CliUsageError, parseCliArgs, runCli } from '../../src/simulator/cli';
import { sendJson, startTestServer } from '../support/net';
import type { TestServer } from '../support/net';
import { SimHttp } from '../support/sim-http';

type SimPage = { sims: Sim[]; meta: ListMeta };
type WirelessPage = { sims: WirelessSim[]; meta: ListMeta };

describe('simulator: SIMs, Fleets and webhook secrets', () => {
  let sim: Simulator;
  let http: SimHttp;
  let receiver: TestServer | undefined;

  async function start(options: SimulatorOptions = {}): Promise<void> {
    sim = await Simulator.start(options);
    http = new SimHttp(sim);
  }

  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
    await sim?.close();
  });

  describe('generateSims', () => {
    it('names SIMs prefix + a zero-padded number, gives out statuses in turn and checks its count', () => {
      const sims = generateSims({ count: 5, statuses: ['active', 'inactive'], fleet: 'north' });
      assert.deepEqual(sims.map((s) => s.uniqueName), ['sim-0001', 'sim-0002', 'sim-0003', 'sim-0004', 'sim-0005']);
      assert.deepEqual(sims.map((s) => s.status), ['active', 'inactive', 'active', 'inactive', 'active']);
      assert.ok(sims.every((s) => s.fleet === 'north' && s.api === undefined));
      assert.equal(generateSims({ count: 10_000 })[9_999].uniqueName, 'sim-10000');
      assert.equal(generateSims({ count: 10_000 })[0].uniqueName, 'sim-00001');
      assert.equal(generateSims({ count: 1, prefix: 'tag-', api: 'wireless' })[0].api, 'wireless');
      for (const count of [0, -1, 1.5, 50_001, NaN]) assert.throws(() => generateSims({ count }), RangeError, String(count));
      assert.throws(() => generateSims({ count: 1, statuses: [] }), RangeError);
    });

    it('checks each API\'s statuses: inactive of a Wireless SIM is suspended, suspended of a Super SIM is refused', async () => {
      await start({ sims: [{ uniqueName: 'meter', api: 'wireless', status: 'inactive' }] });
      assert.equal(sim.sim('meter').status, 'suspended');
      assert.throws(() => sim.addSim({ uniqueName: 'x', status: 'suspended' }), /status of a supersim SIM must be one of active, ready, inactive, new, scheduled/);
      assert.equal(sim.addSim({ uniqueName: 'y', api: 'wireless', status: 'deactivated' }).status, 'deactivated');
    });
  });

  describe('Super SIM Sims', () => {
    beforeEach(() =>
      start({
        fleets: [{ uniqueName: 'north' }],
        sims: [...generateSims({ count: 30, fleet: 'north', statuses: ['active', 'inactive', 'new'] }), { uniqueName: 'meter', api: 'wireless' }, { uniqueName: 'thermostat' }],
      }),
    );

    it('lists Super SIMs newest first in pages whose URLs keep the filters; Wireless SIMs are not among them', async () => {
      const first = await http.get<SimPage>(`${sim.supersimUrl}/v1/Sims?PageSize=20`);
      assert.equal(first.status, 200);
      assert.equal(first.body.meta.key, 'sims');
      assert.deepEqual(first.body.sims.slice(0, 2).map((s) => s.unique_name), ['thermostat', 'sim-0030']);
      const second = await http.get<SimPage>(first.body.meta.next_page_url as string);
      assert.equal(second.body.sims.length, 11);
      assert.equal(second.body.meta.next_page_url, null);
      const names = [...first.body.sims, ...second.body.sims].map((s) => s.unique_name);
      assert.ok(!names.includes('meter'));

      const north = sim.fleet('north');
      const filtered = await http.get<SimPage>(`${sim.supersimUrl}/v1/Sims?Fleet=north&Status=inactive&PageSize=5`);
      assert.equal(filtered.body.sims.length, 5);
      assert.ok(filtered.body.sims.every((s) => s.status === 'inactive' && s.fleet_sid === north.sid));
      // In the order of the spec's own example URLs: Status, then Fleet.
      assert.match(filtered.body.meta.next_page_url as string, /\?Status=inactive&Fleet=north&PageSize=5&Page=1&PageToken=PA\d+$/);
      const bySid = await http.get<SimPage>(`${sim.supersimUrl}/v1/Sims?Fleet=${north.sid}&PageSize=1000`);
      assert.equal(bySid.body.sims.length, 30);
    });

    it('an unknown Fleet lists nothing; an Iccid lists at most one SIM', async () => {
      assert.deepEqual((await http.get<SimPage>(`${sim.supersimUrl}/v1/Sims?Fleet=nowhere`)).body.sims, []);
      const iccid = sim.sim('sim-0003').iccid;
      assert.deepEqual((await http.get<SimPage>(`${sim.supersimUrl}/v1/Sims?Iccid=${iccid}`)).body.sims.map((s) => s.unique_name), ['sim-0003']);
    });

    it('refuses a Status outside the enum and a PageSize outside 1..1000 (400), and non-GET methods (405)', async () => {
      const status = await http.get(`${sim.supersimUrl}/v1/Sims?Status=suspended`);
      assert.equal(status.status, 400);
      assert.match(status.body.message as string, /Invalid Status: suspended; expected one of active, ready, inactive, new, scheduled/);
      for (const size of ['0', '1001', 'x']) assert.equal((await http.get(`${sim.supersimUrl}/v1/Sims?PageSize=${size}`)).status, 400, size);
      assert.equal((await http.get(`${sim.supersimUrl}/v1/Sims?PageToken=bogus`)).status, 400);
      assert.equal((await http.delete(`${sim.supersimUrl}/v1/Sims/thermostat`)).status, 405);
    });

    it('fetches a Super SIM by SID or unique name with every field; 404 for an unknown SIM or a Wireless one; 401 without credentials', async () => {
      const device = sim.sim('thermostat');
      const fetched = await http.get<Sim>(`${sim.supersimUrl}/v1/Sims/${device.sid}`);
      assert.equal(fetched.status, 200);
      assert.deepEqual(Object.keys(fetched.body).sort(), ['account_sid', 'date_created', 'date_updated', 'fleet_sid', 'iccid', 'links', 'sid', 'status', 'unique_name', 'url']);
      assert.equal(fetched.body.fleet_sid, sim.fleet().sid);
      assert.equal(fetched.body.iccid, device.iccid);
      assert.equal((await http.get<Sim>(`${sim.supersimUrl}/v1/Sims/thermostat`)).body.sid, device.sid);
      const unknown = await http.get(`${sim.supersimUrl}/v1/Sims/nope`);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.code, 20404);
      assert.equal((await http.get(`${sim.supersimUrl}/v1/Sims/meter`)).status, 404);
      assert.equal((await http.raw('GET', `${sim.supersimUrl}/v1/Sims`)).status, 401);
    });
  });

  describe('Fleets', () => {
    beforeEach(() => start({ fleets: [{ uniqueName: 'north' }] }));

    it('filters Fleets by Network Access Profile and bounds PageSize at 1000', async () => {
      const profile = sim.fleet('north').network_access_profile_sid as string;
      const page = await http.get<{ fleets: { unique_name: string }[]; meta: ListMeta }>(`${sim.supersimUrl}/v1/Fleets?NetworkAccessProfile=${profile}`);
      assert.deepEqual(page.body.fleets.map((f) => f.unique_name), ['north']);
      assert.match(page.body.meta.url, /NetworkAccessProfile=HA/);
      assert.equal((await http.get(`${sim.supersimUrl}/v1/Fleets?PageSize=1001`)).status, 400);
    });
  });

  describe('Programmable Wireless Sims', () => {
    beforeEach(() => start({ sims: [{ uniqueName: 'meter', api: 'wireless' }, { uniqueName: 'tag', api: 'wireless', status: 'suspended' }, { uniqueName: 'thermostat' }] }));

    it('lists and fetches Wireless SIMs only, filtered by the Wireless statuses', async () => {
      const all = await http.get<WirelessPage>(`${sim.wirelessUrl}/v1/Sims`);
      assert.deepEqual(all.body.sims.map((s) => s.unique_name), ['tag', 'meter']);
      assert.equal(all.body.sims[1].url, `${sim.wirelessUrl}/v1/Sims/${sim.sim('meter').sid}`);
      const suspended = await http.get<WirelessPage>(`${sim.wirelessUrl}/v1/Sims?Status=suspended`);
      assert.deepEqual(suspended.body.sims.map((s) => s.unique_name), ['tag']);
      assert.equal((await http.get(`${sim.wirelessUrl}/v1/Sims?Status=inactive`)).status, 400);
      assert.equal((await http.get(`${sim.wirelessUrl}/v1/Sims?PageSize=1001`)).status, 400);
      assert.equal((await http.get(`${sim.wirelessUrl}/v1/Sims/thermostat`)).status, 404);
      const meter = await http.get<WirelessSim>(`${sim.wirelessUrl}/v1/Sims/meter`);
      assert.equal(meter.body.commands_callback_url, null);
      assert.equal(meter.body.commands_callback_method, 'POST');
      assert.equal(meter.body.status, 'active');
    });

    it('updates the Commands Callback, status and friendly name; the device\'s Commands go to the new URL', async () => {
      receiver = await startTestServer((_req, res) => sendJson(res, 200, {}));
      const url = `${receiver.url}/commands?node=1`;
      const updated = await http.post<WirelessSim>(`${sim.wirelessUrl}/v1/Sims/meter`, { CommandsCallbackUrl: url, CommandsCallbackMethod: 'get', FriendlyName: 'Meter 1', Status: 'ready' });
      assert.equal(updated.status, 200);
      assert.equal(updated.body.commands_callback_url, url);
      assert.equal(updated.body.commands_callback_method, 'GET');
      assert.equal(updated.body.friendly_name, 'Meter 1');
      assert.equal(updated.body.status, 'ready');
      await sim.sim('meter').sendSms('reading 42');
      assert.equal(receiver.requests.length, 1);
      assert.equal(receiver.requests[0].method, 'GET');
      assert.match(receiver.requests[0].url, /^\/commands\?node=1&.*Command=reading\+42/);
    });

    it('refuses a bad update as a whole: nothing changes', async () => {
      const cases: [Record<string, string>, RegExp][] = [
        [{ CommandsCallbackUrl: 'https://ok.example/', CommandsCallbackMethod: 'PUT' }, /Invalid CommandsCallbackMethod: PUT; expected GET or POST/],
        [{ CommandsCallbackUrl: 'ftp://x.example/' }, /Invalid CommandsCallbackUrl/],
        [{ CommandsCallbackUrl: 'https://ok.example/', Status: 'inactive' }, /Invalid Status: inactive/],
        [{ CommandsCallbackUrl: 'https://ok.example/', CallbackMethod: 'PATCH' }, /Invalid CallbackMethod/],
        [{ UniqueName: 'renamed' }, /does not rename SIMs/],
      ];
      for (const [form, message] of cases) {
        const answer = await http.post(`${sim.wirelessUrl}/v1/Sims/meter`, form);
        assert.equal(answer.status, 400, JSON.stringify(form));
        assert.match(answer.body.message as string, message);
      }
      assert.deepEqual(sim.sim('meter').commandsCallback, { url: null, method: 'POST' });
      assert.equal(sim.sim('meter').status, 'active');
      const json = await http.raw('POST', `${sim.wirelessUrl}/v1/Sims/meter`, { body: '{}', headers: { 'content-type': 'application/json', authorization: await http.authorization() } });
      assert.equal(json.status, 400);
      assert.equal((await http.post(`${sim.wirelessUrl}/v1/Sims/nope`, { CommandsCallbackUrl: '' })).status, 404);
    });
  });

  describe('KORE webhook secrets', () => {
    const secretsUrl = (): string => `${sim.webhookUrl}/v1/secrets`;

    async function postJson(body: string, contentType = 'application/json'): Promise<{ status: number; body: Record<string, unknown> }> {
      return http.raw('POST', secretsUrl(), { body, headers: { 'content-type': contentType, authorization: await http.authorization() } });
    }

    it('creates a secret from a JSON Name (201), which signs every callback from then on', async () => {
      await start({ sims: [{ uniqueName: 'meter', api: 'wireless' }] });
      receiver = await startTestServer((_req, res) => sendJson(res, 200, {}));
      const url = `${receiver.url}/hook`;
      await http.post(`${sim.wirelessUrl}/v1/Sims/meter`, { CommandsCallbackUrl: url });
      await sim.sim('meter').sendSms('before');
      assert.equal(receiver.requests[0].headers['kore-signature'], koreSignature('sim-webhook-secret', 'POST', url, receiver.requests[0].body));

      const created = await postJson(JSON.stringify({ Name: 'node-red' }));
      assert.equal(created.status, 201);
      assert.match(created.body.id as string, /^whs_[0-9a-z]{26}$/);
      assert.equal(created.body.status, 'active');
      assert.equal(sim.webhookSecret, created.body.secret);
      assert.equal(sim.credentials.webhookSecret, 'sim-webhook-secret', 'the configured credentials stay as started');

      await sim.sim('meter').sendSms('after');
      assert.equal(receiver.requests[1].headers['kore-signature'], koreSignature(created.body.secret as string, 'POST', url, receiver.requests[1].body));
    });

    it('checks the create as the spec says: JSON only, Name required', async () => {
      await start();
      const cases: [string, string, RegExp][] = [
        ['Name=x', 'application/x-www-form-urlencoded', /Content-Type must be application\/json/],
        ['{"Name": ', 'application/json', /expected a JSON object/],
        ['{}', 'application/json', /Missing required parameter Name/],
        ['{"Name": 7}', 'application/json', /Invalid Name/],
      ];
      for (const [body, type, message] of cases) {
        const answer = await postJson(body, type);
        assert.equal(answer.status, 400, body);
        assert.match(answer.body.message as string, message);
      }
      assert.equal((await http.raw('GET', secretsUrl())).status, 401);
      assert.equal(sim.webhookSecret, 'sim-webhook-secret');
    });

    it('lists secrets oldest first by page_number, never with their values, filtered by status', async () => {
      await start({ webhookSecret: '' });
      assert.equal(sim.webhookSecret, '');
      assert.deepEqual((await http.get<{ data: unknown[] }>(secretsUrl())).body.data, []);
      for (const name of ['a', 'b', 'c']) await postJson(JSON.stringify({ Name: name }));
      type SecretsPage = { data: { name: string; secret?: string }[]; meta_data: { next_page_url: string | null; previous_page_url: string | null; page_number: number; count: number } };
      const first = await http.get<SecretsPage>(`${secretsUrl()}?page_size=2`);
      assert.deepEqual(first.body.data.map((s) => s.name), ['a', 'b']);
      assert.ok(first.body.data.every((s) => s.secret === undefined));
      assert.equal(first.body.meta_data.next_page_url, `${secretsUrl()}?page_size=2&page_number=2`);
      const second = await http.get<SecretsPage>(first.body.meta_data.next_page_url as string);
      assert.deepEqual(second.body.data.map((s) => s.name), ['c']);
      assert.equal(second.body.meta_data.next_page_url, null);
      assert.equal(second.body.meta_data.previous_page_url, `${secretsUrl()}?page_size=2&page_number=1`);
      assert.equal((await http.get<SecretsPage>(`${secretsUrl()}?status=pending`)).body.data.length, 0);
      for (const query of ['status=revoked', 'page_size=0', 'page_size=101', 'page_number=0']) assert.equal((await http.get(`${secretsUrl()}?${query}`)).status, 400, query);
    });

    it('does not exist in twilio mode', async () => {
      await start({ mode: 'twilio' });
      assert.equal((await http.get(`${sim.webhookUrl}/v1/secrets`)).status, 404);
    });
  });

  describe('CLI --sims', () => {
    it('reads --sims, --fleet and --sim-statuses, and refuses them when wrong', () => {
      assert.equal(parseCliArgs([]).generated, undefined);
      assert.deepEqual(parseCliArgs(['--sims', '250']).generated, { count: 250, fleet: 'default', statuses: ['active'] });
      assert.deepEqual(parseCliArgs(['--sims', '3', '--fleet', 'north', '--sim-statuses', 'active, inactive']).generated, { count: 3, fleet: 'north', statuses: ['active', 'inactive'] });
      const cases: [string[], RegExp][] = [
        [['--sims', '0'], /--sims must be an integer from 1 to 50000/],
        [['--sims', '50001'], /--sims must be/],
        [['--sims', 'many'], /--sims must be/],
        [['--fleet', 'north'], /--fleet is for the SIMs of --sims/],
        [['--sim-statuses', 'active'], /--sim-statuses is for the SIMs of --sims/],
        [['--sims', '2', '--sim-statuses', 'suspended'], /--sim-statuses must list statuses out of active, ready, inactive, new, scheduled; got "suspended"/],
        [['--sims', '2', '--fleet', 'a/b'], /not a usable Fleet name/],
        [['--sims', '2', '--devices', 'sim-0002'], /--devices names sim-0002, which --sims makes too/],
      ];
      for (const [argv, message] of cases) assert.throws(() => parseCliArgs(argv), (error: Error) => error instanceof CliUsageError && message.test(error.message), argv.join(' '));
    });

    it('starts with the SIMs in their Fleet, listed by the API, in one line of the table', async () => {
      const logs: string[] = [];
      const run = await runCli(['--port', '0', '--sims', '12', '--fleet', 'north', '--sim-statuses', 'active,inactive'], { log: (line) => logs.push(line), error: (line) => logs.push(line) });
      try {
        assert.equal(run.exitCode, 0);
        const started = run.simulator as Simulator;
        const text = logs.join('\n');
        assert.match(text, /sim-0001 … sim-0012 {2}12 Super SIMs in Fleet north, statuses active, inactive; devices echo on device port 6655/);
        assert.match(text, /Webhook API URL http:\/\/127\.0\.0\.1:\d+\/webhook/);
        assert.match(text, /Fleets \(12 SIMs in north, every other SIM in default\):\n {2}default {2}HF[0-9a-f]{32}\n {2}north {2}HF[0-9a-f]{32}/);
        const listed = await new SimHttp(started).get<SimPage>(`${started.supersimUrl}/v1/Sims?Fleet=north&Status=inactive`);
        assert.equal(listed.body.sims.length, 6);
      } finally {
        await run.stop();
      }
    });
  });
});
