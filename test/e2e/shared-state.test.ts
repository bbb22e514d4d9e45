/**
 * Issue 15's acceptance: two real Node-RED instances with the packed package, one real redis-server,
 * one simulator, and a load balancer in front of both (test/support/two-instances.ts). Both run the
 * same flows, as a high-availability deployment does; the balancer decides, per test, which instance
 * each callback of the provider reaches, or keeps it for the test to deliver in an order of its own.
 * The simulator is the ground truth for what was created.
 */
import assert from 'node:assert/strict';
import type { IpCommand } from '../../src/api';
import { requireRedis } from '../support/redis-server';
import { COMMANDS_PATH, sleep, startRig, waitUntil } from '../support/two-instances';
import type { CapturedRequest, Emitted, InstanceName, Rig } from '../support/two-instances';

/** Much shorter than the 30 s default, so a dead instance's attempts are taken over quickly. */
const LEASE_MS = 3000;
/** After the last expected emission: long enough for a duplicate to show up. */
const QUIET_MS = 1500;
const DEVICE_PORT = 6655;

const SIMS = { echo: 'echo', sleeper: 'sleeper' } as const;

function flows(rig: Rig): { flows: object[]; credentials: Record<string, object> } {
  const account = rig.account();
  const z = 'tab';
  const at = (y: number) => ({ z, x: 300, y });
  const httpIn = (id: string, url: string, target: string) => ({ id, type: 'http in', ...at(20), name: '', url, method: 'post', upload: false, swaggerDoc: '', wires: [['ok', `tag-${target}`]] });
  const ipCommand = (id: string, sim: string, extra: Record<string, unknown>, outputs: number) => ({
    id,
    type: 'supersim-ip-command',
    ...at(100),
    name: id,
    account: account.node.id,
    sim,
    devicePort: String(DEVICE_PORT),
    payloadType: 'text',
    callbackUrl: '',
    callbackMethod: '',
    track: false,
    trackTimeout: 60,
    waitAnswer: false,
    answerTimeout: 60,
    retryFor: 0,
    outputs,
    ...extra,
    wires: Array.from({ length: outputs }, (_, i) => [`rec-${id}-${i + 1}`]),
  });
  const recordersOf = (id: string, outputs: number) => Array.from({ length: outputs }, (_, i) => rig.recorder(`rec-${id}-${i + 1}`, `${id}:${i + 1}`));
  return {
    flows: [
      { id: z, type: 'tab', label: 'shared state' },
      account.node,
      { id: 'ok', type: 'http response', ...at(40), name: '', statusCode: '', headers: {}, wires: [] },
      // Callbacks of the provider: devices' data on output 1, statuses of commands sent with this URL on output 2.
      { id: 'in', type: 'supersim-command-in', ...at(200), name: 'in', account: account.node.id, url: COMMANDS_PATH, wires: [['rec-in-1'], ['filter']] },
      rig.recorder('rec-in-1', 'in:1'),
      { id: 'filter', type: 'supersim-status-filter', ...at(240), name: 'filter', statuses: [], maxCommands: 1000, store: '', wires: [['rec-filter']] },
      rig.recorder('rec-filter', 'filter'),
      // An SMS Command whose statuses (sent, delivered) come to command-in, and so to the filter.
      httpIn('http-sms', '/sms', 'sms'),
      rig.tagNode('tag-sms', ['sms']),
      {
        id: 'sms',
        type: 'supersim-sms-command',
        ...at(300),
        name: 'sms',
        account: account.node.id,
        api: 'supersim',
        sim: SIMS.echo,
        commandMode: 'text',
        includeSid: 'none',
        deliveryReceipt: false,
        callbackUrl: rig.balancer.url + COMMANDS_PATH,
        callbackMethod: 'POST',
        outputs: 1,
        wires: [['rec-sms-1']],
      },
      rig.recorder('rec-sms-1', 'sms:1'),
      // Follows its status (the account's status route) and waits for the device's answer (command-in).
      httpIn('http-waiter', '/waiter', 'waiter'),
      rig.tagNode('tag-waiter', ['waiter']),
      ipCommand('waiter', SIMS.echo, { track: true, waitAnswer: true }, 3),
      ...recordersOf('waiter', 3),
      // Keeps trying a sleeping device: its attempts are pending in Redis.
      httpIn('http-keeper', '/keeper', 'keeper'),
      rig.tagNode('tag-keeper', ['keeper']),
      ipCommand('keeper', SIMS.sleeper, { track: true, retryFor: 600 }, 2),
      ...recordersOf('keeper', 2),
      { id: 'catch', type: 'catch', ...at(400), name: '', scope: null, uncaught: false, wires: [['rec-catch']] },
      rig.recorder('rec-catch', 'catch'),
      // Not the recorders' own http request node: its status would feed itself.
      { id: 'status', type: 'status', ...at(440), name: '', scope: ['in', 'filter', 'sms', 'waiter', 'keeper'], wires: [['rec-status']] },
      rig.recorder('rec-status', 'status'),
      rig.collectorNode(),
    ],
    credentials: account.credentials,
  };
}

