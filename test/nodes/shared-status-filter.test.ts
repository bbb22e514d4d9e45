/**
 * supersim-status-filter with settings naming a real redis-server (issue 15, item 3): the node judges
 * in Redis, so a status another instance's filter let through is dropped here; its outputs are the
 * in-memory filter's; Redis down, it goes on with its local state and says so.
 */
import assert from 'node:assert/strict';
import type { SinonSpy } from 'sinon';
import filterNode from '../../nodes/supersim-status-filter';
import { sharedRedisOf } from '../../nodes/lib/shared-state';
import type { NodeAPI } from '../../nodes/lib/red';
import { FilterSession } from '../../src/filter';
import { RedisFilterStore } from '../../src/shared-state';
import type { SharedRedis } from '../../src/shared-state';
import { collectMessages, helper, translatorOf, waitFor } from '../support/flows';
import { redisFixture } from '../support/redis-server';

const translate = translatorOf('supersim-status-filter');

let runtime: NodeAPI | undefined;
function filterModule(RED: NodeAPI): void {
  runtime = RED;
  filterNode(Object.create(RED, { _: { value: translate } }) as NodeAPI);
}

const PREFIX = 'nodes:';
const at = { z: 'tab', x: 100, y: 100 };
const flow = [
  { id: 'tab', type: 'tab', label: 'filter' },
  { ...at, id: 'filter', type: 'supersim-status-filter', name: '', statuses: [], maxCommands: 100000, store: '', wires: [['out']] },
  { ...at, id: 'out', type: 'helper' },
  { ...at, id: 'complete', type: 'complete', scope: ['filter'], uncaught: false, wires: [['completed']] },
  { ...at, id: 'completed', type: 'helper' },
];

function sid(n: number): string {
  return `HG${n.toString(16).padStart(32, '0')}`;
}

function fromCallback(commandSid: string, status: string): Record<string, unknown> {
  return { topic: 'thermostat', payload: status, command: { sid: commandSid, kind: 'ip', direction: 'to_sim', status } };
}

describe('supersim-status-filter shared through Redis', function () {
  this.timeout(30_000);
  const fixture = redisFixture({ keyPrefix: PREFIX, leaseMs: 30_000 }, { maxReconnectDelayMs: 100 });

  afterEach(async function () {
    await helper.unload();
    helper.settings({});
    await fixture.reset();
  });

  /** Another instance's connection (its own instanceId), as the test plays it. */
  const otherInstance = (): Promise<SharedRedis> => fixture.ownConnection();

  /** The same filter node on another instance: its session on a connection of its own. */
  async function otherFilter(): Promise<(msg: Record<string, unknown>) => Promise<string>> {
    const session = new FilterSession<never>({
      filter: {},
      run: () => undefined,
      onReady: () => undefined,
      onLoadFailed: () => undefined,
      onSaveFailed: () => undefined,
      shared: { store: new RedisFilterStore(await otherInstance(), 'filter'), onFallback: () => undefined, onResumed: () => undefined },
    });
    return (msg) => new Promise((resolve) => session.judge(msg, resolve));
  }

  async function start(withRedis: boolean): Promise<{ out: Record<string, unknown>[]; feed(...messages: Record<string, unknown>[]): Promise<void> }> {
    helper.settings(withRedis ? { supersim: { redis: { url: fixture.server.url, keyPrefix: PREFIX } } } : {});
    await helper.load([filterModule] as never, flow);
    if (withRedis) await waitFor(() => sharedRedisOf(runtime as NodeAPI)?.health === 'up', 10_000, 'the runtime\'s connection');
    const out = collectMessages('out');
    const completed = collectMessages('completed');
    return {
      out,
      async feed(...messages) {
        const ended = completed.length + messages.length;
        for (const msg of messages) helper.getNode('filter').receive(msg);
        await waitFor(() => completed.length >= ended, 5_000, `${messages.length} messages to end`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      },
    };
  }

  function statuses(): { fill?: string; text?: string }[] {
    const node = helper.getNode('filter');
    return (node.status as unknown as SinonSpy).getCalls().map((c) => c.args[0] as { fill?: string; text?: string });
  }

  function warnings(): string[] {
    const node = helper.getNode('filter');
    return (node.warn as unknown as SinonSpy).getCalls().map((c) => String(c.args[0]));
  }

  const SEQUENCE = [
    fromCallback(sid(1), 'queued'),
    fromCallback(sid(2), 'sent'),
    fromCallback(sid(1), 'sent'),
    fromCallback(sid(1), 'queued'),
    fromCallback(sid(1), 'sent'),
    fromCallback(sid(2), 'delivered'),
    fromCallback(sid(2), 'failed'),
    { payload: 'not a command' },
    { reset: sid(1) },
    fromCallback(sid(1), 'queued'),
  ];

  it('passes what the in-memory filter passes, the same messages in the same order', async function () {
    const memory = await start(false);
    await memory.feed(...structuredClone(SEQUENCE));
    const inMemory = memory.out.map(({ _msgid, ...rest }) => rest);
    await helper.unload();
    const shared = await start(true);
    await shared.feed(...structuredClone(SEQUENCE));
    assert.deepEqual(shared.out.map(({ _msgid, ...rest }) => rest), inMemory);
    assert.equal(inMemory.length, 5);
  });

  it('a status the same filter on another instance let through is dropped here; the next one passes here once', async function () {
    const run = await start(true);
    const elsewhere = await otherFilter();
    assert.equal(await elsewhere(fromCallback(sid(1), 'queued')), 'pass');
    assert.equal(await elsewhere(fromCallback(sid(1), 'sent')), 'pass');
    await run.feed(fromCallback(sid(1), 'queued'), fromCallback(sid(1), 'sent'), fromCallback(sid(1), 'delivered'));
    assert.deepEqual(run.out.map((m) => (m.command as { status: string }).status), ['delivered']);
    assert.equal(await elsewhere(fromCallback(sid(1), 'delivered')), 'duplicate');
    // The status is throttled: the counts show within its interval.
    await waitFor(() => /^1 passed, 2 dropped/.test(String(statuses().at(-1)?.text)), 3_000, 'the counts');
  });

  it('Redis down: messages still pass on the local state, the status says so and one warning is logged; Redis back: the status clears', async function () {
    const run = await start(true);
    await run.feed(fromCallback(sid(1), 'sent'));
    await fixture.server.kill();
    await waitFor(() => /Redis down/.test(String(statuses().at(-1)?.text)), 10_000, 'the status to show the outage');
    await run.feed(fromCallback(sid(1), 'queued'), fromCallback(sid(1), 'delivered'), fromCallback(sid(2), 'queued'), fromCallback(sid(2), 'sent'));
    assert.deepEqual(
      run.out.map((m) => (m.command as { status: string }).status),
      ['sent', 'delivered', 'queued', 'sent'],
    );
    assert.equal(statuses().at(-1)?.fill, 'yellow');
    assert.equal(warnings().filter((w) => /Redis/.test(w)).length, 1, warnings().join('\n'));
    await fixture.server.restart();
    await waitFor(() => !/Redis down/.test(String(statuses().at(-1)?.text)), 10_000, 'the status to clear');
    await run.feed(fromCallback(sid(3), 'queued'));
    await waitFor(() => statuses().at(-1)?.fill === 'green', 3_000, 'a green status');
  });
});
