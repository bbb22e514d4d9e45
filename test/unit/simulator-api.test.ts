import assert from 'node:assert/strict';
import sinon from 'sinon';
import type { IpCommand, ListMeta, SmsCommand, WirelessCommand } from '../../src/api/types';
import { Simulator } from '../../src/simulator';
import type { SimulatorOptions } from '../../src/simulator';
import { SimHttp } from '../support/sim-http';

const FAST = { ipSentMs: 5, smsSentMs: 5, smsDeliveredMs: 5, callbackRetryMs: 10 };

describe('simulator API', () => {
  let sim: Simulator;
  let http: SimHttp;

  async function start(options: SimulatorOptions = {}): Promise<void> {
    sim = await Simulator.start({ timing: FAST, sims: [{ uniqueName: 'thermostat' }, { uniqueName: 'meter', api: 'wireless' }], ...options });
    http = new SimHttp(sim);
  }

  afterEach(async () => {
    sinon.restore();
    await sim?.close();
  });

  describe('lifecycle', () => {
    it('refuses bad options without leaving anything running, and close() is idempotent', async () => {
      await assert.rejects(Simulator.start({ sims: [{ uniqueName: 'a' }, { uniqueName: 'a' }] }), /already exists/);
      await assert.rejects(Simulator.start({ sims: [{ uniqueName: 'a', fleet: 'nope' }] }), /unknown fleet/);
      await assert.rejects(Simulator.start({ mode: 'aws' as 'kore' }), /mode/);
      await start({ fleets: [{ uniqueName: 'field' }], sims: [{ uniqueName: 'a', fleet: 'field', iccid: '89000000000000000001' }] });
      assert.match(sim.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(sim.supersimUrl, `${sim.baseUrl}/supersim`);
      assert.equal(sim.wirelessUrl, `${sim.baseUrl}/wireless`);
      assert.equal(sim.tokenUrl, `${sim.baseUrl}/api-services/v1/auth/token`);
      assert.equal(sim.mode, 'kore');
      assert.equal(sim.sim('a').iccid, '89000000000000000001');
      assert.equal(sim.sim(sim.sim('a').sid).uniqueName, 'a');
      assert.throws(() => sim.sim('b'), /no simulated SIM b/);
      assert.throws(() => sim.fleet('nope'), /no simulated fleet/);
      const added = sim.addSim({ uniqueName: 'b', api: 'wireless' });
      assert.match(added.sid, /^DE[0-9a-f]{32}$/);
      assert.deepEqual(sim.devices.map((d) => d.uniqueName), ['a', 'b']);
      await sim.close();
      await sim.close();
      assert.throws(() => sim.addSim({ uniqueName: 'c' }), /closed/);
    });
  });

  describe('auth (kore)', () => {
    beforeEach(() => start());

    it('issues a bearer token for the client credentials, in the form or as HTTP Basic', async () => {
      const form = await http.token({ grant_type: 'client_credentials', client_id: 'sim-client-id', client_secret: 'sim-client-secret' });
      assert.equal(form.status, 200);
      assert.equal(form.body.token_type, 'Bearer');
      assert.equal(form.body.expires_in, 3600);
      assert.match(form.body.access_token as string, /^.{16,}$/);
      const basic = await http.token({ grant_type: 'client_credentials' }, { authorization: 'Basic ' + Buffer.from('sim-client-id:sim-client-secret').toString('base64') });
      assert.equal(basic.status, 200);
      assert.notEqual(basic.body.access_token, form.body.access_token);
      assert.equal(sim.stats.tokenRequests, 2);
    });

    it('answers 401 to a wrong secret and 400 to a missing grant_type', async () => {
      const wrong = await http.token({ grant_type: 'client_credentials', client_id: 'sim-client-id', client_secret: 'nope' });
      assert.equal(wrong.status, 401);
      assert.deepEqual(wrong.body, {
        status: 401,
        code: 20003,
        message: 'Authentication Error - invalid client credentials',
        more_info: 'https://docs.korewireless.com/errors/20003',
      });
      assert.equal(wrong.headers.get('content-type'), 'application/json');
      const missing = await http.token({ client_id: 'sim-client-id', client_secret: 'sim-client-secret' });
      assert.equal(missing.status, 400);
      assert.equal(missing.body.code, 20001);
    });

    it('answers 401 without a token or with an unknown one', async () => {
      const url = `${sim.supersimUrl}/v1/IpCommands`;
      const none = await http.raw('GET', url);
      assert.equal(none.status, 401);
      assert.equal(none.body.code, 20003);
      const bogus = await http.raw('GET', url, { headers: { authorization: 'Bearer not-a-token' } });
      assert.equal(bogus.status, 401);
      const basic = await http.raw('GET', url, { headers: { authorization: 'Basic ' + Buffer.from(`${sim.credentials.accountSid}:sim-auth-token`).toString('base64') } });
      assert.equal(basic.status, 401, 'Twilio credentials do not open the KORE API');
      assert.equal((await http.get(url)).status, 200);
    });

    it('answers 401 once the token has expired (by Date.now)', async () => {
      const url = `${sim.supersimUrl}/v1/Fleets`;
      assert.equal((await http.get(url)).status, 200);
      const clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
      clock.tick(3599_000);
      assert.equal((await http.get(url)).status, 200);
      clock.tick(2_000);
      const expired = await http.get(url);
      assert.equal(expired.status, 401);
      assert.equal(expired.body.code, 20003);
    });

    it('revokeTokens() makes every issued token fail with 401 until a new one is fetched', async () => {
      const url = `${sim.supersimUrl}/v1/Fleets`;
      assert.equal((await http.get(url)).status, 200);
      sim.revokeTokens();
      assert.equal((await http.get(url)).status, 401);
      http.forgetToken();
      assert.equal((await http.get(url)).status, 200);
    });
  });

  describe('auth (twilio)', () => {
    beforeEach(() => start({ mode: 'twilio', accountSid: 'AC' + 'f'.repeat(32), authToken: 'tok' }));

    it('takes HTTP Basic with the account SID and auth token, and has no token endpoint', async () => {
      const url = `${sim.supersimUrl}/v1/IpCommands`;
      assert.equal((await http.get(url)).status, 200);
      const wrong = await http.raw('GET', url, { headers: { authorization: 'Basic ' + Buffer.from(`${'AC' + 'f'.repeat(32)}:wrong`).toString('base64') } });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.code, 20003);
      assert.equal(wrong.body.more_info, 'https://www.twilio.com/docs/errors/20003');
      assert.equal((await http.raw('GET', url)).status, 401);
      const token = await http.token({ grant_type: 'client_credentials', client_id: 'sim-client-id', client_secret: 'sim-client-secret' });
      assert.equal(token.status, 404);
    });
  });

  describe('routes', () => {
    beforeEach(() => start());

    it('answers 404 to unknown routes, 405 to wrong methods, 400 to non-form bodies, 413 to huge ones', async () => {
      const auth = await http.authorization();
      const unknown = await http.raw('GET', `${sim.baseUrl}/supersim/v1/Nope`, { headers: { authorization: auth } });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.code, 20404);
      const wrongMethod = await http.raw('DELETE', `${sim.supersimUrl}/v1/IpCommands`, { headers: { authorization: auth } });
      assert.equal(wrongMethod.status, 405);
      assert.equal(wrongMethod.headers.get('allow'), 'GET, POST');
      const json = await http.raw('POST', `${sim.supersimUrl}/v1/IpCommands`, {
        body: JSON.stringify({ Sim: 'thermostat' }),
        headers: { authorization: auth, 'content-type': 'application/json' },
      });
      assert.equal(json.status, 400);
      const huge = await http.raw('POST', `${sim.supersimUrl}/v1/IpCommands`, {
        body: 'Payload=' + 'a'.repeat(70_000),
        headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(huge.status, 413);
      assert.equal(sim.stats.count('POST', '/supersim/v1/IpCommands'), 2);
      assert.equal(sim.stats.created.ip, 0);
    });
  });

  describe('IP Commands', () => {
    // Commands stay queued here, so status filters see a stable list.
    const options: SimulatorOptions = {
      timing: { ...FAST, ipSentMs: 60_000 },
      sims: [{ uniqueName: 'thermostat' }, { uniqueName: 'meter', api: 'wireless' }, { uniqueName: 'off', status: 'inactive' }],
    };
    beforeEach(() => start(options));

    const url = (): string => `${sim.supersimUrl}/v1/IpCommands`;

    it('creates a queued to_sim command and serves it', async () => {
      const device = sim.sim('thermostat');
      const created = await http.post<IpCommand>(url(), { Sim: 'thermostat', Payload: 'hello', DevicePort: 6655 });
      assert.equal(created.status, 201);
      const c = created.body;
      assert.match(c.sid, /^HG[0-9a-f]{32}$/);
      assert.equal(c.account_sid, sim.credentials.accountSid);
      assert.equal(c.sim_sid, device.sid);
      assert.equal(c.sim_iccid, device.iccid);
      assert.match(device.iccid, /^89[0-9]{18}$/);
      assert.equal(c.status, 'queued');
      assert.equal(c.direction, 'to_sim');
      assert.equal(c.device_ip, null);
      assert.equal(c.device_port, 6655);
      assert.equal(c.payload_type, 'text');
      assert.equal(c.payload, 'hello');
      assert.equal(c.url, `${url()}/${c.sid}`);
      assert.equal(c.error_code, null);
      assert.equal(c.error_message, null);
      assert.ok(!Number.isNaN(Date.parse(c.date_created)));
      const fetched = await http.get<IpCommand>(c.url);
      assert.equal(fetched.status, 200);
      assert.equal(fetched.body.sid, c.sid);
      assert.equal((await http.get(`${url()}/HG${'0'.repeat(32)}`)).status, 404);
      assert.equal(sim.stats.created.ip, 1);
      assert.deepEqual(sim.ipCommands().map((x) => x.sid), [c.sid]);
    });

    it('refuses invalid requests as the real API does', async () => {
      const base = { Sim: 'thermostat', Payload: 'x', DevicePort: 1 };
      const cases: [Record<string, string | number>, number, RegExp][] = [
        [{ Payload: 'x', DevicePort: 1 }, 400, /Sim/],
        [{ ...base, DevicePort: 0 }, 400, /DevicePort/],
        [{ ...base, DevicePort: 65536 }, 400, /DevicePort/],
        [{ ...base, DevicePort: '12a' }, 400, /DevicePort/],
        [{ Sim: 'thermostat', Payload: 'x' }, 400, /DevicePort/],
        [{ ...base, Payload: 'a'.repeat(1301) }, 400, /1301 bytes/],
        [{ ...base, Payload: 'é'.repeat(651) }, 400, /1302 bytes/],
        [{ ...base, PayloadType: 'binary', Payload: Buffer.alloc(1301).toString('base64') }, 400, /1301 bytes/],
        [{ ...base, PayloadType: 'binary', Payload: 'not base64!' }, 400, /Base64/],
        [{ ...base, PayloadType: 'binary', Payload: 'QUJD=' }, 400, /Base64/],
        [{ ...base, PayloadType: 'hex' }, 400, /PayloadType/],
        [{ ...base, CallbackUrl: '/relative' }, 400, /CallbackUrl/],
        [{ ...base, CallbackUrl: 'ftp://example.com/x' }, 400, /CallbackUrl/],
        [{ ...base, CallbackUrl: 'http://127.0.0.1/x', CallbackMethod: 'PUT' }, 400, /CallbackMethod/],
        [{ ...base, Sim: 'nobody' }, 404, /\/Sims\/nobody was not found/],
        [{ ...base, Sim: 'meter' }, 404, /\/Sims\/meter was not found/],
        [{ ...base, Sim: 'off' }, 400, /inactive/],
      ];
      for (const [form, status, message] of cases) {
        const answer = await http.post(url(), form);
        assert.equal(answer.status, status, JSON.stringify(form).slice(0, 80));
        assert.equal(answer.body.code, status === 404 ? 20404 : 20001);
        assert.match(answer.body.message as string, message);
      }
      assert.equal(sim.stats.created.ip, 0);
      assert.equal((await http.post(url(), { ...base, Payload: 'a'.repeat(1300) })).status, 201);
      assert.equal((await http.post(url(), { ...base, PayloadType: 'binary', Payload: Buffer.alloc(1300, 0xff).toString('base64') })).status, 201);
      sim.sim('off').status = 'ready';
      assert.equal((await http.post(url(), { ...base, Sim: sim.sim('off').sid })).status, 201);
    });

    it('lists newest first and pages through next_page_url', async () => {
      const sids: string[] = [];
      for (let i = 0; i < 7; i++) sids.push((await http.post<IpCommand>(url(), { Sim: 'thermostat', Payload: `n${i}`, DevicePort: 1 })).body.sid);
      const seen: string[] = [];
      let next: string | null = `${url()}?PageSize=3&Direction=to_sim`;
      let pages = 0;
      while (next !== null) {
        const page: { status: number; body: { ip_commands: IpCommand[]; meta: ListMeta } } = await http.get(next);
        assert.equal(page.status, 200);
        assert.equal(page.body.meta.key, 'ip_commands');
        assert.equal(page.body.meta.page, pages);
        assert.equal(page.body.meta.page_size, 3);
        assert.match(page.body.meta.first_page_url, /^http:\/\/127\.0\.0\.1:\d+\/supersim\/v1\/IpCommands\?Direction=to_sim&PageSize=3&Page=0$/);
        if (pages === 0) assert.equal(page.body.meta.previous_page_url, null);
        else assert.notEqual(page.body.meta.previous_page_url, null);
        seen.push(...page.body.ip_commands.map((c) => c.sid));
        next = page.body.meta.next_page_url;
        pages++;
      }
      assert.equal(pages, 3);
      assert.deepEqual(seen, [...sids].reverse());
      // previous_page_url leads back to the page before.
      const first = await http.get<{ ip_commands: IpCommand[]; meta: ListMeta }>(`${url()}?PageSize=3`);
      const second = await http.get<{ ip_commands: IpCommand[]; meta: ListMeta }>(first.body.meta.next_page_url as string);
      const back = await http.get<{ ip_commands: IpCommand[]; meta: ListMeta }>(second.body.meta.previous_page_url as string);
      assert.deepEqual(back.body.ip_commands.map((c) => c.sid), first.body.ip_commands.map((c) => c.sid));

      const filtered = await http.get<{ ip_commands: IpCommand[] }>(`${url()}?Sim=thermostat&Status=queued&SimIccid=${sim.sim('thermostat').iccid}`);
      assert.equal(filtered.body.ip_commands.length, 7);
      assert.equal((await http.get<{ ip_commands: IpCommand[] }>(`${url()}?Sim=nobody`)).body.ip_commands.length, 0);
      assert.equal((await http.get(`${url()}?PageSize=101`)).status, 400);
      assert.equal((await http.get(`${url()}?PageSize=0`)).status, 400);
      assert.equal((await http.get(`${url()}?Status=bogus`)).status, 400);
    });

    it('bounds the store at maxStoredCommands, dropping the oldest', async () => {
      await sim.close();
      await start({ ...options, maxStoredCommands: 3 });
      const sids: string[] = [];
      for (let i = 0; i < 5; i++) sids.push((await http.post<IpCommand>(url(), { Sim: 'thermostat', Payload: `n${i}`, DevicePort: 1 })).body.sid);
      assert.deepEqual(sim.ipCommands().map((c) => c.sid), sids.slice(2));
      assert.equal((await http.get(`${url()}/${sids[0]}`)).status, 404);
      const list = await http.get<{ ip_commands: IpCommand[] }>(url());
      assert.deepEqual(list.body.ip_commands.map((c) => c.sid), sids.slice(2).reverse());
    });
  });

  describe('SMS Commands', () => {
    beforeEach(() => start());

    it('creates HC… commands, counts characters as code points, and lists them', async () => {
      const url = `${sim.supersimUrl}/v1/SmsCommands`;
      const created = await http.post<SmsCommand>(url, { Sim: 'thermostat', Payload: '🙂'.repeat(160) });
      assert.equal(created.status, 201);
      assert.match(created.body.sid, /^HC[0-9a-f]{32}$/);
      assert.equal(created.body.status, 'queued');
      assert.equal(created.body.direction, 'to_sim');
      const tooLong = await http.post(url, { Sim: 'thermostat', Payload: 'a'.repeat(161) });
      assert.equal(tooLong.status, 400);
      assert.match(tooLong.body.message as string, /161 characters/);
      assert.equal((await http.post(url, { Sim: 'thermostat' })).status, 400);
      assert.equal((await http.post(url, { Sim: 'meter', Payload: 'x' })).status, 404);
      const list = await http.get<{ sms_commands: SmsCommand[]; meta: ListMeta }>(url);
      assert.equal(list.body.meta.key, 'sms_commands');
      assert.deepEqual(list.body.sms_commands.map((c) => c.sid), [created.body.sid]);
      assert.equal((await http.get<SmsCommand>(created.body.url)).body.sid, created.body.sid);
    });
  });

  describe('Programmable Wireless Commands', () => {
    beforeEach(() => start());

    const url = (): string => `${sim.wirelessUrl}/v1/Commands`;

    it('creates DC… commands with the defaults and validates the limits', async () => {
      const created = await http.post<WirelessCommand>(url(), { Sim: 'meter', Command: 'ping' });
      assert.equal(created.status, 201);
      const c = created.body;
      assert.match(c.sid, /^DC[0-9a-f]{32}$/);
      assert.match(c.sim_sid, /^DE[0-9a-f]{32}$/);
      assert.equal(c.command, 'ping');
      assert.equal(c.command_mode, 'text');
      assert.equal(c.transport, 'sms');
      assert.equal(c.delivery_receipt_requested, true);
      assert.equal(c.url, `${url()}/${c.sid}`);

      const cases: [Record<string, string>, number, RegExp][] = [
        [{ Sim: 'meter', Command: 'a'.repeat(161) }, 400, /161 characters/],
        [{ Sim: 'meter', Command: 'a'.repeat(129), IncludeSid: 'start' }, 400, /at most 128/],
        [{ Sim: 'meter', Command: Buffer.alloc(141).toString('base64'), CommandMode: 'binary' }, 400, /141 bytes/],
        [{ Sim: 'meter', Command: '***', CommandMode: 'binary' }, 400, /Base64/],
        [{ Sim: 'meter', Command: 'AAAA', CommandMode: 'binary', IncludeSid: 'end' }, 400, /IncludeSid/],
        [{ Sim: 'meter', Command: 'x', DeliveryReceiptRequested: 'maybe' }, 400, /DeliveryReceiptRequested/],
        [{ Sim: 'meter' }, 400, /Command/],
        [{ Sim: 'thermostat', Command: 'x' }, 404, /\/Sims\/thermostat/],
      ];
      for (const [form, status, message] of cases) {
        const answer = await http.post(url(), form);
        assert.equal(answer.status, status, JSON.stringify(form).slice(0, 80));
        assert.match(answer.body.message as string, message);
      }
      assert.equal((await http.post(url(), { Sim: 'meter', Command: 'a'.repeat(128), IncludeSid: 'end' })).status, 201);
      assert.equal((await http.post(url(), { Sim: 'meter', Command: Buffer.alloc(140).toString('base64'), CommandMode: 'binary' })).status, 201);
      assert.equal(sim.stats.created.wireless, 3);
    });

    it('deletes a command (204), then it is gone (404)', async () => {
      const created = await http.post<WirelessCommand>(url(), { Sim: 'meter', Command: 'x' });
      const deleted = await http.delete(created.body.url);
      assert.equal(deleted.status, 204);
      assert.equal((await http.get(created.body.url)).status, 404);
      assert.equal((await http.delete(created.body.url)).status, 404);
      const list = await http.get<{ commands: WirelessCommand[]; meta: ListMeta }>(url());
      assert.equal(list.body.meta.key, 'commands');
      assert.equal(list.body.commands.length, 0);
      assert.deepEqual(sim.wirelessCommands(), []);
    });
  });

  describe('Fleets', () => {
    beforeEach(() => start({ fleets: [{ uniqueName: 'field', ipCommandsUrl: 'http://127.0.0.1:1/ip' }] }));

    it('fetches by SID or unique name, updates the webhooks and lists', async () => {
      const fleetsUrl = `${sim.supersimUrl}/v1/Fleets`;
      const field = sim.fleet('field');
      assert.match(field.sid, /^HF[0-9a-f]{32}$/);
      const byName = await http.get<Record<string, unknown>>(`${fleetsUrl}/field`);
      assert.equal(byName.status, 200);
      assert.deepEqual(Object.keys(byName.body).sort(), [
        'account_sid', 'data_enabled', 'data_limit', 'data_metering', 'date_created', 'date_updated', 'ip_commands_method', 'ip_commands_url',
        'network_access_profile_sid', 'sid', 'sms_commands_enabled', 'sms_commands_method', 'sms_commands_url', 'unique_name', 'url',
      ]);
      assert.equal(byName.body.sid, field.sid);
      assert.equal(byName.body.ip_commands_url, 'http://127.0.0.1:1/ip');
      assert.equal(byName.body.url, `${fleetsUrl}/${field.sid}`);

      const updated = await http.post<Record<string, unknown>>(`${fleetsUrl}/${field.sid}`, {
        IpCommandsUrl: 'http://127.0.0.1:2/ip',
        IpCommandsMethod: 'GET',
        SmsCommandsUrl: 'https://example.test/sms',
        SmsCommandsMethod: 'POST',
        DataLimit: 500,
      });
      assert.equal(updated.status, 200);
      assert.equal(updated.body.ip_commands_url, 'http://127.0.0.1:2/ip');
      assert.equal(updated.body.ip_commands_method, 'GET');
      assert.equal(updated.body.sms_commands_url, 'https://example.test/sms');
      assert.equal(updated.body.data_limit, 500);
      assert.equal(sim.fleet('field').ip_commands_method, 'GET');
      assert.equal((await http.post(`${fleetsUrl}/field`, { IpCommandsUrl: 'nope' })).status, 400);
      assert.equal((await http.post(`${fleetsUrl}/field`, { IpCommandsMethod: 'PATCH' })).status, 400);
      assert.equal((await http.post(`${fleetsUrl}/field`, { IpCommandsUrl: '' })).body.ip_commands_url, null);
      assert.equal((await http.get(`${fleetsUrl}/nope`)).status, 404);

      const list = await http.get<{ fleets: { unique_name: string }[]; meta: ListMeta }>(fleetsUrl);
      assert.equal(list.body.meta.key, 'fleets');
      assert.deepEqual(list.body.fleets.map((f) => f.unique_name).sort(), ['default', 'field']);
      assert.equal(sim.fleet().unique_name, 'default');
    });
  });

  describe('lists as reconcile and answer polling read them', () => {
    beforeEach(() =>
      start({
        sims: [{ uniqueName: 'thermostat' }, { uniqueName: 'tracker' }, { uniqueName: 'meter', api: 'wireless' }, { uniqueName: 'tag', api: 'wireless' }],
      }),
    );

    interface Listed {
      sid: string;
      status: string;
      direction: string;
      date_created: string;
    }

    interface ListKind {
      url: () => string;
      key: string;
      form: (simRef: string, tag: string) => Record<string, string | number>;
      stored: () => Listed[];
      fromSim: (simRef: string) => Promise<string>;
    }

    const kinds: Record<'ip' | 'sms' | 'wireless', ListKind & { sims: [string, string] }> = {
      ip: {
        url: () => `${sim.supersimUrl}/v1/IpCommands`,
        key: 'ip_commands',
        form: (simRef, tag) => ({ Sim: simRef, Payload: tag, DevicePort: 6655 }),
        stored: () => sim.ipCommands(),
        fromSim: async (simRef) => {
          await sim.sim(simRef).listen(6655);
          return (await sim.sim(simRef).sendIpCommand('up')).sid;
        },
        sims: ['thermostat', 'tracker'],
      },
      sms: {
        url: () => `${sim.supersimUrl}/v1/SmsCommands`,
        key: 'sms_commands',
        form: (simRef, tag) => ({ Sim: simRef, Payload: tag }),
        stored: () => sim.smsCommands(),
        fromSim: async (simRef) => (await sim.sim(simRef).sendSms('up')).sid,
        sims: ['thermostat', 'tracker'],
      },
      wireless: {
        url: () => `${sim.wirelessUrl}/v1/Commands`,
        key: 'commands',
        form: (simRef, tag) => ({ Sim: simRef, Command: tag }),
        stored: () => sim.wirelessCommands(),
        fromSim: async (simRef) => (await sim.sim(simRef).sendSms('up')).sid,
        sims: ['meter', 'tag'],
      },
    };

    async function until(condition: () => boolean, what: string): Promise<void> {
      for (let i = 0; i < 400 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.ok(condition(), what);
    }

    /** Follows next_page_url from `url`: every SID in order, and every page's next_page_url. */
    async function walk(kind: ListKind, query: string): Promise<{ sids: string[]; nextUrls: string[] }> {
      const sids: string[] = [];
      const nextUrls: string[] = [];
      let next: string | null = `${kind.url()}?${query}`;
      while (next !== null) {
        const page: { status: number; body: Record<string, unknown> } = await http.get(next);
        assert.equal(page.status, 200, next);
        sids.push(...(page.body[kind.key] as Listed[]).map((c) => c.sid));
        next = (page.body.meta as ListMeta).next_page_url;
        if (next !== null) nextUrls.push(next);
        assert.ok(sids.length < 100, 'paging ends');
      }
      return { sids, nextUrls };
    }

    for (const [name, kind] of Object.entries(kinds)) {
      it(`${name}: Sim (unique name or SID), Direction and Status together, newest first through next_page_url`, async () => {
        const [simA, simB] = kind.sims;
        const statusOf = (sid: string): string | undefined => kind.stored().find((c) => c.sid === sid)?.status;
        const create = async (simRef: string, tag: string): Promise<string> => {
          const created = await http.post<Listed>(kind.url(), kind.form(simRef, tag));
          assert.equal(created.status, 201);
          return created.body.sid;
        };
        const settle = (...sids: string[]): Promise<void> => until(() => sids.every((sid) => statusOf(sid) !== 'queued'), `${sids.join(',')} left queued`);

        const a = await create(simA, 'a');
        await settle(a);
        sim.sim(simA).detach();
        const b = await create(simA, 'b');
        const c = await create(simA, 'c');
        await settle(b, c);
        sim.sim(simA).attach();
        const d = await create(simA, 'd');
        await settle(d);
        const e = await kind.fromSim(simA);
        sim.sim(simB).detach();
        const f = await create(simB, 'f');
        await settle(f);
        assert.deepEqual([a, b, c, d, f].map(statusOf).map((status) => status === 'failed'), [false, true, true, false, true]);

        const failedOfA = await walk(kind, `Sim=${simA}&Direction=to_sim&Status=failed&PageSize=1`);
        assert.deepEqual(failedOfA.sids, [c, b]);
        assert.equal(failedOfA.nextUrls.length, 1);
        assert.match(failedOfA.nextUrls[0], new RegExp(`\\?Sim=${simA}&Status=failed&Direction=to_sim&PageSize=1&Page=1&PageToken=PA\\d+$`));

        const bySid = await walk(kind, `Sim=${sim.sim(simA).sid}&Direction=to_sim&PageSize=3`);
        assert.deepEqual(bySid.sids, [d, c, b, a]);
        assert.equal(bySid.nextUrls.length, 1);
        assert.deepEqual((await walk(kind, `Sim=${simA}&Direction=from_sim`)).sids, [e]);
        assert.deepEqual((await walk(kind, `Direction=from_sim&Status=failed`)).sids, []);
        assert.deepEqual((await walk(kind, `Sim=${simB}&Direction=to_sim&Status=failed`)).sids, [f]);
        assert.deepEqual((await walk(kind, `Direction=to_sim&Status=failed&PageSize=2`)).sids, [f, c, b]);
        assert.deepEqual((await walk(kind, `Sim=nobody&Direction=to_sim`)).sids, []);

        for (const command of kind.stored()) {
          assert.match(command.date_created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'ms precision');
          assert.equal(new Date(command.date_created).toISOString(), command.date_created);
        }
      });
    }

    it('createdCount() counts the creates of one payload, to_sim only; ipCommands().filter() says the same', async () => {
      const url = `${sim.supersimUrl}/v1/IpCommands`;
      for (const payload of ['reboot', 'status', 'reboot']) await http.post(url, { Sim: 'thermostat', Payload: payload, DevicePort: 6655 });
      const device = sim.sim('thermostat');
      await device.listen(6655);
      await device.sendIpCommand('reboot');
      await http.post(`${sim.supersimUrl}/v1/SmsCommands`, { Sim: 'thermostat', Payload: 'reboot' });
      await device.sendSms('reboot');
      await http.post(`${sim.wirelessUrl}/v1/Commands`, { Sim: 'meter', Command: 'reboot' });

      assert.equal(sim.createdCount('ip', (c) => c.payload === 'reboot'), 2);
      assert.equal(sim.createdCount('ip', (c) => c.payload === 'status'), 1);
      assert.equal(sim.createdCount('ip'), 3, 'the device’s own IP Command is from_sim');
      assert.equal(sim.ipCommands().filter((c) => c.direction === 'to_sim' && c.payload === 'reboot').length, 2);
      assert.equal(sim.createdCount('sms', (c) => c.payload === 'reboot'), 1);
      assert.equal(sim.createdCount('wireless', (c) => c.command === 'reboot'), 1);
      assert.equal(sim.createdCount('wireless', (c) => c.sim_sid === device.sid), 0);
      assert.throws(() => sim.createdCount('fax' as 'ip'), /kind must be/);
    });
  });

  describe('control routes', () => {
    beforeEach(() => start({ mode: 'twilio' }));

    const post = async (path: string): Promise<{ status: number; body: Record<string, unknown>; allow: string | null }> => {
      const answer = await fetch(`${sim.controlUrl}${path}`, { method: 'POST' });
      return { status: answer.status, body: (await answer.json()) as Record<string, unknown>, allow: answer.headers.get('allow') };
    };

    it('detach and attach a SIM by unique name or SID without credentials, answering {sim, sid, attached}', async () => {
      const device = sim.sim('thermostat');
      assert.equal(sim.controlUrl, `${sim.baseUrl}/simulator`);
      assert.deepEqual(await post('/sims/thermostat/detach'), { status: 200, body: { sim: 'thermostat', sid: device.sid, attached: false }, allow: null });
      assert.equal(device.attached, false);
      assert.deepEqual((await post(`/sims/${device.sid}/attach`)).body, { sim: 'thermostat', sid: device.sid, attached: true });
      assert.equal(device.attached, true);
      const added = sim.addSim({ uniqueName: 'hall way' });
      assert.equal((await post('/sims/hall%20way/detach')).body.attached, false);
      assert.equal(added.attached, false);
      assert.equal(sim.stats.requests, 0, 'not API requests');
    });

    it('detach?for= re-attaches after the duration', async () => {
      const device = sim.sim('thermostat');
      const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const answer = await post('/sims/thermostat/detach?for=30s');
      assert.equal(answer.body.attached, false);
      clock.tick(29_999);
      assert.equal(device.attached, false);
      clock.tick(1);
      assert.equal(device.attached, true);
    });

    it('answers JSON errors that say what to do', async () => {
      const unknown = await post('/sims/nobody/detach');
      assert.equal(unknown.status, 404);
      assert.match(unknown.body.message as string, /No simulated SIM nobody: name one by its unique name or SID/);
      for (const path of ['/sims/thermostat/sleep', '/sims/thermostat', '/sims//detach', '/nothing', '']) {
        const answer = await post(path);
        assert.equal(answer.status, 404, path);
        assert.match(answer.body.message as string, /use POST \/simulator\/sims\/\{unique name or SID\}\/detach/);
      }
      const badFor = await post('/sims/thermostat/detach?for=soon');
      assert.equal(badFor.status, 400);
      assert.match(badFor.body.message as string, /Invalid "for": "soon"; use a whole number with ms, s, m or h, e\.g\. 500ms, 30s, 2m/);
      assert.equal((await post('/sims/thermostat/attach?for=30s')).status, 400);
      assert.equal(sim.sim('thermostat').attached, true, 'refused requests change nothing');
      const get = await fetch(`${sim.controlUrl}/sims/thermostat/detach`);
      assert.equal(get.status, 405);
      assert.equal(get.headers.get('allow'), 'POST');
      assert.equal(get.headers.get('content-type'), 'application/json');
      assert.equal(sim.sim('thermostat').attached, true);
    });
  });
});
