/**
 * The send nodes and the account on a shared Redis (issue 15, items 4-6, sending side), in the test
 * helper's Node-RED against the simulator and a real redis-server: keep trying writes its pending
 * attempts to Redis, not the userDir file; another instance takes them over once the lease ran out,
 * with no second create; a status or an answer that reaches another instance reaches the node's
 * outputs 2 and 3; Redis killed mid-run and restarted: the node says so, goes on locally, catches up.
 *
 * Each helper.load() is its own Node-RED runtime here (a fresh RED.httpNode), so its own instanceId:
 * a second load after the first one's lease lapsed plays the second instance.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pendingFileOf } from '../../nodes/lib/follow-ups';
import type { AccountNode } from '../../nodes/supersim-account';
import type { CommandEvent } from '../../src/callbacks';
import { AnswerDesk, RedisPendingStore } from '../../src/reaching';
import type { PendingAttempt } from '../../src/reaching';
import { sharedValueOf } from '../../src/reaching/pending-leases';
import { createCommand } from '../../src/sending';
import type { CreateRequest } from '../../src/sending';
import { connectRedis, eventRouterOf } from '../../src/shared-state';
import type { RedisCommandClient } from '../../src/shared-state';
import { Simulator } from '../../src/simulator';
import { CallbackHub } from '../../src/tracking';
import { collectMessages, helper, logLines } from '../support/flows';
import { redisFixture } from '../support/redis-server';
import { HOOK, echoDevices, ipSend, reachFlow, reachingModules, serveHttpNode, statusTexts } from './reaching-flows';

const FAST = { ipSentMs: 10, smsSentMs: 10, smsDeliveredMs: 20, callbackRetryMs: 20 };
const LEASE_MS = 1000;
const PREFIX = 'supersim:';
const DOWN = 'Redis down, local state';

interface StatusPayload {
  sid: string;
  status: string;
  error_code?: number | null;
  error_message?: string;
}

interface Stored {
  owner: string;
  version: number;
  record: PendingAttempt;
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('send nodes on a shared Redis: pending attempts, routing, Redis down', function () {
  this.timeout(30_000);
  const fixture = redisFixture({ keyPrefix: PREFIX, leaseMs: LEASE_MS }, { maxReconnectDelayMs: 200 });
  let server: { url: string; close(): Promise<void> };
  let sim: Simulator | undefined;
  let dir: string;
  const closing: Array<() => Promise<void>> = [];

  before(async function () {
    server = await serveHttpNode();
  });
  after(async function () {
    await server?.close();
  });
  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'supersim-shared-reach-'));
  });
  afterEach(async function () {
    await helper.unload();
    for (const close of closing.splice(0).reverse()) await close().catch(() => undefined);
    await sim?.close();
    sim = undefined;
    helper.settings({});
    await fixture.reset();
    rmSync(dir, { recursive: true, force: true });
  });

  function run<T>(fn: (client: RedisCommandClient) => Promise<T>): Promise<T> {
    return fixture.admin(fn);
  }

  function settings(keepTrying = { firstRetryMs: 200, maxRetryMs: 400 }): void {
    helper.settings({ userDir: dir, supersim: { keepTrying, redis: { url: fixture.server.url, leaseMs: LEASE_MS } } });
  }

  async function stored(nodeId = 'send'): Promise<Record<string, Stored>> {
    const all = (await run((client) => client.hGetAll(`${PREFIX}pending:${nodeId}`))) as Record<string, string>;
    return Object.fromEntries(Object.entries(all).map(([id, value]) => [id, JSON.parse(value) as Stored]));
  }

  async function startSim(): Promise<Simulator> {
    const s = await Simulator.start({
      mode: 'kore',
      timing: FAST,
      fleets: [{ uniqueName: 'default', ipCommandsUrl: server.url + HOOK, smsCommandsUrl: server.url + HOOK }],
      sims: [{ uniqueName: 'thermostat' }, { uniqueName: 'parked', attached: false }, { uniqueName: 'mute' }],
    });
    await echoDevices(s);
    return s;
  }

  /** The other instance's account, as far as routing goes: its own connection (instanceId), hub and desk. */
  async function otherInstance(): Promise<{ hub: CallbackHub<CommandEvent>; desk: AnswerDesk }> {
    const redis = connectRedis({ url: fixture.server.url, keyPrefix: PREFIX, leaseMs: LEASE_MS });
    await waitFor(() => redis.health === 'up', 5_000, 'the other instance\'s connection');
    const hub = new CallbackHub<CommandEvent>();
    const desk = new AnswerDesk({ list: async function* () {} });
    const detach = await eventRouterOf(redis).attach('account', hub, desk);
    closing.push(async () => {
      await detach();
      desk.close();
      await redis.close();
    });
    // subscribe() resolves before the subscriber connection has subscribed.
    await sleep(200);
    return { hub, desk };
  }

  /** A server where the simulator's status callbacks go and are dropped: they never reach this instance. */
  async function blackHole(): Promise<string> {
    const hole: Server = createServer((_req, res) => res.writeHead(204).end());
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    closing.push(
      () =>
        new Promise<void>((resolve) => {
          hole.closeAllConnections();
          hole.close(() => resolve());
        }),
    );
    return `http://127.0.0.1:${(hole.address() as AddressInfo).port}`;
  }

  function event(sid: string, simSid: string, direction: CommandEvent['direction'], status: CommandEvent['status'], overrides: Partial<CommandEvent> = {}): CommandEvent {
    return {
      sid, kind: 'ip', direction, status, sim: { sid: simSid, uniqueName: null, iccid: null }, payloadType: 'text', payload: '', rawPayload: '',
      errorCode: null, errorMessage: null, accountSid: null, apiVersion: null, idempotencyToken: null, params: {}, ...overrides,
    } as CommandEvent;
  }

  it('keeps its pending attempt in Redis (hash pending:<node id>, under this instance), not in the userDir file', async function () {
    settings({ firstRetryMs: 5000, maxRetryMs: 5000 });
    sim = await startSim();
    const { flow, credentials } = reachFlow(sim, ipSend({ sim: 'parked', retryFor: 60 }), { publicUrl: server.url });
    await helper.load(reachingModules, flow, credentials);
    const statuses = collectMessages('status');
    helper.getNode('send').receive({ payload: 'wake up' });
    await waitFor(() => statuses.some((m) => (m.payload as StatusPayload).status === 'failed'), 10_000, 'attempt 1 failed');
    let records: Record<string, Stored> = {};
    await waitFor(async () => Object.values((records = await stored())).some((s) => s.record.stage === 'backoff'), 5_000, 'the record in backoff in Redis');
    const [only] = Object.values(records);
    assert.equal(Object.keys(records).length, 1);
    assert.equal(only.record.sim, 'parked');
    assert.equal(only.record.attempt, 1);
    assert.equal(await run((client) => client.exists(`${PREFIX}lease:send:${only.owner}`)), 1, "the owner's lease is set");
    assert.equal(existsSync(pendingFileOf(dir, 'send')), false, 'no userDir file while Redis is up');
    assert.equal(sim.createdCount('ip'), 1);
  });

  it("another instance takes over a 'creating' attempt after the lease ran out: looked up and adopted, never created twice", async function () {
    settings({ firstRetryMs: 60_000, maxRetryMs: 60_000 });
    sim = await startSim();
    const { flow, credentials } = reachFlow(sim, ipSend({ sim: 'parked', retryFor: 600 }), { publicUrl: '' });
    // Instance A: attempt 1 fails, the attempt waits a minute for its next try.
    await helper.load(reachingModules, flow, credentials);
    const statusesA = collectMessages('status');
    helper.getNode('send').receive({ payload: 'wake up', extra: 'kept' });
    await waitFor(() => statusesA.some((m) => (m.payload as StatusPayload).status === 'failed'), 10_000, 'attempt 1 failed');
    let records: Record<string, Stored> = {};
    await waitFor(async () => Object.values((records = await stored())).some((s) => s.record.stage === 'backoff'), 5_000, 'the record in backoff');
    const [[id, { owner: a, record }]] = Object.entries(records);
    // A dies while attempt 2's create is on the wire: the command exists, the record still says 'creating'.
    sim.sim('parked').attach();
    const attemptStartedAt = Date.now();
    const client = (helper.getNode('account') as unknown as AccountNode).account.client;
    const created = (await createCommand(client, 'ip', record.request as unknown as CreateRequest, undefined, new AbortController().signal)) as unknown as StatusPayload;
    await helper.unload();
    const creating: PendingAttempt = { ...record, stage: 'creating', attempt: 2, attemptStartedAt, earlierSids: [...record.earlierSids, record.sid as string], sid: undefined, status: undefined, nextAttemptAt: undefined };
    await run((c) => c.hSet(`${PREFIX}pending:send`, id, sharedValueOf(a, creating)));
    await run((c) => c.del(`${PREFIX}lease:send:${a}`));
    assert.equal(sim.createdCount('ip'), 2, 'attempt 1 and the one A was creating');

    // Instance B: the same flow.
    settings();
    await helper.load(reachingModules, flow, credentials);
    const statusesB = collectMessages('status');
    const caught = collectMessages('caught');
    await waitFor(() => statusesB.some((m) => (m.payload as StatusPayload).status === 'sent'), 15_000, 'the adopted attempt reported sent on B');
    const sent = statusesB.find((m) => (m.payload as StatusPayload).status === 'sent') as Record<string, unknown>;
    assert.equal((sent.payload as StatusPayload).sid, created.sid, "B follows the command A had created");
    assert.equal(sent.attempt, 2);
    assert.equal(sent.extra, 'kept', "the message is A's");
    await waitFor(async () => Object.keys(await stored()).length === 0, 5_000, 'nothing left pending in Redis');
    await sleep(500);
    assert.equal(sim.createdCount('ip'), 2, 'no create by B');
    assert.equal(caught.length, 0);
  });

  it('another instance takes over an attempt in backoff after the lease ran out and completes it with one create', async function () {
    settings({ firstRetryMs: 60_000, maxRetryMs: 60_000 });
    sim = await startSim();
    const { flow, credentials } = reachFlow(sim, ipSend({ sim: 'parked', retryFor: 600 }), { publicUrl: '' });
    await helper.load(reachingModules, flow, credentials);
    const statusesA = collectMessages('status');
    helper.getNode('send').receive({ payload: 'wake up' });
    await waitFor(() => statusesA.some((m) => (m.payload as StatusPayload).status === 'failed'), 10_000, 'attempt 1 failed');
    let records: Record<string, Stored> = {};
    await waitFor(async () => Object.values((records = await stored())).some((s) => s.record.stage === 'backoff'), 5_000, 'the record in backoff');
    const [{ owner: a }] = Object.values(records);
    await helper.unload();
    // The next try is due now, and A's lease lapses as if A had died.
    const [[id, value]] = Object.entries(records);
    await run((c) => c.hSet(`${PREFIX}pending:send`, id, sharedValueOf(a, { ...value.record, nextAttemptAt: Date.now() } as PendingAttempt)));
    await run((c) => c.del(`${PREFIX}lease:send:${a}`));
    sim.sim('parked').attach();

    settings();
    const loadedAt = Date.now();
    await helper.load(reachingModules, flow, credentials);
    const statusesB = collectMessages('status');
    await waitFor(() => statusesB.some((m) => (m.payload as StatusPayload).status === 'sent'), 15_000, 'attempt 2 sent on B');
    assert.ok(Date.now() - loadedAt >= LEASE_MS, 'B waits until it has seen Redis for a whole lease');
    const sent = statusesB.find((m) => (m.payload as StatusPayload).status === 'sent') as Record<string, unknown>;
    assert.equal(sent.attempt, 2);
    await waitFor(async () => Object.keys(await stored()).length === 0, 5_000, 'nothing left pending in Redis');
    assert.equal(sim.createdCount('ip'), 2, 'attempt 1 by A, attempt 2 by B: no duplicate');
  });

  it("routing: a status callback that reaches another instance's hub reaches this node's output 2", async function () {
    settings();
    sim = await startSim();
    const other = await otherInstance();
    const { flow, credentials } = reachFlow(sim, ipSend({ track: true }), { publicUrl: await blackHole() });
    await helper.load(reachingModules, flow, credentials);
    const out = collectMessages('out');
    const statuses = collectMessages('status');
    helper.getNode('send').receive({ payload: 'hello' });
    await waitFor(() => out.length === 1, 5_000, 'output 1');
    const resource = out[0].payload as StatusPayload & { sim_sid: string };
    await sleep(300);
    assert.equal(statuses.length, 0, "the simulator's callbacks go elsewhere");
    // The other instance got the callback: nobody there tracks the command.
    assert.equal(other.hub.deliver(event(resource.sid, resource.sim_sid, 'to_sim', 'failed', { errorCode: 32001, errorMessage: 'routed' })), false);
    await waitFor(() => statuses.length === 1, 5_000, 'the routed status on output 2');
    const payload = statuses[0].payload as StatusPayload;
    assert.equal(payload.sid, resource.sid);
    assert.equal(payload.status, 'failed');
    assert.equal(payload.error_message, 'routed');
    await sleep(300);
    assert.equal(statuses.length, 1, 'once');
  });

  it("routing: a device's answer that reaches another instance reaches this node's output 3, once", async function () {
    settings();
    sim = await startSim();
    const other = await otherInstance();
    const { flow, credentials } = reachFlow(sim, ipSend({ sim: 'mute', waitAnswer: true, answerTimeout: 10, outputs: 3 }), { publicUrl: server.url, commandIn: true });
    await helper.load(reachingModules, flow, credentials);
    const out = collectMessages('out');
    const answers = collectMessages('answer');
    helper.getNode('send').receive({ payload: 'are you up?' });
    await waitFor(() => out.length === 1, 5_000, 'output 1');
    const simSid = (out[0].payload as { sim_sid: string }).sim_sid;
    await sleep(200);
    const answer = event(`HG${'7'.repeat(32)}`, simSid, 'from_sim', 'received', { payload: 'routed answer', rawPayload: 'routed answer' });
    assert.equal(other.desk.offer(answer), false, 'nobody waits for it there');
    await waitFor(() => answers.length === 1, 5_000, 'the routed answer on output 3');
    assert.equal(answers[0].payload, 'routed answer');
    assert.equal((answers[0].command as { sid: string }).sid, answer.sid);
    await sleep(300);
    assert.equal(answers.length, 1, 'once');
  });

  it('a redeploy on the same instance picks its attempts up again at once (no takeover wait), with no duplicate create', async function () {
    settings({ firstRetryMs: 1500, maxRetryMs: 1500 });
    sim = await startSim();
    const send = ipSend({ sim: 'parked', retryFor: 60 });
    const { flow, credentials } = reachFlow(sim, send, { publicUrl: server.url });
    await helper.load(reachingModules, flow, credentials);
    const statuses = collectMessages('status');
    helper.getNode('send').receive({ payload: 'first', extra: 1 });
    await waitFor(() => statuses.some((m) => (m.payload as StatusPayload).status === 'failed'), 5_000, 'attempt 1 failed');
    await waitFor(async () => Object.values(await stored()).some((s) => s.record.stage === 'backoff'), 5_000, 'the record in backoff');

    const again = reachFlow(sim, send, { publicUrl: server.url });
    const redeployedAt = Date.now();
    await helper.setFlows(again.flow, 'full', again.credentials);
    const after = collectMessages('status');
    await waitFor(() => logLines('send', 40).includes('Resumed 1 commands this node was still trying to send.'), 2_000, 'the log line "Resumed 1 commands"');
    assert.ok(Date.now() - redeployedAt < LEASE_MS, 'resumed as its own, not taken over after a lease');
    sim.sim('parked').attach();
    await waitFor(() => after.some((m) => (m.payload as StatusPayload).status === 'sent'), 8_000, 'attempt 2 sent after the redeploy');
    assert.equal(after.find((m) => (m.payload as StatusPayload).status === 'sent')?.extra, 1);
    await waitFor(async () => Object.keys(await stored()).length === 0, 5_000, 'nothing left pending in Redis');
    assert.equal(sim.createdCount('ip'), 2, 'one failed, one sent');
  });

  it('deleting the node drops its attempts from Redis: a warning with the count, no more creates', async function () {
    settings({ firstRetryMs: 1000, maxRetryMs: 1000 });
    sim = await startSim();
    const { flow, credentials } = reachFlow(sim, ipSend({ sim: 'parked', retryFor: 60 }), { publicUrl: server.url });
    await helper.load(reachingModules, flow, credentials);
    const statuses = collectMessages('status');
    for (const payload of ['a', 'b']) helper.getNode('send').receive({ payload });
    await waitFor(() => statuses.filter((m) => (m.payload as StatusPayload).status === 'failed').length === 2, 5_000, 'two failed first attempts');
    await waitFor(async () => Object.keys(await stored()).length === 2, 2_000, 'both in Redis');
    const warned: string[] = [];
    helper.getNode('send').on('call:warn', (call: { args: unknown[] }) => warned.push(String(call.args[0])));

    const without = reachFlow(sim, {}, { publicUrl: server.url, withoutSend: true });
    await helper.setFlows(without.flow, 'nodes', without.credentials);
    const creates = sim.createdCount('ip');
    await waitFor(() => warned.includes('This node was deleted: 2 commands it was still trying to send were dropped.'), 2_000, `the warning (${JSON.stringify(warned)})`);
    assert.deepEqual(await stored(), {}, 'the hash is empty');
    await sleep(1500);
    assert.equal(sim.createdCount('ip'), creates, 'no more creates');
  });

  it('attempts another instance took while this one could not renew its lease: released here, one warning, no more creates here', async function () {
    settings({ firstRetryMs: 1000, maxRetryMs: 1000 });
    sim = await startSim();
    const { flow, credentials } = reachFlow(sim, ipSend({ sim: 'parked', retryFor: 60 }), { publicUrl: server.url });
    await helper.load(reachingModules, flow, credentials);
    const statuses = collectMessages('status');
    const caught = collectMessages('caught');
    const warned: string[] = [];
    helper.getNode('send').on('call:warn', (call: { args: unknown[] }) => warned.push(String(call.args[0])));
    helper.getNode('send').receive({ payload: 'mine?' });
    await waitFor(() => statuses.some((m) => (m.payload as StatusPayload).status === 'failed'), 5_000, 'attempt 1 failed');
    let records: Record<string, Stored> = {};
    await waitFor(async () => Object.values((records = await stored())).some((s) => s.record.stage === 'backoff'), 5_000, 'the record in backoff');
    const [{ owner: a }] = Object.values(records);

    // Another instance, whose clock says it has seen Redis for a whole lease, takes it over the moment A's lease is gone.
    const redis = connectRedis({ url: fixture.server.url, keyPrefix: PREFIX, leaseMs: LEASE_MS });
    await waitFor(() => redis.health === 'up', 5_000, 'the other connection');
    let shift = 0;
    const { store: other } = await RedisPendingStore.open<PendingAttempt>({ redis, nodeId: 'send', leaseMs: LEASE_MS, maxRecords: 10, now: () => Date.now() + shift });
    closing.push(async () => {
      await other.close();
      await redis.close();
    });
    shift = LEASE_MS;
    await run((c) => c.del(`${PREFIX}lease:send:${a}`));
    assert.equal((await other.takeOver()).length, 1);
    const creates = sim.createdCount('ip');

    await waitFor(() => warned.some((w) => w.startsWith('Another Node-RED instance took over 1 commands')), 3_000, `the warning (${JSON.stringify(warned)})`);
    await waitFor(() => !/to retry/.test(statusTexts('send').at(-1) ?? ''), 2_000, 'the count gone from the status');
    await sleep(2000);
    assert.equal(sim.createdCount('ip'), creates, 'this instance creates nothing more for it');
    assert.equal(Object.values(await stored())[0]?.owner, redis.instanceId, 'the other instance holds it');
    assert.equal(warned.filter((w) => w.startsWith('Another Node-RED instance')).length, 1, 'warned once');
    assert.equal(caught.length, 0, 'no Catch error: the message is not over, only elsewhere');
  });

  it('Redis killed mid-run: no crash, the status says so, the attempt goes on in the local file; Redis back: shared again', async function () {
    settings({ firstRetryMs: 300, maxRetryMs: 300 });
    sim = await startSim();
    const { flow, credentials } = reachFlow(sim, ipSend({ sim: 'parked', retryFor: 120 }), { publicUrl: server.url });
    await helper.load(reachingModules, flow, credentials);
    const statuses = collectMessages('status');
    const caught = collectMessages('caught');
    const warnings: string[] = [];
    const send = helper.getNode('send');
    const warn = send.warn.bind(send);
    send.warn = (message: unknown) => {
      warnings.push(String(message));
      warn(message);
    };
    send.receive({ payload: 'keep at it' });
    await waitFor(async () => Object.keys(await stored()).length === 1, 5_000, 'the record in Redis');

    await fixture.server.kill();
    await waitFor(() => (statusTexts('send').at(-1) ?? '').endsWith(DOWN), 10_000, `the status "… · ${DOWN}" (${statusTexts('send').slice(-3).join(' | ')})`);
    const before = sim.createdCount('ip');
    await waitFor(() => (sim?.createdCount('ip') ?? 0) >= before + 2, 10_000, 'attempts going on');
    assert.ok(existsSync(pendingFileOf(dir, 'send')), 'the attempt is kept in the userDir file meanwhile');
    assert.equal(warnings.filter((w) => /Redis is unreachable/.test(w)).length, 1, `warned once (${warnings.join(' | ')})`);
    assert.equal(caught.length, 0);

    await fixture.server.restart();
    await waitFor(() => !(statusTexts('send').at(-1) ?? '').includes(DOWN), 15_000, 'the status without the Redis note');
    await waitFor(async () => Object.keys(await stored()).length === 1, 10_000, 'the record written back to Redis (it had lost its data)');
    await waitFor(() => !existsSync(pendingFileOf(dir, 'send')), 5_000, 'the local file removed');

    sim.sim('parked').attach();
    await waitFor(() => statuses.some((m) => (m.payload as StatusPayload).status === 'sent'), 10_000, 'an attempt sent');
    await waitFor(async () => Object.keys(await stored()).length === 0, 5_000, 'nothing left pending');
    assert.equal(caught.length, 0);
    assert.equal(warnings.filter((w) => /Redis is unreachable/.test(w)).length, 1, 'still once');
  });
});
