import assert from 'node:assert/strict';
import { Simulator } from '../../src/simulator';
import { collectMessages, helper, nextMessage, waitFor } from '../support/flows';
import { startRecordingProxy } from '../support/recording-proxy';
import type { RecordingProxy } from '../support/recording-proxy';
import { SimHttp } from '../support/sim-http';
import { AT, accountAt, lastStatus, listingModules, queryOf } from './listing-support';

interface Resource {
  sid: string;
  sim_sid: string;
  status: string;
  direction: string;
  payload?: string;
}

describe('supersim-command-lookup', function () {
  this.timeout(20_000);
  let sim: Simulator;
  let proxy: RecordingProxy;
  let http: SimHttp;

  before(async function () {
    sim = await Simulator.start({
      mode: 'kore',
      timing: { ipSentMs: 5, smsSentMs: 5, smsDeliveredMs: 10 },
      sims: [{ uniqueName: 'pump' }, { uniqueName: 'valve' }, { uniqueName: 'meter', api: 'wireless' }],
    });
    proxy = await startRecordingProxy(sim.baseUrl);
    http = new SimHttp(sim);
  });

  after(async function () {
    await proxy?.close();
    await sim?.close();
  });

  afterEach(async function () {
    await helper.unload();
    proxy.requests.length = 0;
  });

  async function load(node: Record<string, unknown>): Promise<void> {
    const account = accountAt(sim, proxy.url);
    const flow = [
      { id: 'tab', type: 'tab', label: 'test' },
      account.node,
      { ...AT, id: 'lookup', type: 'supersim-command-lookup', account: 'account', operation: 'fetch', kind: 'ip', sim: '', status: '', direction: '', limit: 50, output: 'split', wires: [['out']], ...node },
      { ...AT, id: 'out', type: 'helper' },
      { ...AT, id: 'catch', type: 'catch', scope: ['lookup'], uncaught: false, wires: [['caught']] },
      { ...AT, id: 'caught', type: 'helper' },
      { ...AT, id: 'complete', type: 'complete', scope: ['lookup'], uncaught: false, wires: [['completed']] },
      { ...AT, id: 'completed', type: 'helper' },
    ];
    await helper.load(listingModules, flow, account.credentials);
  }

  async function create(url: string, form: Record<string, string | number>): Promise<Resource> {
    const answer = await http.post<Resource>(url, form);
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    return answer.body;
  }

  const ip = (simName: string, payload: string): Promise<Resource> => create(`${sim.supersimUrl}/v1/IpCommands`, { Sim: simName, Payload: payload, DevicePort: 6655 });
  const sms = (simName: string, payload: string): Promise<Resource> => create(`${sim.supersimUrl}/v1/SmsCommands`, { Sim: simName, Payload: payload });
  const wireless = (simName: string, command: string): Promise<Resource> => create(`${sim.wirelessUrl}/v1/Commands`, { Sim: simName, Command: command });
  const paths = (): string[] => proxy.requests.filter((r) => !r.url.startsWith('/api-services')).map((r) => `${r.method} ${r.url}`);

  describe('fetch', function () {
    it('HG, HC and DC SIDs each go to their own API; msg.sid, msg.payload.sid or a SID payload', async function () {
      const [a, b, c] = [await ip('pump', 'ip one'), await sms('pump', 'sms one'), await wireless('meter', 'wireless one')];
      await load({ operation: 'fetch' });
      const node = helper.getNode('lookup');

      let out = nextMessage('out');
      node.receive({ sid: a.sid, topic: 'kept' });
      let msg = await out;
      assert.equal((msg.payload as Resource).sid, a.sid);
      assert.equal((msg.payload as Resource).payload, 'ip one');
      assert.equal(msg.topic, 'kept');

      out = nextMessage('out');
      node.receive({ payload: { sid: b.sid } });
      msg = await out;
      assert.equal((msg.payload as Resource).sid, b.sid);

      out = nextMessage('out');
      node.receive({ payload: c.sid });
      msg = await out;
      assert.equal((msg.payload as { command: string }).command, 'wireless one');

      assert.deepEqual(paths(), [`GET /supersim/v1/IpCommands/${a.sid}`, `GET /supersim/v1/SmsCommands/${b.sid}`, `GET /wireless/v1/Commands/${c.sid}`]);
      assert.match(String(lastStatus('lookup')?.text), new RegExp(`^${c.sid}: \\w+ at \\d\\d:\\d\\d:\\d\\d$`));
    });

    it('an unknown SID reaches Catch with the 404; a SID of no command kind is refused before any request', async function () {
      await load({ operation: 'fetch' });
      let caught = nextMessage('caught');
      helper.getNode('lookup').receive({ sid: 'HG0123456789abcdef0123456789abcdef' });
      let error = (await caught).error as { message: string };
      assert.match(error.message, /404/);
      assert.equal(lastStatus('lookup')?.text, 'failed: HTTP 404 (20404)');

      proxy.requests.length = 0;
      caught = nextMessage('caught');
      helper.getNode('lookup').receive({ sid: 'HS0123456789abcdef0123456789abcdef' });
      error = (await caught).error as { message: string };
      assert.match(error.message, /msg\.sid must be a command SID: HG \(IP Command\), HC \(SMS Command\) or DC \(Wireless Command\)/);
      assert.deepEqual(paths(), []);
    });
  });

  describe('list', function () {
    let pumpIp: Resource[];

    before(async function () {
      pumpIp = [];
      for (let i = 0; i < 130; i++) pumpIp.push(await ip('pump', `pump ${i}`));
      for (let i = 0; i < 10; i++) await ip('valve', `valve ${i}`);
    });

    it('the newest `limit` of a SIM across pages of the API’s size, with Sim and Direction as query parameters, newest first', async function () {
      await load({ operation: 'list', kind: 'ip', sim: 'pump', direction: 'to_sim', limit: 120 });
      const out = collectMessages('out');
      const completed = nextMessage('completed', 10_000);
      helper.getNode('lookup').receive({ payload: 'go' });
      await completed;
      await waitFor(() => out.length === 120, 2_000, '120 messages');
      const listed = out.map((m) => m.payload as Resource);
      assert.deepEqual(listed.map((c) => c.payload), pumpIp.slice(-120).reverse().map((c) => c.payload));
      assert.ok(out.every((m) => m.topic === sim.sim('pump').sid));
      assert.equal((out[119].parts as { count?: number }).count, 120);
      const pages = proxy.requests.filter((r) => r.url.startsWith('/supersim/v1/IpCommands')).map((r) => queryOf(r.url));
      assert.equal(pages.length, 2, 'a page of 100 and the next one, no third');
      assert.deepEqual(pages[0], { Sim: 'pump', Direction: 'to_sim', PageSize: '100' });
      assert.match(String(lastStatus('lookup')?.text), /^120 commands listed at /);
    });

    it('msg.sim, msg.status and msg.direction fill blank fields; a limit below the page size asks for that many only', async function () {
      await waitFor(() => sim.ipCommands().every((c) => c.status !== 'queued'), 5_000, 'every IP Command sent');
      await load({ operation: 'list', kind: 'ip', limit: 5, output: 'array' });
      const out = nextMessage('out');
      helper.getNode('lookup').receive({ sim: 'valve', status: 'sent', direction: 'to_sim' });
      const listed = (await out).payload as Resource[];
      assert.equal(listed.length, 5);
      assert.ok(listed.every((c) => c.sim_sid === sim.sim('valve').sid && c.status === 'sent'));
      const pages = proxy.requests.filter((r) => r.url.startsWith('/supersim/v1/IpCommands')).map((r) => queryOf(r.url));
      assert.deepEqual(pages, [{ Sim: 'valve', Status: 'sent', Direction: 'to_sim', PageSize: '5' }]);
    });

    it('SMS and Wireless lists go to their APIs; none found: split sends nothing, array sends []', async function () {
      await sms('valve', 'sms to valve');
      await load({ operation: 'list', kind: 'sms', sim: 'valve', output: 'array' });
      const out = nextMessage('out');
      helper.getNode('lookup').receive({});
      assert.deepEqual(((await out).payload as Resource[]).map((c) => c.payload), ['sms to valve']);
      await helper.unload();

      await load({ operation: 'list', kind: 'wireless', sim: 'meter', direction: 'from_sim' });
      const messages = collectMessages('out');
      const completed = nextMessage('completed');
      helper.getNode('lookup').receive({});
      await completed;
      assert.deepEqual(messages, []);
      assert.ok(proxy.requests.some((r) => r.url.startsWith('/wireless/v1/Commands?')));
    });
  });

  describe('delete', function () {
    it('deletes a Wireless Command: msg.payload is {sid, deleted: true} and the API no longer has it', async function () {
      const command = await wireless('meter', 'to be deleted');
      await load({ operation: 'delete' });
      const out = nextMessage('out');
      helper.getNode('lookup').receive({ sid: command.sid });
      assert.deepEqual((await out).payload, { sid: command.sid, deleted: true });
      assert.ok(paths().includes(`DELETE /wireless/v1/Commands/${command.sid}`));
      assert.equal((await http.get(`${sim.wirelessUrl}/v1/Commands/${command.sid}`)).status, 404);
      assert.match(String(lastStatus('lookup')?.text), new RegExp(`^deleted ${command.sid} at `));
    });

    it('an IP Command SID is refused before any request; an unknown DC reaches Catch with the 404', async function () {
      const command = await ip('pump', 'kept');
      await load({ operation: 'delete' });
      let caught = nextMessage('caught');
      helper.getNode('lookup').receive({ sid: command.sid });
      assert.match(((await caught).error as { message: string }).message, /Only Wireless Commands \(DC…\) can be deleted/);
      assert.deepEqual(paths(), []);

      caught = nextMessage('caught');
      helper.getNode('lookup').receive({ sid: 'DC0123456789abcdef0123456789abcdef' });
      assert.match(((await caught).error as { message: string }).message, /404/);
    });
  });
});
