import assert from 'node:assert/strict';
import { Simulator, generateSims } from '../../src/simulator';
import { collectMessages, helper, nextMessage, waitFor } from '../support/flows';
import { startRecordingProxy } from '../support/recording-proxy';
import type { RecordingProxy } from '../support/recording-proxy';
import { AT, accountAt, lastStatus, listingModules, queryOf } from './listing-support';

interface Parts {
  id: string;
  index: number;
  count?: number;
  type: string;
  parts?: unknown;
}

describe('supersim-sims', function () {
  this.timeout(20_000);
  let sim: Simulator;
  let proxy: RecordingProxy;

  before(async function () {
    sim = await Simulator.start({
      mode: 'kore',
      fleets: [{ uniqueName: 'north' }, { uniqueName: 'empty' }],
      sims: [
        ...generateSims({ count: 250, fleet: 'north', statuses: ['active'] }),
        // Same Fleet, another status; another Fleet, same status: only the filters keep them out.
        ...generateSims({ count: 30, prefix: 'idle-', fleet: 'north', statuses: ['inactive'] }),
        ...generateSims({ count: 20, prefix: 'south-', statuses: ['active'] }),
      ],
    });
    proxy = await startRecordingProxy(sim.baseUrl);
  });

  after(async function () {
    await proxy?.close();
    await sim?.close();
  });

  afterEach(async function () {
    await helper.unload();
    proxy.requests.length = 0;
  });

  async function load(node: Record<string, unknown>, extra: Record<string, unknown>[] = []): Promise<void> {
    const account = accountAt(sim, proxy.url);
    const flow = [
      { id: 'tab', type: 'tab', label: 'test' },
      account.node,
      { ...AT, id: 'sims', type: 'supersim-sims', account: 'account', fleet: '', status: '', iccid: '', output: 'split', ...node },
      { ...AT, id: 'out', type: 'helper' },
      { ...AT, id: 'catch', type: 'catch', scope: ['sims'], uncaught: false, wires: [['caught']] },
      { ...AT, id: 'caught', type: 'helper' },
      { ...AT, id: 'complete', type: 'complete', scope: ['sims'], uncaught: false, wires: [['completed']] },
      { ...AT, id: 'completed', type: 'helper' },
      ...extra,
    ];
    await helper.load(listingModules, flow, account.credentials);
  }

  const simPages = (): Record<string, string>[] => proxy.requests.filter((r) => r.method === 'GET' && r.url.startsWith('/supersim/v1/Sims')).map((r) => queryOf(r.url));

  it('split: 250 active SIMs of a Fleet over 3 pages, Fleet and Status sent as query parameters, one message each with msg.sim, msg.topic and msg.parts', async function () {
    await load({ fleet: 'north', status: 'active', wires: [['out']] });
    const out = collectMessages('out');
    const completed = nextMessage('completed', 10_000);
    helper.getNode('sims').receive({ payload: 'go', custom: { keep: true } });
    await completed;
    await waitFor(() => out.length === 250, 5_000, '250 messages');

    const pages = simPages();
    assert.equal(pages.length, 3, JSON.stringify(pages));
    assert.deepEqual(pages[0], { Fleet: 'north', Status: 'active', PageSize: '100' });
    for (const page of pages) assert.deepEqual([page.Fleet, page.Status, page.PageSize], ['north', 'active', '100']);

    const parts = out.map((m) => m.parts as Parts);
    assert.deepEqual(parts.map((p) => p.index), Array.from({ length: 250 }, (_, i) => i));
    assert.equal(new Set(parts.map((p) => p.id)).size, 1);
    assert.ok(parts.every((p) => p.type === 'array'));
    assert.equal(parts[249].count, 250);
    const names = new Set<string>();
    for (const msg of out) {
      const resource = msg.payload as { unique_name: string; status: string; fleet_sid: string };
      assert.equal(resource.status, 'active');
      assert.equal(resource.fleet_sid, sim.fleet('north').sid);
      assert.match(resource.unique_name, /^sim-\d{4}$/);
      assert.equal(msg.sim, resource.unique_name);
      assert.equal(msg.topic, resource.unique_name);
      assert.deepEqual(msg.custom, { keep: true });
      names.add(resource.unique_name);
    }
    assert.equal(names.size, 250);
    assert.equal(lastStatus('sims')?.fill, 'green');
    assert.match(String(lastStatus('sims')?.text), /^250 SIMs listed at \d\d:\d\d:\d\d$/);
  });

  it('split: a core join in automatic mode turns the 250 messages back into one array of 250', async function () {
    await load({ fleet: 'north', status: 'active', wires: [['join']] }, [
      { ...AT, id: 'join', type: 'join', mode: 'auto', build: 'array', property: 'payload', propertyType: 'msg', key: 'topic', joiner: '\\n', joinerType: 'str', accumulate: false, timeout: '', count: '', reduceRight: false, wires: [['out']] },
    ]);
    const joined = nextMessage('out', 10_000);
    helper.getNode('sims').receive({ payload: 'go' });
    const msg = await joined;
    const all = msg.payload as { unique_name: string }[];
    assert.ok(Array.isArray(all));
    assert.equal(all.length, 250);
    assert.equal(new Set(all.map((s) => s.unique_name)).size, 250);
  });

  it('array: one message with the 250 SIMs', async function () {
    await load({ fleet: 'north', status: 'active', output: 'array', wires: [['out']] });
    const out = collectMessages('out');
    const completed = nextMessage('completed', 10_000);
    helper.getNode('sims').receive({ payload: 'go', topic: 'mine' });
    await completed;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(out.length, 1);
    assert.equal((out[0].payload as unknown[]).length, 250);
    assert.equal(out[0].topic, 'mine');
    assert.equal(out[0].parts, undefined);
  });

  it('msg.fleet, msg.status and msg.iccid fill blank fields; the node’s own field wins', async function () {
    await load({ output: 'array', status: 'inactive', wires: [['out']] });
    const first = nextMessage('out');
    helper.getNode('sims').receive({ fleet: 'north', status: 'active' });
    assert.equal(((await first).payload as unknown[]).length, 30, 'the node’s Status (inactive) wins over msg.status');
    assert.deepEqual(simPages().at(-1), { Fleet: 'north', Status: 'inactive', PageSize: '100' });

    const iccid = sim.sim('south-0007').iccid;
    const second = nextMessage('out');
    helper.getNode('sims').receive({ iccid, status: 'active' });
    const listed = (await second).payload as { unique_name: string }[];
    // The node's status is inactive, so south-0007 (active) is not listed: msg.status does not replace it.
    assert.deepEqual(listed, []);
    assert.deepEqual(simPages().at(-1), { Status: 'inactive', Iccid: iccid, PageSize: '100' });
  });

  it('no SIM found: split sends nothing and ends the message (done); array sends []', async function () {
    await load({ fleet: 'empty', wires: [['out']] });
    const out = collectMessages('out');
    const completed = nextMessage('completed');
    helper.getNode('sims').receive({ payload: 'go' });
    await completed;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(out.length, 0);
    assert.match(String(lastStatus('sims')?.text), /^0 SIMs listed/);
    await helper.unload();

    await load({ fleet: 'empty', output: 'array', wires: [['out']] });
    const listed = nextMessage('out');
    helper.getNode('sims').receive({ payload: 'go' });
    assert.deepEqual((await listed).payload, []);
  });

  it('a bad msg.status reaches Catch before any request, naming the field; an API error reaches Catch once with its status', async function () {
    await load({ wires: [['out']] });
    const caught = nextMessage('caught');
    helper.getNode('sims').receive({ status: 'sleeping' });
    const error = (await caught).error as { message: string };
    assert.match(error.message, /^(ListingInputError: )?Status must be one of new, ready, active, inactive, scheduled .*msg\.status is "sleeping"/);
    assert.equal(simPages().length, 0);
    assert.equal(lastStatus('sims')?.text, 'failed: Status');

    sim.faults.add({ target: 'sims' }, { kind: 'status', status: 403, code: 20003, message: 'Permission denied' });
    const errors = collectMessages('caught');
    helper.getNode('sims').receive({ payload: 'go' });
    await waitFor(() => errors.length === 1, 5_000, 'the Catch node');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(errors.length, 1);
    assert.match((errors[0].error as { message: string }).message, /403/);
    assert.equal(lastStatus('sims')?.text, 'failed: HTTP 403 (20003)');
  });

  it('a redeploy while a page is on the wire: that request finishes, nothing more is sent or asked for, and the node closes', async function () {
    await load({ fleet: 'north', status: 'active', wires: [['out']] });
    const out = collectMessages('out');
    // The last page is held as if the API were slow: the first two pages' SIMs are out by then.
    sim.faults.add({ target: 'sims', times: 2 }, { kind: 'delay', ms: 0 });
    sim.faults.add({ target: 'sims' }, { kind: 'hold' });
    helper.getNode('sims').receive({ payload: 'go' });
    await waitFor(() => sim.faults.held === 1, 5_000, 'a page held');
    const sentBefore = out.length;
    const unloaded = helper.unload();
    await new Promise((resolve) => setTimeout(resolve, 100));
    sim.faults.release();
    await unloaded;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(out.length, sentBefore, 'nothing sent once closing');
    assert.ok(sentBefore < 250);
    assert.ok(simPages().length <= 3, JSON.stringify(simPages()));
    assert.ok(out.every((m) => (m.parts as Parts).count === undefined), 'no message claims a count');
  });

  it('a Twilio account lists the same way (Basic auth, the same paging)', async function () {
    const twilio = await Simulator.start({ mode: 'twilio', fleets: [{ uniqueName: 'west' }], sims: generateSims({ count: 120, fleet: 'west' }) });
    try {
      const account = accountAt(twilio);
      await helper.load(listingModules, [
        { id: 'tab', type: 'tab', label: 'test' },
        account.node,
        { ...AT, id: 'sims', type: 'supersim-sims', account: 'account', fleet: 'west', status: '', iccid: '', output: 'split', wires: [['out']] },
        { ...AT, id: 'out', type: 'helper' },
      ], account.credentials);
      const out = collectMessages('out');
      helper.getNode('sims').receive({ payload: 'go' });
      await waitFor(() => out.length === 120, 5_000, '120 messages');
      assert.equal((out[119].parts as Parts).count, 120);
      assert.equal(twilio.stats.count('GET', '/supersim/v1/Sims'), 2);
    } finally {
      await helper.unload();
      await twilio.close();
    }
  });

  it('no account: the error says to choose one', async function () {
    await load({ account: '', wires: [['out']] });
    const caught = nextMessage('caught');
    helper.getNode('sims').receive({ payload: 'go' });
    assert.match(((await caught).error as { message: string }).message, /choose one in Account/);
  });
});
