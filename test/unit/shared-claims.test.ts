/**
 * Callback idempotency across instances through a real redis-server (issue 15, item 2): two
 * connections stand for two Node-RED instances, each with its receiver's own local memory.
 */
import assert from 'node:assert/strict';
import { CallbackReceiver, KORE_IDEMPOTENCY_HEADER, receiveOnce, sharedClaimKeysOf } from '../../src/callbacks';
import type { CallbackRequest, ReceiverResult } from '../../src/callbacks';
import { RedisClaimStore } from '../../src/shared-state';
import type { RedisCommandClient, SharedRedis } from '../../src/shared-state';
import { redisFixture, waitFor } from '../support/redis-server';

const SID = `HG${'0a'.repeat(16)}`;
const DAY_MS = 24 * 60 * 60 * 1000;

function callback(token: string | undefined, status = 'sent'): CallbackRequest {
  const body = new URLSearchParams({ CommandSid: SID, SimSid: `HS${'0b'.repeat(16)}`, Status: status, Direction: 'to_sim', Payload: 'hi', PayloadType: 'text' }).toString();
  const headers: CallbackRequest['headers'] = { 'content-type': 'application/x-www-form-urlencoded', host: '127.0.0.1:1880' };
  if (token !== undefined) headers[KORE_IDEMPOTENCY_HEADER] = token;
  return { method: 'POST', url: '/in', headers, rawBody: Buffer.from(body) };
}

