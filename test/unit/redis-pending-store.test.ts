/**
 * Pending attempts kept in a real redis-server (issue 15, item 5): records under this instance's
 * lease, renewed by a timer; taken over only once the owner's lease ran out, and by exactly one of
 * two contenders; a taken-over 'creating' record looked up before any create; Redis down → the local
 * file, Redis back → written back and the file removed.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sinon from 'sinon';
import { PendingCommands, RedisPendingStore } from '../../src/reaching';
import type { CommandResource, PendingAttempt, PendingCommandsOptions, RedisPendingStoreOptions } from '../../src/reaching';
import { RedisUnavailable } from '../../src/shared-state';
import type { RedisCommandClient, SharedRedis } from '../../src/shared-state';
import { redisFixture, waitFor } from '../support/redis-server';

const NODE = 'ip-node';
const LEASE_MS = 60_000;

function attempt(id: string, overrides: Partial<PendingAttempt> = {}): PendingAttempt {
  const now = Date.now();
  return {
    id,
    kind: 'ip',
    sim: 'thermostat',
    request: { sim: 'thermostat', payload: `ping ${id}`, devicePort: 6655, payloadType: 'text' },
    message: JSON.stringify({ _msgid: `m-${id}`, payload: `ping ${id}` }),
    attempt: 1,
    stage: 'backoff',
    startedAt: now - 10_000,
    deadline: now + 600_000,
    attemptStartedAt: now - 10_000,
    earlierSids: [],
    nextAttemptAt: now + 600_000,
    announced: true,
    followMs: 300_000,
    ...overrides,
  };
}

function isAttempt(value: unknown): value is PendingAttempt {
  const v = value as Partial<PendingAttempt>;
  return typeof v === 'object' && v !== null && typeof v.id === 'string' && typeof v.attempt === 'number' && Array.isArray(v.earlierSids);
}

describe('RedisPendingStore: pending attempts in Redis under leases', function () {
  this.timeout(30_000);
  const fixture = redisFixture({ keyPrefix: 'supersim:', leaseMs: LEASE_MS }, { maxReconnectDelayMs: 200 });
  let dir: string;
  const stores: RedisPendingStore<PendingAttempt>[] = [];

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'supersim-redis-pending-'));
  });
  afterEach(async function () {
    sinon.restore();
    for (const store of stores.splice(0)) await store.close().catch(() => undefined);
    await fixture.reset();
    rmSync(dir, { recursive: true, force: true });
  });

  const instance = (): Promise<SharedRedis> => fixture.connect();
  const admin = <T>(fn: (client: RedisCommandClient) => Promise<T>): Promise<T> => fixture.admin(fn);

  async function open(redis: SharedRedis, options: Partial<RedisPendingStoreOptions<PendingAttempt>> = {}) {
    const opened = await RedisPendingStore.open<PendingAttempt>({
      redis,
      nodeId: NODE,
      leaseMs: LEASE_MS,
      maxRecords: 100,
      file: join(dir, `${NODE}.json`),
      validate: isAttempt,
      timers: false,
      ...options,
    });
    stores.push(opened.store);
    return opened;
  }

  async function storedOwners(): Promise<Record<string, string>> {
    const all = await admin((client) => client.hGetAll(`supersim:pending:${NODE}`));
    return Object.fromEntries(Object.entries(all as Record<string, string>).map(([id, value]) => [id, (JSON.parse(value) as { owner: string }).owner]));
  }

  it('put, delete and open again: the records are in the node\'s hash under this instance, and a redeploy finds them', async function () {
    const a = await instance();
    const { store, records } = await open(a);
    assert.deepEqual(records, []);
    assert.equal(store.mode, 'redis');
    await Promise.all([store.put(attempt('r1')), store.put(attempt('r2')), store.put(attempt('r3'))]);
    await store.delete('r2');
    assert.deepEqual(await storedOwners(), { r1: a.instanceId, r3: a.instanceId });
    const value = JSON.parse((await admin((client) => client.hGet(`supersim:pending:${NODE}`, 'r1'))) as string) as { version: number; record: PendingAttempt };
    assert.equal(value.version, 1);
    assert.deepEqual(value.record, attempt('r1', { startedAt: value.record.startedAt, deadline: value.record.deadline, attemptStartedAt: value.record.attemptStartedAt, nextAttemptAt: value.record.nextAttemptAt }));
    assert.ok((await admin((client) => client.pTTL(`supersim:lease:${NODE}:${a.instanceId}`))) > LEASE_MS - 5_000, 'the lease is set');
    await store.close();
    assert.equal(existsSync(join(dir, `${NODE}.json`)), false, 'no local file while Redis is up');

    const again = await open(a);
    assert.deepEqual(again.records.map((r) => r.id).sort(), ['r1', 'r3']);
  });

  it('the lease is renewed every third of leaseMs while the store is open', async function () {
    const a = await instance();
    const clock = sinon.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    await open(a, { timers: true });
    const lease = `supersim:lease:${NODE}:${a.instanceId}`;
    await admin((client) => client.pExpire(lease, 2_000));
    clock.tick(LEASE_MS / 3 - 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok((await admin((client) => client.pTTL(lease))) <= 2_000, 'not renewed before a third of the lease');
    clock.tick(1);
    await waitFor(async () => (await admin((client) => client.pTTL(lease))) > LEASE_MS - 5_000, 'the renewal');
  });

  it('takes over only after the owner\'s lease ran out, and of two contenders exactly one takes each record', async function () {
    const [a, b, c] = [await instance(), await instance(), await instance()];
    const { store: owner } = await open(a);
    for (const id of ['t1', 't2', 't3', 't4', 't5']) await owner.put(attempt(id));
    await owner.close();
    // B's and C's clock: they have seen Redis for longer than a lease once it moves on.
    let shift = 0;
    const later = () => Date.now() + shift;
    const taken: Record<string, string[]> = { b: [], c: [] };
    const { store: sb } = await open(b, { now: later, onTakeOver: (records) => taken.b.push(...records.map((r) => r.id)) });
    const { store: sc } = await open(c, { now: later, onTakeOver: (records) => taken.c.push(...records.map((r) => r.id)) });
    shift = LEASE_MS;
    assert.deepEqual(await sb.takeOver(), [], 'A\'s lease is still there');
    assert.deepEqual(await sc.takeOver(), []);

    // The lease runs out (A stopped renewing it).
    await admin((client) => client.pExpire(`supersim:lease:${NODE}:${a.instanceId}`, 1));
    await waitFor(async () => (await admin((client) => client.exists(`supersim:lease:${NODE}:${a.instanceId}`))) === 0, 'the lease to run out');
    await Promise.all([sb.takeOver(), sc.takeOver()]);
    const all = [...taken.b, ...taken.c].sort();
    assert.deepEqual(all, ['t1', 't2', 't3', 't4', 't5'], 'every record taken once');
    const winner = taken.b.length > 0 ? b : c;
    assert.ok(taken.b.length === 0 || taken.c.length === 0, 'one script took them all');
    assert.deepEqual(Object.values(await storedOwners()), Array(5).fill(winner.instanceId));
    assert.deepEqual(await sb.takeOver(), []);
    assert.deepEqual(await sc.takeOver(), [], 'nothing is taken twice');
  });

  it('a store that has seen Redis for less than a lease takes nothing: an owner cut off with it renews first', async function () {
    const [a, b] = [await instance(), await instance()];
    const { store: owner } = await open(a);
    await owner.put(attempt('young'));
    await owner.close();
    await admin((client) => client.del(`supersim:lease:${NODE}:${a.instanceId}`));
    const { store } = await open(b);
    assert.deepEqual(await store.takeOver(), []);
    assert.deepEqual(await storedOwners(), { young: a.instanceId });
  });

  it('a write never replaces a record another live instance took: it is reported lost', async function () {
    const [a, b] = [await instance(), await instance()];
    const lost: string[] = [];
    const { store: sa } = await open(a, { onLost: (ids) => lost.push(...ids) });
    await sa.put(attempt('w1'));
    // A paused past its lease; B took w1 over.
    await admin((client) => client.del(`supersim:lease:${NODE}:${a.instanceId}`));
    let shift = 0;
    const { store: sb } = await open(b, { now: () => Date.now() + shift });
    shift = LEASE_MS;
    assert.deepEqual((await sb.takeOver()).map((r) => r.id), ['w1']);
    await sa.renewLease();
    await sa.flush();
    assert.deepEqual(lost, ['w1'], 'A learns it lost w1 when it renews a lease that had run out');
    assert.equal(sa.has('w1'), false);
    await sa.put(attempt('w1', { attempt: 9 })).catch(() => undefined);
    await sa.flush();
    assert.deepEqual(await storedOwners(), { w1: b.instanceId });
    assert.equal(((JSON.parse((await admin((client) => client.hGet(`supersim:pending:${NODE}`, 'w1'))) as string) as { record: PendingAttempt }).record).attempt, 1);
  });

  it("a 'creating' record taken over is looked up before any create, and adopted when found", async function () {
    const [a, b] = [await instance(), await instance()];
    const { store: owner } = await open(a);
    await owner.put(attempt('c1', { stage: 'creating', announced: false, nextAttemptAt: undefined }));
    await owner.close();
    await admin((client) => client.del(`supersim:lease:${NODE}:${a.instanceId}`));

    const created: unknown[] = [];
    const lookedUp: string[] = [];
    const found: CommandResource = { sid: 'HG' + '1'.repeat(32), status: 'queued', sim_sid: 'HS' + '2'.repeat(32), date_created: new Date().toISOString() };
    const holder: { engine?: PendingCommands } = {};
    let shift = 0;
    const { store } = await open(b, { now: () => Date.now() + shift, onTakeOver: (records) => holder.engine?.resume(records) });
    const options: PendingCommandsOptions = {
      store,
      create: async (_kind, request) => {
        created.push(request);
        return { resource: found, mode: 'poll' };
      },
      reconcile: async (record) => {
        lookedUp.push(record.id);
        return found;
      },
      fetch: async (_kind, sid) => ({ sid, status: 'queued' }),
      tracker: { track: () => true },
      answers: { wait: () => () => undefined, offer: () => false, waiting: 0 },
      answerSource: () => 'poll',
      backoffMs: () => 30_000,
      describe: (code) => code,
      events: { announced: () => undefined, status: () => undefined, answered: () => undefined, failed: () => undefined, changed: () => undefined, storeFailed: () => undefined, lookupFailed: () => undefined },
    };
    const engine = new PendingCommands(options);
    holder.engine = engine;
    shift = LEASE_MS;
    await store.takeOver();
    await waitFor(() => lookedUp.length === 1, 'the lookup');
    await store.flush();
    assert.deepEqual(created, [], 'never created again blindly');
    const value = JSON.parse((await admin((client) => client.hGet(`supersim:pending:${NODE}`, 'c1'))) as string) as { owner: string; record: PendingAttempt };
    assert.equal(value.owner, b.instanceId);
    assert.equal(value.record.sid, found.sid, 'the found command is adopted');
    engine.close();
  });

  it('Redis down: changes go to the local file; Redis back: written back under the lease, the file removed', async function () {
    const a = await instance();
    const file = join(dir, `${NODE}.json`);
    const modes: string[] = [];
    const { store } = await open(a, { onMode: (mode) => modes.push(mode) });
    await store.put(attempt('d1'));
    await fixture.server.kill();
    await waitFor(() => a.health !== 'up', 'Redis to go');
    await store.put(attempt('d2'));
    await store.delete('d1');
    await store.put(attempt('d3'));
    assert.equal(store.mode, 'local');
    const inFile = (): string[] => (JSON.parse(readFileSync(file, 'utf8')) as { records: PendingAttempt[] }).records.map((r) => r.id).sort();
    assert.deepEqual(inFile(), ['d2', 'd3'], 'acknowledged once in the file');

    await fixture.server.restart();
    await waitFor(() => store.mode === 'redis' && !existsSync(file), 'the write-back');
    assert.deepEqual(await storedOwners(), { d2: a.instanceId, d3: a.instanceId });
    assert.deepEqual(modes, ['redis', 'local', 'redis']);
    assert.ok((await admin((client) => client.exists(`supersim:lease:${NODE}:${a.instanceId}`))) === 1, 'the lease is back');
  });

  it('a node started while Redis is down resumes from its local file, and writes it back once Redis returns', async function () {
    const a = await instance();
    const file = join(dir, `${NODE}.json`);
    const { store: before } = await open(a);
    await fixture.server.kill();
    await waitFor(() => a.health !== 'up', 'Redis to go');
    await before.put(attempt('f1'));
    await before.close();
    assert.ok(existsSync(file));

    const { store, records } = await open(a);
    assert.deepEqual(records.map((r) => r.id), ['f1']);
    assert.equal(store.mode, 'local');
    await assert.rejects(a.run(() => Promise.resolve()), RedisUnavailable);
    await fixture.server.restart();
    await waitFor(() => store.mode === 'redis' && !existsSync(file), 'the write-back');
    assert.deepEqual(await storedOwners(), { f1: a.instanceId });
  });

  it('destroy drops this instance\'s records and lease, and leaves other instances\' records alone', async function () {
    const [a, b] = [await instance(), await instance()];
    const { store: sa } = await open(a);
    const { store: sb } = await open(b);
    await sa.put(attempt('mine'));
    await sb.put(attempt('theirs'));
    await sa.destroy();
    assert.deepEqual(await storedOwners(), { theirs: b.instanceId });
    assert.equal(await admin((client) => client.exists(`supersim:lease:${NODE}:${a.instanceId}`)), 0);
  });

  it('refuses a new id past maxRecords, and takes over no more than there is room for', async function () {
    const [a, b] = [await instance(), await instance()];
    const { store: sa } = await open(a, { maxRecords: 3 });
    for (const id of ['m1', 'm2', 'm3']) await sa.put(attempt(id));
    assert.throws(() => sa.put(attempt('m4')), /at most 3/);
    await sa.close();
    await admin((client) => client.del(`supersim:lease:${NODE}:${a.instanceId}`));
    let shift = 0;
    const { store: sb } = await open(b, { maxRecords: 2, now: () => Date.now() + shift });
    shift = LEASE_MS;
    assert.equal((await sb.takeOver()).length, 2);
    assert.equal((await sb.takeOver()).length, 0, 'full');
    assert.equal(Object.values(await storedOwners()).filter((owner) => owner === a.instanceId).length, 1, 'the rest stays for another instance');
  });
});
