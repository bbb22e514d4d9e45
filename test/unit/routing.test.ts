import { strict as assert } from 'node:assert';
import type { CommandEvent } from '../../src/callbacks';
import { AnswerDesk } from '../../src/reaching';
import { connectRedis, EventRouter } from '../../src/shared-state';
import type { SharedRedis } from '../../src/shared-state';
import { CallbackHub } from '../../src/tracking';
import { redisFixture } from '../support/redis-server';

const SIM = `HS${'a'.repeat(32)}`;
let serial = 0;

function event(direction: 'from_sim' | 'to_sim', status: CommandEvent['status'] = 'received'): CommandEvent {
  const sid = `HG${(++serial).toString(16).padStart(32, '0')}`;
  return {
    sid, kind: 'ip', direction, status, sim: { sid: SIM, uniqueName: null, iccid: null }, payloadType: 'binary', payload: Buffer.from([1, 2, 255]),
    rawPayload: 'AQL/', errorCode: null, errorMessage: null, accountSid: null, apiVersion: null, idempotencyToken: null, params: {},
  };
}

const noList = async function* () {};

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Instance { redis: SharedRedis; router: EventRouter; hub: CallbackHub<CommandEvent>; desk: AnswerDesk; detach: () => Promise<void> }

async function instance(url: string): Promise<Instance> {
  const redis = connectRedis({ url, keyPrefix: `t${serial++}:`.replace(/t\d+/, 'test'), leaseMs: 30_000 });
  await until(() => redis.health === 'up');
  const router = new EventRouter(redis);
  const hub = new CallbackHub<CommandEvent>();
  const desk = new AnswerDesk({ list: noList });
  const detach = await router.attach('account-1', hub, desk);
  // The base's subscribe() can resolve before the subscriber connection has subscribed.
  await new Promise((resolve) => setTimeout(resolve, 150));
  return { redis, router, hub, desk, detach };
}

function waitAnswer(desk: AnswerDesk, got: CommandEvent[]): () => void {
  return desk.wait({ kind: 'ip', simSid: SIM, createdAt: Date.now() - 1000, sentAt: Date.now() - 1000, timeoutMs: 10_000, source: 'callback', onAnswer: (a) => got.push(a), onTimeout: () => undefined });
}

describe('routing between instances (shared-state/routing)', function () {
  // Only its server: each instance below opens its own connection.
  const fixture = redisFixture({ keyPrefix: 'test:', leaseMs: 30_000 });
  let a: Instance;
  let b: Instance;

  beforeEach(async () => {
    a = await instance(fixture.server.url);
    b = await instance(fixture.server.url);
  });
  afterEach(async () => {
    for (const one of [a, b]) {
      await one.detach();
      one.desk.close();
      await one.redis.close();
    }
  });

  it("a status for a SID that A tracks, arriving at B's hub, reaches A's tracker once, with its payload intact", async () => {
    const status = event('to_sim', 'sent');
    const seen: CommandEvent[] = [];
    a.hub.subscribe(status.sid, (e) => seen.push(e));
    assert.equal(b.hub.deliver(status), false);
    await until(() => seen.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0], status);
    assert.equal(b.router.stats.published, 1);
  });

  it('a routed status that comes before its subscriber is kept for it', async () => {
    const status = event('to_sim', 'sent');
    b.hub.deliver(status);
    await until(() => a.router.stats.received === 1);
    const seen: CommandEvent[] = [];
    a.hub.subscribe(status.sid, (e) => seen.push(e));
    assert.equal(seen.length, 1);
  });

  it('an answer reaches exactly one waiter, even with waiters on two instances', async () => {
    const c = await instance(fixture.server.url);
    try {
      const gotA: CommandEvent[] = [];
      const gotC: CommandEvent[] = [];
      waitAnswer(a.desk, gotA);
      waitAnswer(c.desk, gotC);
      const answer = event('from_sim');
      assert.equal(b.desk.offer(answer), false);
      await until(() => gotA.length + gotC.length > 0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(gotA.length + gotC.length, 1);
      assert.equal(a.router.stats.claimsWon + c.router.stats.claimsWon, 1);
      assert.equal(a.router.stats.claimsLost + c.router.stats.claimsLost, 1, JSON.stringify([a.router.stats, c.router.stats]));
      // B kept it too, but may not hand it: the claim is taken.
      const gotB: CommandEvent[] = [];
      waitAnswer(b.desk, gotB);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(gotB.length, 0);
    } finally {
      await c.detach();
      c.desk.close();
      await c.redis.close();
    }
  });

  it("an instance's own publishes are ignored", async () => {
    const status = event('to_sim', 'sent');
    b.hub.deliver(status);
    await until(() => a.router.stats.received === 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(b.router.stats.received, 0);
    assert.equal(b.hub.earlyEvents, 1);
  });

  it('Redis down: events stay local, failures are counted, nothing throws, a local waiter still gets a late answer', async () => {
    await fixture.server.kill();
    try {
      await until(() => b.redis.health !== 'up');
      const answer = event('from_sim');
      assert.equal(b.desk.offer(answer), false);
      b.hub.deliver(event('to_sim', 'sent'));
      await until(() => b.router.stats.publishFailures === 2);
      const got: CommandEvent[] = [];
      waitAnswer(b.desk, got);
      await until(() => got.length === 1);
      assert.equal(got[0].sid, answer.sid);
    } finally {
      await fixture.server.restart();
    }
  });
});
