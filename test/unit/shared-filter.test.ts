/**
 * The status filter's state shared through a real redis-server (issue 15, item 3): two sessions on two
 * connections stand for the same filter node on two Node-RED instances.
 */
import assert from 'node:assert/strict';
import { classifyTransition } from '../../src/commands';
import { FilterSession, MAX_FALLBACK_BACKLOG, SharedFilter, StatusFilterState, transitionTableOf } from '../../src/filter';
import type { FilterMessage, MessageOutcome } from '../../src/filter';
import { RedisFilterStore } from '../../src/shared-state';
import type { SharedRedis } from '../../src/shared-state';
import type { CommandStatus } from '../../src/shared';
import { redisFixture, waitFor } from '../support/redis-server';

const NODE = 'filter-1';
const SID = `HG${'0a'.repeat(16)}`;
const SID2 = `HG${'0b'.repeat(16)}`;
const TTL_MS = 60 * 60 * 1000;

type Decision = MessageOutcome['decision'];

function status(sid: string, value: string): FilterMessage {
  return { command: { sid, status: value } };
}

describe('the status filter shared through Redis', function () {
  this.timeout(30_000);
  const fixture = redisFixture({ keyPrefix: 'test:', leaseMs: 30_000 }, { maxReconnectDelayMs: 100, commandTimeoutMs: 500 });

  afterEach(async function () {
    await fixture.reset();
  });

  const instance = (): Promise<SharedRedis> => fixture.connect();

  interface Instance {
    session: FilterSession<never>;
    fallbacks: number;
    resumed: number;
    judge(msg: FilterMessage): Promise<Decision>;
  }

  function filterOn(redis: SharedRedis, statuses: CommandStatus[] = [], nodeId = NODE): Instance {
    const self: Instance = {
      fallbacks: 0,
      resumed: 0,
      session: new FilterSession<never>({
        filter: { ttlMs: TTL_MS, statuses },
        run: () => undefined,
        onReady: () => undefined,
        onLoadFailed: () => undefined,
        onSaveFailed: () => undefined,
        shared: {
          store: new RedisFilterStore(redis, nodeId),
          onFallback: () => self.fallbacks++,
          onResumed: () => self.resumed++,
        },
      }),
      judge: (msg) => new Promise((resolve) => self.session.judge(msg, resolve)),
    };
    return self;
  }

  it('hands the store classifyTransition\'s verdicts: the rule has one source', function () {
    for (const next of ['queued', 'sent', 'delivered', 'failed', 'received'] as CommandStatus[]) {
      for (const [previous, verdict] of transitionTableOf(next)) assert.equal(verdict, classifyTransition(previous, next), `${previous} → ${next}`);
    }
  });

  it('a status sequence spread over two instances passes each forward step once, in order; backward and repeated ones are dropped', async function () {
    const [a, b] = [filterOn(await instance()), filterOn(await instance())];
    const steps: [Instance, string, Decision][] = [
      [a, 'queued', 'pass'],
      [b, 'queued', 'duplicate'],
      [b, 'sent', 'pass'],
      [a, 'queued', 'regression'],
      [a, 'sent', 'duplicate'],
      [a, 'delivered', 'pass'],
      [b, 'delivered', 'duplicate'],
      [b, 'failed', 'after-final'],
    ];
    const passed: string[] = [];
    for (const [filter, value, expected] of steps) {
      const decision = await filter.judge(status(SID, value));
      assert.equal(decision, expected, `${value} on ${filter === a ? 'a' : 'b'}`);
      if (decision === 'pass') passed.push(value);
    }
    assert.deepEqual(passed, ['queued', 'sent', 'delivered']);
    assert.deepEqual([a.session.counts, b.session.counts], [
      { passed: 2, dropped: 2, invalid: 0 },
      { passed: 1, dropped: 3, invalid: 0 },
    ]);
  });

  it('the same status given to both instances at once passes on one of them only', async function () {
    const [a, b] = [filterOn(await instance()), filterOn(await instance())];
    for (let n = 0; n < 20; n++) {
      const sid = `HG${n.toString(16).padStart(32, '0')}`;
      for (const value of ['queued', 'sent', 'delivered']) {
        const decisions = await Promise.all([a.judge(status(sid, value)), b.judge(status(sid, value))]);
        assert.equal(decisions.filter((d) => d === 'pass').length, 1, `${sid} ${value}: ${decisions.join(', ')}`);
      }
    }
  });

  it('keeps each command under filter:<nodeId>:<sid> with the state\'s TTL, renewed by forward steps only', async function () {
    const redis = await instance();
    const a = filterOn(redis);
    await a.judge(status(SID, 'queued'));
    const key = `test:filter:${NODE}:${SID}`;
    assert.equal(await redis.run((client) => client.get(key)), 'queued');
    const ttl = await redis.run((client) => client.pTTL(key));
    assert.ok(ttl > TTL_MS - 10_000 && ttl <= TTL_MS, `ttl ${ttl}`);
    await redis.run((client) => client.pExpire(key, 100_000));
    await a.judge(status(SID, 'queued'));
    assert.ok((await redis.run((client) => client.pTTL(key))) <= 100_000, 'a duplicate does not renew it');
    await a.judge(status(SID, 'sent'));
    assert.ok((await redis.run((client) => client.pTTL(key))) > TTL_MS - 10_000, 'a forward step does');
  });

  it('statuses not selected are recorded but not passed, as in memory', async function () {
    const [a, b] = [filterOn(await instance(), ['delivered']), filterOn(await instance(), ['delivered'])];
    assert.equal(await a.judge(status(SID, 'sent')), 'not-selected');
    assert.equal(await b.judge(status(SID, 'queued')), 'regression');
    assert.equal(await b.judge(status(SID, 'delivered')), 'pass');
  });

  it('finishes messages in their order, resets and non-commands among them', async function () {
    const a = filterOn(await instance());
    const finished: string[] = [];
    const messages: [string, FilterMessage][] = [
      ['queued', status(SID, 'queued')],
      ['junk', { payload: 'no command' }],
      ['sent', status(SID, 'sent')],
      ['reset', { reset: SID }],
      ['queued again', status(SID, 'queued')],
    ];
    await Promise.all(messages.map(([label, msg]) => new Promise<void>((resolve) => a.session.judge(msg, (d) => resolve(void finished.push(`${label}:${d}`))))));
    assert.deepEqual(finished, ['queued:pass', 'junk:invalid', 'sent:pass', 'reset:reset', 'queued again:pass']);
  });

  it('a reset forgets in Redis too: one command, or every command of this filter and no other\'s', async function () {
    const redis = await instance();
    const [a, other] = [filterOn(redis), filterOn(redis, [], 'filter-2')];
    await a.judge(status(SID, 'sent'));
    await a.judge(status(SID2, 'sent'));
    await other.judge(status(SID, 'sent'));
    await a.judge({ reset: SID });
    assert.equal(await filterOn(await instance()).judge(status(SID, 'queued')), 'pass', 'the other instance knows of the reset');
    await a.judge({ reset: true });
    assert.deepEqual(await redis.run((client) => client.keys('test:filter:*')), [`test:filter:filter-2:${SID}`]);
  });

  it('Redis down: the local state decides, knowing what this instance saw, and says so once; Redis back: what passed meanwhile is written back and it is shared again', async function () {
    const redis = await instance();
    const a = filterOn(redis);
    assert.equal(await a.judge(status(SID, 'sent')), 'pass');
    await fixture.server.kill();
    await waitFor(() => redis.health === 'down', 'the outage to be seen');
    assert.equal(await a.judge(status(SID, 'queued')), 'regression', 'the local state followed Redis');
    assert.equal(await a.judge(status(SID, 'delivered')), 'pass');
    assert.equal(await a.judge(status(SID2, 'queued')), 'pass');
    assert.equal(a.fallbacks, 1, 'one fallback per outage');
    assert.equal(a.session.fallingBack, true);
    await fixture.server.restart();
    await waitFor(() => redis.health === 'up', 'the connection back');
    // The restarted Redis kept nothing (no persistence): the shared state starts over.
    assert.equal(await a.judge(status(SID2, 'sent')), 'pass');
    assert.equal(a.resumed, 1);
    assert.equal(a.session.fallingBack, false);
    assert.equal(await redis.run((client) => client.get(`test:filter:${NODE}:${SID2}`)), 'sent', 'a status behind it, written back, changes nothing');
    // What passed during the outage is written back, so the other instance does not pass it again.
    await waitFor(async () => (await redis.run((client) => client.get(`test:filter:${NODE}:${SID}`))) === 'delivered', 'the write-back');
    assert.equal(await filterOn(await instance()).judge(status(SID, 'delivered')), 'duplicate');
  });

  it('without a shared store, judge finishes at once, as apply does', function () {
    const session = new FilterSession<never>({ filter: {}, run: () => undefined, onReady: () => undefined, onLoadFailed: () => undefined, onSaveFailed: () => undefined });
    let decision: Decision | undefined;
    session.judge(status(SID, 'sent'), (d) => (decision = d));
    assert.equal(decision, 'pass');
    assert.ok(new StatusFilterState().size === 0);
  });
});

describe('the shared status filter, with a store that fails', function () {
  it('keeps at most MAX_FALLBACK_BACKLOG statuses for the write-back, the newest', async function () {
    const store = { transition: () => Promise.reject(new Error('no Redis')), reset: () => Promise.reject(new Error('no Redis')) };
    let fallbacks = 0;
    const shared = new SharedFilter({ store, ttlMs: TTL_MS, statuses: new Set(), onFallback: () => fallbacks++, onResumed: () => undefined });
    const local = new StatusFilterState();
    for (let n = 0; n <= MAX_FALLBACK_BACKLOG; n++) assert.equal(await shared.decide(local, `HG${n.toString(16).padStart(32, '0')}`, 'sent'), 'pass');
    assert.equal(shared.backlog, MAX_FALLBACK_BACKLOG);
    assert.equal(fallbacks, 1);
    assert.equal(await shared.decide(local, `HG${'0'.repeat(32)}`, 'sent'), 'duplicate', 'the local state holds what the backlog dropped');
  });
});