describe('RedisClaimStore: callbacks emitted once across instances', function () {
  this.timeout(30_000);
  const fixture = redisFixture({ keyPrefix: 'test:', leaseMs: 30_000 }, { maxReconnectDelayMs: 100, commandTimeoutMs: 500 });
  const stores: RedisClaimStore[] = [];

  afterEach(async function () {
    for (const store of stores.splice(0)) store.close();
    await fixture.reset();
  });

  const instance = (): Promise<SharedRedis> => fixture.connect();

  function storeOn(redis: SharedRedis, maxBacklog?: number): RedisClaimStore {
    const store = new RedisClaimStore(redis, { maxBacklog });
    stores.push(store);
    return store;
  }

  /** One instance's command-in: its own local memory, the shared store on its own connection. */
  function receiverOn(store: RedisClaimStore): CallbackReceiver {
    return new CallbackReceiver({ provider: 'kore', shared: { store, scope: 'node-1' } });
  }

  function run<T>(redis: SharedRedis, fn: (client: RedisCommandClient) => Promise<T>): Promise<T> {
    return redis.run(fn);
  }

  it('the same token on two instances: one claim wins, the other is a duplicate; the keys carry the prefix and the TTL', async function () {
    const [a, b] = [await instance(), await instance()];
    const keys = sharedClaimKeysOf('node-1', { sid: SID, status: 'sent', direction: 'to_sim', idempotencyToken: 'tok-1' });
    assert.equal(await storeOn(a).claim(keys, DAY_MS), true);
    assert.equal(await storeOn(b).claim(keys, DAY_MS), false);
    for (const key of keys) {
      const ttl = await run(a, (client) => client.pTTL(`test:${key}`));
      assert.ok(ttl > DAY_MS - 10_000 && ttl <= DAY_MS, `${key} expires with the local memory (${ttl} ms)`);
    }
  });

  it('through the receivers: the same signed callback given to both instances at once is accepted once', async function () {
    const [a, b] = [await instance(), await instance()];
    const [ra, rb] = [receiverOn(storeOn(a)), receiverOn(storeOn(b))];
    for (let round = 0; round < 20; round++) {
      const results = await Promise.all([receiveOnce(ra, callback(`tok-${round}`, 'sent')), receiveOnce(rb, callback(`tok-${round}`, 'sent'))]);
      assert.equal(results.filter((r) => r.outcome === 'accepted').length, round === 0 ? 1 : 0, `round ${round}: ${results.map((r) => r.outcome).join(', ')}`);
      assert.ok(results.every((r) => r.status === 200), 'a duplicate is answered 2xx too');
    }
  });

  it('the same event under a new token on the other instance is a duplicate; the next status is a new event', async function () {
    const [a, b] = [await instance(), await instance()];
    const [ra, rb] = [receiverOn(storeOn(a)), receiverOn(storeOn(b))];
    assert.equal((await receiveOnce(ra, callback('tok-1'))).outcome, 'accepted');
    assert.equal((await receiveOnce(rb, callback('tok-2'))).outcome, 'duplicate');
    assert.equal((await receiveOnce(rb, callback('tok-3', 'delivered'))).outcome, 'accepted');
    assert.equal((await receiveOnce(ra, callback('tok-3', 'delivered'))).outcome, 'duplicate', 'and its token is known to the first instance');
  });

  it('other scopes (another command-in node, the account route) claim their own keys', async function () {
    const a = await instance();
    const store = storeOn(a);
    const r1 = new CallbackReceiver({ provider: 'kore', shared: { store, scope: 'node-1' } });
    const r2 = new CallbackReceiver({ provider: 'kore', shared: { store, scope: 'account-1' } });
    assert.equal((await receiveOnce(r1, callback('tok-1'))).outcome, 'accepted');
    assert.equal((await receiveOnce(r2, callback('tok-1'))).outcome, 'accepted');
  });

  it('without a shared store the answer is synchronous, as before', function () {
    const result = receiveOnce(new CallbackReceiver({ provider: 'kore' }), callback('tok-1'));
    assert.ok(!(result instanceof Promise));
    assert.equal((result as ReceiverResult).outcome, 'accepted');
  });

  it('Redis down: the callback is accepted on local memory; once Redis is back its keys are written, so a retry to another instance is a duplicate', async function () {
    const [a, b] = [await instance(), await instance()];
    const storeA = storeOn(a);
    const ra = receiverOn(storeA);
    await fixture.server.kill();
    await waitFor(() => a.health === 'down', 'the outage to be seen');
    const during = await receiveOnce(ra, callback('tok-1'));
    assert.equal(during.outcome, 'accepted', 'not lost for the outage');
    assert.equal(storeA.backlog, 2, 'its token and event wait for Redis');
    assert.equal((await receiveOnce(ra, callback('tok-1'))).outcome, 'duplicate', 'the local memory still holds retries back');

    await fixture.server.restart();
    await waitFor(() => a.health === 'up' && b.health === 'up', 'both connections back');
    await waitFor(() => storeA.backlog === 0, 'the write-back');
    const keys = sharedClaimKeysOf('node-1', { sid: SID, status: 'sent', direction: 'to_sim', idempotencyToken: 'tok-1' });
    for (const key of keys) {
      const ttl = await run(b, (client) => client.pTTL(`test:${key}`));
      assert.ok(ttl > DAY_MS - 60_000, `${key} written with what is left of its TTL (${ttl})`);
    }
    assert.equal((await receiveOnce(receiverOn(storeOn(b)), callback('tok-1'))).outcome, 'duplicate');
    assert.equal((await receiveOnce(receiverOn(storeOn(b)), callback('tok-9'))).outcome, 'duplicate', 'the event key too');
  });

  it('the write-back leaves a key another instance claimed meanwhile as it is', async function () {
    const [a, b] = [await instance(), await instance()];
    const storeA = storeOn(a);
    storeA.claimedLocally(['k1'], 60_000);
    await run(b, (client) => client.set('test:k1', 'other', { PX: 5_000_000 }));
    await storeA.writeBack();
    assert.equal(await run(b, (client) => client.get('test:k1')), 'other');
    assert.ok((await run(b, (client) => client.pTTL('test:k1'))) > 60_000);
  });

  it('the backlog is bounded: past maxBacklog the oldest keys are dropped', async function () {
    const a = await instance();
    const store = storeOn(a, 3);
    await fixture.server.kill();
    await waitFor(() => a.health === 'down', 'the outage to be seen');
    for (let i = 1; i <= 5; i++) store.claimedLocally([`k${i}`], 60_000);
    assert.equal(store.backlog, 3);
    await fixture.server.restart();
    await waitFor(() => a.health === 'up', 'the connection back');
    await waitFor(() => store.backlog === 0, 'the write-back');
    const present = await run(a, (client) => client.keys('test:k*'));
    assert.deepEqual(present.sort(), ['test:k3', 'test:k4', 'test:k5']);
  });
});

describe('the shared claim of a callback, with a store that fails', function () {
  it('a claim that rejects and a write-back that throws: the callback is accepted on local memory all the same', async function () {
    let handedBack: readonly string[] = [];
    const failing = {
      claim: () => Promise.reject(new Error('no Redis')),
      claimedLocally: (keys: readonly string[]) => {
        handedBack = keys;
        throw new Error('and no room');
      },
    };
    const receiver = new CallbackReceiver({ provider: 'kore', shared: { store: failing, scope: 'node-1' } });
    const result = await receiveOnce(receiver, callback('tok-1'));
    assert.equal(result.outcome, 'accepted');
    assert.equal(handedBack.length, 2, 'its token and event were handed back for the write-back');
    assert.equal((await receiveOnce(receiver, callback('tok-1'))).outcome, 'duplicate', 'the local memory holds it');
  });

  it('a claim the store refuses turns the callback into a duplicate, answered 200', async function () {
    const receiver = new CallbackReceiver({ provider: 'kore', shared: { store: { claim: () => Promise.resolve(false), claimedLocally: () => undefined }, scope: 'node-1' } });
    const result = await receiveOnce(receiver, callback('tok-1'));
    assert.deepEqual([result.outcome, result.status, result.duplicate], ['duplicate', 200, true]);
  });
});