function isFromDevice(request: CapturedRequest): boolean {
  return request.params.Direction === 'from_sim';
}

function dataOf(request: CapturedRequest): string {
  return Buffer.from(request.params.Payload ?? '', 'base64').toString('utf8');
}

describe('two Node-RED instances sharing state through Redis', function () {
  this.timeout(60_000);

  let rig: Rig;

  const emitted = (match: Partial<Emitted>): Emitted[] => rig.collector.of(match);
  const summary = (list: Emitted[]): string => list.map((e) => `${e.instance} ${e.source} ${e.sid ?? ''} ${e.status ?? ''} ${e.text ?? ''}`).join('; ');

  before(async function () {
    this.timeout(120_000);
    requireRedis(this);
    rig = await startRig({
      sims: [{ uniqueName: SIMS.echo }, { uniqueName: SIMS.sleeper }],
      // Quick statuses, and quick retries instead of 30 s to 15 min.
      timing: { ipSentMs: 300, smsSentMs: 200, smsDeliveredMs: 400 },
      settings: { supersim: { keepTrying: { firstRetryMs: 300, maxRetryMs: 1000 } } },
      leaseMs: LEASE_MS,
    });
    const echo = rig.simulator.sim(SIMS.echo);
    await echo.listen(DEVICE_PORT);
    echo.on('ip', (bytes, info) => void info.reply(Buffer.concat([Buffer.from('ack:'), bytes])).catch(() => undefined));
    const { flows: nodes, credentials } = flows(rig);
    await rig.deployBoth(nodes, credentials);
  });

  after(async function () {
    this.timeout(30_000);
    await rig?.close();
  });

  afterEach(async function () {
    // A test that failed mid-outage must not leave the others without Redis.
    if (rig && !rig.redis.running) await rig.redis.restart();
    if (this.currentTest?.state === 'failed' && rig) {
      for (const instance of [rig.a, rig.b]) console.log(`--- Node-RED ${instance.name} (last 3000 characters):\n${instance.logs().slice(-3000)}`);
    }
  });

  it('the same signed callback posted to both instances, as a balancer retrying: emitted once in total', async function () {
    rig.balancer.route = (request) => (isFromDevice(request) ? 'both' : 'A');
    await rig.simulator.sim(SIMS.echo).sendIpCommand('once, please', DEVICE_PORT);
    await rig.collector.waitFor(() => emitted({ source: 'in:1', text: 'once, please' }).length > 0, 'the device data from command-in');
    const delivery = rig.balancer.forwarded.find((f) => isFromDevice(f.request) && dataOf(f.request) === 'once, please');
    assert.ok(delivery, 'the balancer forwarded it');
    assert.deepEqual(delivery.to, ['A', 'B'], 'both instances got it');
    assert.deepEqual(delivery.statuses, [200, 200], 'both acknowledged it');
    // And later again, to each, byte for byte.
    assert.equal((await rig.b.deliver(delivery.request)).status, 200);
    assert.equal((await rig.a.deliver(delivery.request)).status, 200);
    await sleep(QUIET_MS);
    const copies = emitted({ source: 'in:1', text: 'once, please' });
    assert.equal(copies.length, 1, `emitted once across both instances, got: ${summary(copies)}`);
  });

  it('statuses of one command spread over both instances reach one status filter output in forward order, once each', async function () {
    rig.balancer.route = (request) => (isFromDevice(request) ? 'A' : 'capture');
    const statusesOf = (sid: string) => rig.balancer.captured.filter((r) => r.params.CommandSid === sid);
    const sidsBefore = new Set(emitted({ source: 'sms:1' }).map((e) => e.sid));
    assert.equal(await rig.a.post('/sms', 'in order'), 200);
    assert.equal(await rig.a.post('/sms', 'late sent'), 200);
    await rig.collector.waitFor(() => emitted({ source: 'sms:1' }).filter((e) => !sidsBefore.has(e.sid)).length === 2, 'both SMS Commands created');
    const created = emitted({ source: 'sms:1' }).filter((e) => !sidsBefore.has(e.sid));
    const inOrder = created.find((e) => e.payload === 'in order')?.sid;
    const late = created.find((e) => e.payload === 'late sent')?.sid;
    assert.ok(inOrder && late, `the created commands carry their payloads: ${summary(created)}`);
    await waitUntil(() => [inOrder, late].every((sid) => statusesOf(sid).length === 2), 'sent and delivered of both commands at the balancer');
    const find = (sid: string, status: string): CapturedRequest => {
      const request = statusesOf(sid).find((r) => r.params.Status === status);
      assert.ok(request, `${sid} ${status} was captured`);
      return request;
    };
    // In order, each to another instance.
    assert.equal((await rig.a.deliver(find(inOrder, 'sent'))).status, 200);
    assert.equal((await rig.b.deliver(find(inOrder, 'delivered'))).status, 200);
    // Out of order: delivered reaches B first, then the older sent reaches A and must not go out after it.
    assert.equal((await rig.b.deliver(find(late, 'delivered'))).status, 200);
    await rig.collector.waitFor(() => emitted({ source: 'filter', sid: late }).length > 0, 'the filter passing delivered');
    assert.equal((await rig.a.deliver(find(late, 'sent'))).status, 200);
    await sleep(QUIET_MS);
    const passed = (sid: string): string[] => emitted({ source: 'filter', sid }).map((e) => `${e.status}`);
    assert.deepEqual(passed(inOrder), ['sent', 'delivered'], `in order, across both instances: ${summary(emitted({ source: 'filter', sid: inOrder }))}`);
    assert.deepEqual(passed(late), ['delivered'], `the late sent held back, whichever instance it reached: ${summary(emitted({ source: 'filter', sid: late }))}`);
  });

  it("a command sent from A whose status callbacks and device answer all arrive at B: A's node emits them on outputs 2 and 3", async function () {
    rig.balancer.route = () => 'B';
    const forwardedBefore = rig.balancer.forwarded.length;
    assert.equal(await rig.a.post('/waiter', 'route me'), 200);
    await rig.collector.waitFor(() => emitted({ source: 'waiter:1', payload: 'route me' }).length === 1, 'output 1 of the waiting node on A');
    const [created] = emitted({ source: 'waiter:1', payload: 'route me' });
    assert.equal(created.instance, 'A');
    const sid = created.sid;
    assert.ok(sid);
    await rig.collector.waitFor(
      () => emitted({ instance: 'A', source: 'waiter:2', sid, status: 'sent' }).length > 0 && emitted({ instance: 'A', source: 'waiter:3', requestSid: sid }).length > 0,
      "A's output 2 with sent and output 3 with the answer",
    );
    await sleep(QUIET_MS);
    const forwarded = rig.balancer.forwarded.slice(forwardedBefore);
    const status = forwarded.find((f) => f.request.params.CommandSid === sid);
    const answer = forwarded.find((f) => isFromDevice(f.request) && dataOf(f.request) === 'ack:route me');
    assert.deepEqual(status?.to, ['B'], 'the status callback reached B only');
    assert.deepEqual(answer?.to, ['B'], 'the answer reached B only');
    assert.deepEqual(emitted({ source: 'waiter:2', sid }).map((e) => `${e.instance} ${e.status}`), ['A sent'], 'output 2 on A, once');
    assert.deepEqual(emitted({ source: 'waiter:3', requestSid: sid }).map((e) => `${e.instance} ${e.text}`), ['A ack:route me'], 'output 3 on A, once');
    // command-in emits every device's data as well, answers included: once, on the instance it reached.
    assert.deepEqual(emitted({ source: 'in:1', text: 'ack:route me' }).map((e) => e.instance), ['B'], 'command-in emitted the answer once, on B');
    assert.deepEqual(emitted({ source: 'catch' }), [], 'no Catch error');
  });

  it('Redis stopped mid-run and restarted: no crash, a status naming Redis, callbacks still handled, shared state resumes, nothing acknowledged lost', async function () {
    this.timeout(60_000);
    rig.balancer.route = (request) => (isFromDevice(request) && dataOf(request).endsWith('B') ? 'B' : 'A');
    const statusBefore = rig.collector.emitted.length;
    const redisStatus = (instance: InstanceName): Emitted[] =>
      rig.collector.emitted.slice(statusBefore).filter((e) => e.instance === instance && e.source === 'status' && /redis/i.test(e.statusText ?? ''));

    await rig.redis.stop();
    await rig.collector.waitFor(() => redisStatus('A').length > 0 && redisStatus('B').length > 0, 'a node status naming Redis on both instances', 20_000);

    // Devices go on sending: each callback acknowledged (200) must come out.
    const echo = rig.simulator.sim(SIMS.echo);
    await echo.sendIpCommand('during the outage to A', DEVICE_PORT);
    await echo.sendIpCommand('during the outage to B', DEVICE_PORT);
    await rig.collector.waitFor(
      () => emitted({ instance: 'A', source: 'in:1', text: 'during the outage to A' }).length === 1 && emitted({ instance: 'B', source: 'in:1', text: 'during the outage to B' }).length === 1,
      'both callbacks emitted during the outage',
    );
    for (const text of ['during the outage to A', 'during the outage to B']) {
      const delivery = rig.balancer.forwarded.find((f) => isFromDevice(f.request) && dataOf(f.request) === text);
      assert.deepEqual(delivery?.statuses, [200], `${text}: acknowledged`);
    }
    assert.ok(rig.a.alive && rig.b.alive, 'both instances still run');

    await rig.redis.restart();
    const statusText = (instance: InstanceName): string | undefined => rig.collector.emitted.filter((e) => e.instance === instance && e.source === 'status' && e.statusOf === 'in').at(-1)?.statusText;
    await rig.collector.waitFor(() => !/redis/i.test(statusText('A') ?? 'redis') && !/redis/i.test(statusText('B') ?? 'redis'), "command-in's status without Redis on both, once it is back", 20_000);

    // Shared again: a callback to both instances is emitted once.
    rig.balancer.route = (request) => (isFromDevice(request) ? 'both' : 'A');
    await echo.sendIpCommand('after the outage', DEVICE_PORT);
    await rig.collector.waitFor(() => emitted({ source: 'in:1', text: 'after the outage' }).length > 0, 'the callback after the outage');
    await sleep(QUIET_MS);
    assert.equal(emitted({ source: 'in:1', text: 'after the outage' }).length, 1, `once across both: ${summary(emitted({ source: 'in:1', text: 'after the outage' }))}`);
    // Nothing acknowledged during the outage was lost, nor emitted twice.
    assert.equal(emitted({ source: 'in:1', text: 'during the outage to A' }).length, 1);
    assert.equal(emitted({ source: 'in:1', text: 'during the outage to B' }).length, 1);
    assert.ok(rig.a.alive && rig.b.alive, 'both instances still run');
    assert.doesNotMatch(rig.a.logs() + rig.b.logs(), /Unhandled|uncaught exception/i);
  });

  it('after the outage, a callback acknowledged on A alone while Redis was down is known to B as a duplicate', async function () {
    const delivery = rig.balancer.forwarded.find((f) => isFromDevice(f.request) && dataOf(f.request) === 'during the outage to A');
    assert.ok(delivery, 'runs after the outage test');
    assert.equal((await rig.b.deliver(delivery.request)).status, 200);
    await sleep(QUIET_MS);
    assert.deepEqual(emitted({ source: 'in:1', text: 'during the outage to A' }).map((e) => e.instance), ['A'], 'A wrote its keys once Redis was back');
  });

  it('SIGKILL instance A while it has pending attempts: B completes them after the lease, creating nothing twice', async function () {
    this.timeout(60_000);
    rig.balancer.route = (request) => (isFromDevice(request) ? 'B' : 'A');
    const sleeper = rig.simulator.sim(SIMS.sleeper);
    sleeper.detach();
    const payloads = ['keep 1', 'keep 2', 'keep 3'];
    for (const payload of payloads) assert.equal(await rig.a.post('/keeper', payload), 200);
    await rig.collector.waitFor(
      () => payloads.every((payload) => emitted({ instance: 'A', source: 'keeper:2', payload, status: 'failed' }).length > 0),
      'a failed attempt of each message on A',
    );

    await rig.a.kill();
    const killedAt = Date.now();
    // Past ipSentMs: whatever A created before it died has failed, so a sent attempt can only be B's.
    await sleep(800);
    sleeper.attach();
    const createsOf = (payload: string): IpCommand[] => rig.simulator.ipCommands().filter((c) => c.direction === 'to_sim' && c.payload === payload && c.sim_sid === sleeper.sid);
    await waitUntil(() => payloads.every((payload) => createsOf(payload).some((c) => c.status === 'sent')), `every message sent after the SIGKILL`, 30_000);
    await sleep(QUIET_MS + 1000);

    for (const payload of payloads) {
      const creates = createsOf(payload);
      const context = `${payload}: creates ${JSON.stringify(creates.map((c) => [c.sid, c.status, c.date_created, c.date_updated]))}`;
      // What the statuses justify: attempts that failed, each created after the one before had failed, then one sent.
      assert.deepEqual(creates.map((c) => c.status), [...creates.slice(1).map(() => 'failed'), 'sent'], context);
      for (let i = 1; i < creates.length; i++) {
        assert.ok(Date.parse(creates[i].date_created) >= Date.parse(creates[i - 1].date_updated), `${context}\nattempt ${i + 1} was created before attempt ${i} had failed`);
      }
      const last = creates.at(-1);
      assert.ok(last && Date.parse(last.date_created) >= killedAt, `${context}\nthe sent attempt was created after A died, so by B`);
      // A lease renewed at least twice per lease (every third, as it is) outlives A by half a lease at least.
      const firstAfterKill = creates.find((c) => Date.parse(c.date_created) >= killedAt);
      assert.ok(firstAfterKill && Date.parse(firstAfterKill.date_created) >= killedAt + LEASE_MS / 2, `${context}\nB waited for A's lease before taking the attempt over (killed at ${new Date(killedAt).toISOString()})`);
    }
    assert.ok(rig.b.alive);
  });
});
