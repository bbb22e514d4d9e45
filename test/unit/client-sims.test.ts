import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { ApiError, ClientConfigError, MAX_PAGE_SIZE, SuperSimClient } from '../../src/api';
import type { SuperSimClientOptions } from '../../src/api';
import { Simulator, generateSims } from '../../src/simulator';
import type { SimulatorMode, SimulatorOptions } from '../../src/simulator';
import { sendJson, startTestServer } from '../support/net';
import type { TestServer } from '../support/net';

/** Sends to the real simulator and remembers every path it asked for (query included). */
class RecordingAgent extends Agent {
  readonly paths: string[] = [];

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.paths.push(options.path);
    return super.dispatch(options, handler);
  }
}

function queryOf(path: string): Record<string, string> {
  return Object.fromEntries(new URL(path, 'http://x').searchParams);
}

async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterator) items.push(item);
  return items;
}

async function rejection<E extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof type, `expected a ${type.name}, got ${inspect(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

describe('SuperSimClient: SIMs, Fleets, Wireless SIMs and webhook secrets', function () {
  let sim: Simulator;
  let client: SuperSimClient;
  let agent: RecordingAgent;
  let receiver: TestServer | undefined;

  async function start(mode: SimulatorMode, options: SimulatorOptions = {}, overrides: Partial<SuperSimClientOptions> = {}): Promise<void> {
    sim = await Simulator.start({ mode, ...options });
    agent = new RecordingAgent();
    const c = sim.credentials;
    client = new SuperSimClient({
      provider: mode,
      ...(mode === 'kore' ? { clientId: c.clientId, clientSecret: c.clientSecret } : { accountSid: c.accountSid, authToken: c.authToken }),
      supersimUrl: sim.supersimUrl,
      wirelessUrl: sim.wirelessUrl,
      tokenUrl: sim.tokenUrl,
      webhookUrl: sim.webhookUrl,
      dispatcher: agent,
      retry: { baseDelayMs: 5, maxDelayMs: 50 },
      ...overrides,
    });
  }

  afterEach(async function () {
    await client?.destroy();
    await agent?.close();
    await receiver?.close();
    receiver = undefined;
    await sim?.close();
  });

  const simPaths = (): string[] => agent.paths.filter((path) => path.startsWith('/supersim/v1/Sims'));

  describe('Super SIM Sims', function () {
    beforeEach(async function () {
      await start('kore', {
        fleets: [{ uniqueName: 'north' }],
        sims: [...generateSims({ count: 250, fleet: 'north', statuses: ['active', 'active', 'inactive'] }), ...generateSims({ count: 20, prefix: 'south-' })],
      });
    });

    it('lists 250 SIMs of a Fleet over 3 pages of 100, following next_page_url', async function () {
      const sims = await collect(client.listSims({ fleet: 'north', pageSize: 100 }));
      assert.equal(sims.length, 250);
      assert.equal(new Set(sims.map((s) => s.unique_name)).size, 250);
      assert.ok(sims.every((s) => s.unique_name?.startsWith('sim-') && s.fleet_sid === sim.fleet('north').sid));
      assert.equal(simPaths().length, 3);
      assert.equal(sim.stats.count('GET', '/supersim/v1/Sims'), 3);
      // Pages after the first are the server's next_page_url, which keeps the filter.
      for (const path of simPaths()) assert.equal(queryOf(path).Fleet, 'north');
    });

    it('sends Fleet, Status and Iccid as query parameters, and the simulator applies them', async function () {
      const north = sim.fleet('north');
      const active = await collect(client.listSims({ fleet: north.sid, status: 'active', pageSize: 100 }));
      assert.equal(active.length, 167);
      assert.ok(active.every((s) => s.status === 'active'));
      assert.deepEqual(queryOf(simPaths()[0]), { Fleet: north.sid, Status: 'active', PageSize: '100' });
      assert.equal(simPaths().length, 2);

      const iccid = sim.sim('sim-0042').iccid;
      const one = await collect(client.listSims({ iccid }));
      assert.deepEqual(one.map((s) => s.unique_name), ['sim-0042']);
      assert.deepEqual(queryOf(simPaths().at(-1) as string), { Iccid: iccid });
    });

    it('caps PageSize at the API maximum (1000), which the simulator accepts', async function () {
      assert.equal(MAX_PAGE_SIZE.sims, 1000);
      const sims = await collect(client.listSims({ pageSize: 5000 }));
      assert.equal(sims.length, 270);
      assert.equal(queryOf(simPaths()[0]).PageSize, '1000');
      assert.equal(simPaths().length, 1);
    });

    it('fetches a SIM by unique name or SID; an unknown one is a 404 that names it', async function () {
      const byName = await client.fetchSim('sim-0007');
      assert.equal(byName.unique_name, 'sim-0007');
      assert.match(byName.sid ?? '', /^HS[0-9a-f]{32}$/);
      assert.equal(byName.url, `${sim.supersimUrl}/v1/Sims/${byName.sid}`);
      assert.equal((await client.fetchSim(byName.sid as string)).unique_name, 'sim-0007');

      const err = await rejection(client.fetchSim('no-such-sim'), ApiError);
      assert.equal(err.status, 404);
      assert.equal(err.kind, 'api');
      assert.match(err.message, /^SIM no-such-sim is not in this account \(HTTP 404, code 20404\)/);
    });

    it('stops paging when the signal aborts: the next page is never asked for', async function () {
      const controller = new AbortController();
      let seen = 0;
      const err = await rejection(
        (async () => {
          for await (const item of client.listSims({ pageSize: 100 }, { signal: controller.signal })) {
            assert.ok(item.sid);
            if (++seen === 1) controller.abort();
          }
        })(),
        ApiError,
      );
      assert.equal(err.kind, 'cancelled');
      assert.equal(seen, 100, 'the page already fetched is still handed out');
      assert.equal(simPaths().length, 1);
    });

    it('takes a signal on the command lists too, and without one they list as before', async function () {
      const controller = new AbortController();
      controller.abort();
      const err = await rejection(client.listIpCommands({}, { signal: controller.signal }).next(), ApiError);
      assert.equal(err.kind, 'cancelled');
      assert.equal(sim.stats.count('GET', '/supersim/v1/IpCommands'), 0);
      assert.deepEqual(await collect(client.listIpCommands({ sim: 'sim-0001' })), []);
    });
  });

  describe('Fleets', function () {
    beforeEach(() => start('twilio', { fleets: [{ uniqueName: 'north' }, { uniqueName: 'south' }] }));

    it('lists every Fleet, and by Network Access Profile, with PageSize capped at 1000', async function () {
      const fleets = await collect(client.listFleets({ pageSize: 2 }));
      assert.deepEqual(fleets.map((f) => f.unique_name).sort(), ['default', 'north', 'south']);
      assert.equal(sim.stats.count('GET', '/supersim/v1/Fleets'), 2);

      const profile = sim.fleet('south').network_access_profile_sid as string;
      const south = await collect(client.listFleets({ networkAccessProfile: profile, pageSize: 10_000 }));
      assert.deepEqual(south.map((f) => f.unique_name), ['south']);
      assert.deepEqual(queryOf(agent.paths.at(-1) as string), { NetworkAccessProfile: profile, PageSize: '1000' });
    });
  });

  describe('Programmable Wireless Sims', function () {
    beforeEach(() =>
      start('kore', {
        sims: [{ uniqueName: 'thermostat' }, ...generateSims({ count: 120, api: 'wireless', prefix: 'meter-', statuses: ['active', 'suspended'] })],
      }),
    );

    it('lists Wireless SIMs only, page by page, filtered by Status and Iccid sent as query parameters', async function () {
      const all = await collect(client.listWirelessSims({ pageSize: 50 }));
      assert.equal(all.length, 120);
      assert.ok(all.every((s) => s.sid?.startsWith('DE')));
      assert.equal(sim.stats.count('GET', '/wireless/v1/Sims'), 3);

      const suspended = await collect(client.listWirelessSims({ status: 'suspended', pageSize: 5000 }));
      assert.equal(suspended.length, 60);
      const wirelessPaths = agent.paths.filter((path) => path.startsWith('/wireless/v1/Sims'));
      assert.deepEqual(queryOf(wirelessPaths.at(-1) as string), { Status: 'suspended', PageSize: '1000' });

      const iccid = sim.sim('meter-0003').iccid;
      assert.deepEqual((await collect(client.listWirelessSims({ iccid }))).map((s) => s.unique_name), ['meter-0003']);
      // The simulator's SIMs have no rate plan: naming one leaves none.
      assert.deepEqual(await collect(client.listWirelessSims({ ratePlan: 'WP00000000000000000000000000000000' })), []);
    });

    it('fetches a Wireless SIM; a Super SIM is not one (404)', async function () {
      const meter = await client.fetchWirelessSim('meter-0001');
      assert.equal(meter.unique_name, 'meter-0001');
      assert.equal(meter.commands_callback_url, null);
      const err = await rejection(client.fetchWirelessSim('thermostat'), ApiError);
      assert.equal(err.status, 404);
      assert.match(err.message, /^Wireless SIM thermostat is not in this account/);
    });

    it('points a SIM\'s Commands Callback at a URL (POST form), where its device\'s Commands then go', async function () {
      receiver = await startTestServer((_req, res) => sendJson(res, 200, {}));
      const url = `${receiver.url}/hook`;
      const updated = await client.updateWirelessSim('meter-0001', { commandsCallbackUrl: url, commandsCallbackMethod: 'POST' });
      assert.equal(updated.commands_callback_url, url);
      assert.equal(updated.commands_callback_method, 'POST');
      assert.deepEqual(sim.sim('meter-0001').commandsCallback, { url, method: 'POST' });

      await sim.sim('meter-0001').sendSms('hello cloud');
      assert.equal(receiver.requests.length, 1);
      const fields = new URLSearchParams(receiver.requests[0].body);
      assert.equal(fields.get('Command'), 'hello cloud');
      assert.equal(fields.get('SimUniqueName'), 'meter-0001');

      const cleared = await client.updateWirelessSim('meter-0001', { commandsCallbackUrl: '' });
      assert.equal(cleared.commands_callback_url, null);
    });

    it('reports a refused update as the provider said it, naming the field', async function () {
      const err = await rejection(client.updateWirelessSim('meter-0001', { commandsCallbackUrl: 'not a url' }), ApiError);
      assert.equal(err.status, 400);
      assert.match(err.message, /CommandsCallbackUrl/);
      const missing = await rejection(client.updateWirelessSim('nope', { commandsCallbackUrl: 'https://example.test/' }), ApiError);
      assert.match(missing.message, /^Wireless SIM nope is not in this account/);
    });
  });

  describe('KORE webhook secrets', function () {
    it('creates a secret (JSON body) that then signs callbacks, lists secrets without their values, and redacts the value from errors', async function () {
      await start('kore');
      const created = await client.createWebhookSecret({ name: 'node-red' });
      assert.match(created.id, /^whs_[0-9a-z]{26}$/);
      assert.equal(created.name, 'node-red');
      assert.equal(created.status, 'active');
      assert.ok(created.secret.length >= 32);
      assert.equal(sim.webhookSecret, created.secret);

      const listed = await collect(client.listWebhookSecrets({ pageSize: 1 }));
      assert.deepEqual(listed.map((s) => s.name), ['default', 'node-red']);
      assert.ok(listed.every((s) => !('secret' in s)));
      assert.equal(sim.stats.count('GET', '/webhook/v1/secrets'), 2, 'two pages of one, through meta_data.next_page_url');
      assert.deepEqual(queryOf(agent.paths.filter((p) => p.startsWith('/webhook/')).at(-1) as string), { page_size: '1', page_number: '2' });
      assert.deepEqual((await collect(client.listWebhookSecrets({ status: 'pending' }))).length, 0);

      sim.faults.add({ target: 'webhookSecrets' }, { kind: 'status', status: 400, message: `bad: ${created.secret}` });
      const err = await rejection(collect(client.listWebhookSecrets()), ApiError);
      assert.ok(!err.message.includes(created.secret), err.message);
      assert.match(err.message, /\[redacted\]/);
    });

    it('a Twilio account gets a ClientConfigError naming the provider, and nothing is sent', async function () {
      await start('twilio');
      assert.equal(client.webhookUrl, undefined);
      const create = await rejection(client.createWebhookSecret({ name: 'x' }), ClientConfigError);
      assert.equal(create.field, 'provider');
      assert.match(create.message, /KORE Wireless feature.*Provider is Twilio/);
      const list = await rejection(client.listWebhookSecrets().next(), ClientConfigError);
      assert.equal(list.field, 'provider');
      assert.equal(agent.paths.length, 0);
    });

    it('without a Webhook API URL, a KORE account whose Token URL is not KORE\'s refuses rather than send its token to KORE', async function () {
      await start('kore', {}, { webhookUrl: '' });
      assert.equal(client.webhookUrl, undefined);
      const err = await rejection(client.createWebhookSecret({ name: 'x' }), ClientConfigError);
      assert.equal(err.field, 'webhookUrl');
      assert.match(err.message, /Set the Webhook API URL of the account node/);
      assert.equal(agent.paths.length, 0);
      const defaulted = new SuperSimClient({ provider: 'kore', clientId: 'id', clientSecret: 'secret-value' });
      assert.equal(defaulted.webhookUrl, 'https://webhook.api.korewireless.com');
      await defaulted.close();
    });

    it('a blank name is refused before anything is sent', async function () {
      await start('kore');
      const err = await rejection(client.createWebhookSecret({ name: '  ' }), ClientConfigError);
      assert.equal(err.field, 'name');
      assert.equal(agent.paths.length, 0);
    });
  });
});
