import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SinonSpy } from 'sinon';
import filterNode from '../../nodes/supersim-status-filter';
import { MAX_WAITING, STATE_KEY } from '../../src/filter';
import type { NodeAPI } from '../../nodes/lib/red';
import { Simulator } from '../../src/simulator';
import { accountFor, collectMessages, helper, sendNodeModules, translatorOf, waitFor } from '../support/flows';

const translate = translatorOf('supersim-status-filter');

function filterModule(RED: NodeAPI): void {
  filterNode(Object.create(RED, { _: { value: translate } }) as NodeAPI);
}

/** What the test helper keeps to itself: enough to start context stores and to stop flows as a restart does. */
interface HelperInternals {
  _context: { load(): Promise<void>; close(): Promise<void>; init(settings: object): void };
  _redNodes: { stopFlows(): Promise<void> };
  _settings: object;
}
const internals = helper as unknown as HelperInternals;

/**
 * The helper initialises the context module but never loads settings.contextStorage, as a real start
 * does. Node modules run after that initialisation and before the flows start, so one of them can.
 */
async function loadContextStores(): Promise<void> {
  await internals._context.load();
}

const tab = { id: 'tab', type: 'tab', label: 'filter' };
const at = { z: 'tab', x: 100, y: 100 };

/** The filter wired to `out`, a Complete node (fires on done()) and a Catch node, both scoped to it. */
function filterFlow(props: Record<string, unknown> = {}): object[] {
  return [
    tab,
    { ...at, id: 'filter', type: 'supersim-status-filter', name: '', statuses: [], maxCommands: 100000, store: '', ...props, wires: [['out']] },
    { ...at, id: 'out', type: 'helper' },
    { ...at, id: 'complete', type: 'complete', scope: ['filter'], uncaught: false, wires: [['completed']] },
    { ...at, id: 'completed', type: 'helper' },
    { ...at, id: 'catch', type: 'catch', scope: ['filter'], uncaught: false, wires: [['caught']] },
    { ...at, id: 'caught', type: 'helper' },
  ];
}

function sid(n: number): string {
  return `HG${n.toString(16).padStart(32, '0')}`;
}

/** As supersim-command-in sets it. */
function fromCallback(commandSid: string, status: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { topic: 'thermostat', payload: 'x', command: { sid: commandSid, kind: 'ip', direction: 'to_sim', status }, ...extra };
}

/** As a send node outputs it. */
function fromSendNode(commandSid: string, status: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { payload: { sid: commandSid, status, sim_sid: 'HS00' }, ...extra };
}

interface Run {
  out: Record<string, unknown>[];
  completed: Record<string, unknown>[];
  caught: Record<string, unknown>[];
  /** Sends the messages and resolves once the filter has ended every message sent so far. */
  feed(...messages: Record<string, unknown>[]): Promise<void>;
}

async function start(props: Record<string, unknown> = {}, modules: ((RED: never) => unknown)[] = [filterModule]): Promise<Run> {
  await helper.load(modules as never, filterFlow(props));
  return watch();
}

function watch(): Run {
  const out = collectMessages('out');
  const completed = collectMessages('completed');
  const caught = collectMessages('caught');
  return {
    out,
    completed,
    caught,
    async feed(...messages) {
      const filter = helper.getNode('filter');
      const ended = completed.length + caught.length + messages.length;
      for (const msg of messages) filter.receive(msg);
      await waitFor(() => completed.length + caught.length >= ended, 5_000, `${messages.length} messages to end`);
      // A passed message is sent before done(); let its delivery land too.
      await new Promise((resolve) => setTimeout(resolve, 20));
    },
  };
}

function statusesOf(messages: Record<string, unknown>[]): unknown[] {
  return messages.map((m) => ((m.command ?? m.payload) as Record<string, unknown>).status);
}

/** The arguments of each call the filter node made to one of its methods (the helper spies on them). */
function callsOf(method: 'status' | 'warn' | 'error'): unknown[][] {
  const node = helper.getNode('filter');
  const spy = node[method] as unknown as SinonSpy;
  return spy.getCalls().filter((call) => call.thisValue === node).map((call) => call.args);
}

function lastStatus(): { fill?: string; shape?: string; text?: string } {
  return (callsOf('status').at(-1)?.[0] ?? {}) as { fill?: string; shape?: string; text?: string };
}

async function statusText(pattern: RegExp): Promise<string> {
  await waitFor(() => pattern.test(lastStatus().text ?? ''), 3_000, `a status like ${pattern}`);
  return lastStatus().text ?? '';
}

describe('supersim-status-filter', function () {
  this.timeout(20_000);

  afterEach(async function () {
    await helper.unload();
  });

  describe('in memory', function () {
    it('passes queued → sent → delivered, each message unchanged', async function () {
      const run = await start();
      const first = fromCallback(sid(1), 'queued', { custom: { keep: true } });
      await run.feed(first, fromCallback(sid(1), 'sent'), fromCallback(sid(1), 'delivered'));
      assert.deepEqual(statusesOf(run.out), ['queued', 'sent', 'delivered']);
      assert.deepEqual(run.out[0].command, first.command);
      assert.deepEqual(run.out[0].custom, { keep: true });
      assert.equal(run.out[0].topic, 'thermostat');
      assert.equal(await statusText(/3 passed/), '3 passed, 0 dropped · 1 tracked');
    });

    it('drops duplicates, regressions and anything after a final status, and still ends every message with done()', async function () {
      const run = await start();
      const messages = [
        fromCallback(sid(1), 'queued'),
        fromCallback(sid(1), 'queued'), // duplicate
        fromCallback(sid(1), 'sent'),
        fromCallback(sid(1), 'queued'), // regression
        fromCallback(sid(1), 'delivered'),
        fromCallback(sid(1), 'sent'), // sent after delivered
        fromCallback(sid(1), 'delivered'), // a retried final callback
        fromCallback(sid(2), 'failed'),
        fromCallback(sid(2), 'sent'), // after failed
      ];
      await run.feed(...messages);
      assert.deepEqual(
        run.out.map((m) => [(m.command as Record<string, unknown>).sid, (m.command as Record<string, unknown>).status]),
        [
          [sid(1), 'queued'],
          [sid(1), 'sent'],
          [sid(1), 'delivered'],
          [sid(2), 'failed'],
        ],
      );
      assert.equal(run.completed.length, messages.length, 'the Complete node saw every message end, the dropped ones too');
      assert.equal(run.caught.length, 0, 'dropping is not an error');
      assert.equal(await statusText(/4 passed/), '4 passed, 5 dropped · 2 tracked');
    });

    it('reads sid and status from msg.command, else from msg.payload (a send node’s resource)', async function () {
      const run = await start();
      await run.feed(fromSendNode(sid(1), 'queued'));
      assert.deepEqual(statusesOf(run.out), ['queued'], 'msg.payload read');
      await run.feed(fromCallback(sid(1), 'queued'));
      assert.equal(run.out.length, 1, 'msg.command read, against the same state: a duplicate');
      // Both present: msg.command wins, so this is news, although the payload repeats the known status.
      await run.feed({ command: { sid: sid(1), status: 'sent' }, payload: { sid: sid(1), status: 'queued' } });
      assert.equal(run.out.length, 2);
      // A msg.command without a sid is something else: the payload is read.
      await run.feed({ command: { note: 'not a command' }, payload: { sid: sid(1), status: 'delivered' } });
      assert.equal(run.out.length, 3);
      assert.equal(run.completed.length, 4);
    });

    it('passes only the ticked statuses, while still following the others', async function () {
      const run = await start({ statuses: ['sent', 'failed'] });
      await run.feed(
        fromCallback(sid(1), 'queued'), // forward, not ticked
        fromCallback(sid(1), 'sent'),
        fromCallback(sid(1), 'delivered'), // forward, not ticked: recorded
        fromCallback(sid(1), 'sent'), // after delivered: would pass if delivered had not been recorded
        fromCallback(sid(2), 'failed'),
      );
      assert.deepEqual(statusesOf(run.out), ['sent', 'failed']);
      assert.equal(run.completed.length, 5);
    });

    it('msg.reset with a SID, or true with a command in the message, forgets that command only; reset messages are not passed on', async function () {
      const run = await start();
      await run.feed(fromCallback(sid(1), 'queued'), fromCallback(sid(1), 'sent'), fromCallback(sid(2), 'sent'));
      assert.equal(run.out.length, 3);

      await run.feed({ reset: sid(1) });
      await run.feed(fromCallback(sid(1), 'queued'), fromCallback(sid(2), 'sent'));
      assert.equal(run.out.length, 4, 'sid 1 passes again as new; sid 2 is still known');
      assert.deepEqual(statusesOf(run.out.slice(3)), ['queued']);

      await run.feed(fromCallback(sid(2), 'delivered', { reset: true }));
      assert.equal(run.out.length, 4, 'the reset message itself is not passed');
      await run.feed(fromCallback(sid(2), 'sent'), fromCallback(sid(1), 'queued'));
      assert.equal(run.out.length, 5, 'sid 2 forgotten; sid 1 still known');
      assert.deepEqual(statusesOf(run.out.slice(4)), ['sent']);
      assert.equal(run.completed.length, 9);
    });

    it('msg.reset true without a command forgets everything; other values of msg.reset are ignored', async function () {
      const run = await start();
      await run.feed(fromCallback(sid(1), 'sent'), fromCallback(sid(2), 'sent'));
      await run.feed(fromCallback(sid(1), 'sent', { reset: false }), fromCallback(sid(2), 'sent', { reset: 0 }));
      assert.equal(run.out.length, 2, 'reset false and 0 are ordinary properties: those were duplicates');

      await run.feed({ reset: true });
      assert.equal(await statusText(/2 dropped · 0 tracked/), '2 passed, 2 dropped · 0 tracked');
      await run.feed(fromCallback(sid(1), 'sent'), fromCallback(sid(2), 'sent'));
      assert.equal(run.out.length, 4, 'both pass again as new');
      assert.ok(run.out.every((m) => m.reset === undefined));
    });

    it('drops messages without a sid or a known status with done(), and counts them in the status', async function () {
      const run = await start();
      await run.feed(
        { payload: 'hello' },
        { payload: Buffer.from('sid') },
        { payload: { sid: sid(1) } },
        { payload: { status: 'sent' } },
        { command: { sid: '', status: 'sent' } },
        fromCallback(sid(1), 'Delivered'),
        fromCallback(sid(1), 'canceled'),
      );
      assert.equal(run.out.length, 0);
      assert.equal(run.completed.length, 7);
      assert.equal(run.caught.length, 0);
      assert.equal(callsOf('warn').length, 0, 'dropped silently');
      assert.equal(await statusText(/not a command/), '0 passed, 0 dropped, 7 not a command · 0 tracked');
      // Nothing was recorded for sid 1 either.
      await run.feed(fromCallback(sid(1), 'queued'));
      assert.equal(run.out.length, 1);
    });

    it('keeps memory bounded: with maxCommands 10 it remembers 10 commands, the least recently updated forgotten', async function () {
      const run = await start({ maxCommands: '10' });
      const first = Array.from({ length: 25 }, (_, i) => fromCallback(sid(i), 'queued'));
      await run.feed(...first);
      assert.equal(await statusText(/25 passed/), '25 passed, 0 dropped · 10 tracked');
      await run.feed(fromCallback(sid(24), 'queued'), fromCallback(sid(15), 'queued'), fromCallback(sid(0), 'queued'));
      assert.equal(run.out.length, 26, 'the newest are remembered (duplicates dropped); the first was forgotten and passes');
      assert.equal(await statusText(/26 passed/), '26 passed, 2 dropped · 10 tracked');
    });
  });

  describe('with a context store', function () {
    let dir: string;

    beforeEach(function () {
      dir = mkdtempSync(join(tmpdir(), 'status-filter-'));
    });

    afterEach(async function () {
      await helper.unload();
      await internals._context.close();
      helper.settings({});
      rmSync(dir, { recursive: true, force: true });
    });

    function useStores(stores: Record<string, unknown>): void {
      helper.settings({ contextStorage: { default: { module: 'memory' }, ...stores } });
    }

    /** As Node-RED stops and starts: flows stop (nodes close), stores close, then everything starts afresh. */
    async function restart(props: Record<string, unknown>): Promise<Run> {
      await internals._redNodes.stopFlows();
      await internals._context.close();
      // helper.unload() cleans every node's context; a restart keeps that of nodes still in the flow.
      internals._context.init(internals._settings);
      await helper.unload();
      return start(props, [loadContextStores, filterModule]);
    }

    it('remembers across a restart with the localfilesystem store: a duplicate after the restart is dropped', async function () {
      useStores({ file: { module: 'localfilesystem', config: { dir, flushInterval: 0 } } });
      const props = { store: 'file' };
      let run = await start(props, [loadContextStores, filterModule]);
      await run.feed(fromCallback(sid(1), 'queued'), fromCallback(sid(2), 'queued'));
      // Past the first write, so that only the write on close can carry this one.
      await new Promise((resolve) => setTimeout(resolve, 50));
      await run.feed(fromCallback(sid(1), 'sent'));
      assert.equal(run.out.length, 3);

      run = await restart(props);
      const file = join(dir, 'context', 'tab', 'filter.json');
      assert.ok(existsSync(file), 'the state went to disk');
      const saved = (JSON.parse(readFileSync(file, 'utf8')) as Record<string, { entries: unknown[][] }>)[STATE_KEY];
      assert.deepEqual(
        saved.entries.map(([s, status]) => [s, status]),
        [
          [sid(2), 'queued'],
          [sid(1), 'sent'],
        ],
      );

      await run.feed(fromCallback(sid(1), 'sent'), fromCallback(sid(2), 'queued'), fromCallback(sid(1), 'queued'), fromCallback(sid(2), 'sent'));
      assert.deepEqual(statusesOf(run.out), ['sent'], 'only sid 2’s sent is news after the restart');
      assert.equal(callsOf('warn').length, 0);
    });

    it('without a store, a restart forgets', async function () {
      useStores({ file: { module: 'localfilesystem', config: { dir, flushInterval: 0 } } });
      let run = await start({}, [loadContextStores, filterModule]);
      await run.feed(fromCallback(sid(1), 'sent'));
      run = await restart({});
      await run.feed(fromCallback(sid(1), 'sent'));
      assert.equal(run.out.length, 1);
    });

    /** A context store module of the test's own: it counts writes and can hold or fail reads. */
    function customStore() {
      const data = new Map<string, Record<string, unknown>>();
      const writes: unknown[] = [];
      const held: (() => void)[] = [];
      const control = { holdReads: false, readDelayMs: 0, failReads: false };
      const store = {
        open: async () => {},
        close: async () => {},
        get(scope: string, key: string, callback: (err: Error | null, value?: unknown) => void) {
          const answer = (): void => (control.failReads ? callback(new Error('store unreachable')) : callback(null, data.get(scope)?.[key]));
          if (control.holdReads) held.push(answer);
          else setTimeout(answer, control.readDelayMs);
        },
        set(scope: string, key: string, value: unknown, callback?: (err: Error | null) => void) {
          writes.push(JSON.parse(JSON.stringify(value)));
          data.set(scope, { ...data.get(scope), [key]: value });
          callback?.(null);
        },
        keys(scope: string, callback: (err: Error | null, keys: string[]) => void) {
          callback(null, Object.keys(data.get(scope) ?? {}));
        },
        delete: async (scope: string) => {
          data.delete(scope);
        },
        clean: async () => {},
      };
      return { module: () => store, data, writes, held, control };
    }

    it('writes at most about once a second while it changes, without waiting for close', async function () {
      const custom = customStore();
      useStores({ custom: { module: custom.module } });
      const run = await start({ store: 'custom' }, [loadContextStores, filterModule]);
      // A burst at once, then a change every 50 ms for a second: each would be a write of its own.
      await run.feed(...Array.from({ length: 100 }, (_, i) => fromCallback(sid(i), 'queued')));
      for (let i = 100; i < 120; i++) {
        await run.feed(fromCallback(sid(i), 'queued'));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(custom.writes.length >= 1, 'written while running, not only on close');
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      assert.ok(custom.writes.length <= 4, `${custom.writes.length} writes for 120 changes in about 2 seconds`);
      assert.equal((custom.writes.at(-1) as { entries: unknown[] }).entries.length, 120, 'the last write holds every command');
      const before = custom.writes.length;
      await run.feed(fromCallback(sid(0), 'queued'));
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      assert.equal(custom.writes.length, before, 'a dropped duplicate changes nothing, so nothing is written');
    });

    it('holds messages that arrive while the state loads, then judges them against the loaded state, in order', async function () {
      const custom = customStore();
      custom.data.set('filter:tab', { [STATE_KEY]: { v: 1, entries: [[sid(1), 'sent', Date.now()]] } });
      custom.control.readDelayMs = 200;
      useStores({ custom: { module: custom.module } });
      const run = await start({ store: 'custom' }, [loadContextStores, filterModule]);
      assert.equal(lastStatus().text, 'loading state from custom');
      await run.feed(fromCallback(sid(1), 'sent'), fromCallback(sid(1), 'queued'), fromCallback(sid(2), 'queued'), fromCallback(sid(2), 'sent'), fromCallback(sid(1), 'delivered'));
      assert.deepEqual(
        run.out.map((m) => [(m.command as Record<string, unknown>).sid, (m.command as Record<string, unknown>).status]),
        [
          [sid(2), 'queued'],
          [sid(2), 'sent'],
          [sid(1), 'delivered'],
        ],
      );
    });

    it('holds at most MAX_WAITING messages while loading; more end with an error', async function () {
      const custom = customStore();
      custom.control.holdReads = true;
      useStores({ custom: { module: custom.module } });
      const run = await start({ store: 'custom' }, [loadContextStores, filterModule]);
      const filter = helper.getNode('filter');
      for (let i = 0; i <= MAX_WAITING; i++) filter.receive(fromCallback(sid(i), 'queued'));
      await waitFor(() => run.caught.length === 1, 5_000, 'the message over the limit');
      assert.match(String((run.caught[0].error as { message: string }).message), /1000 messages are already waiting/);
      assert.equal(run.completed.length, 0, 'the others wait');
      custom.held.splice(0).forEach((answer) => answer());
      await waitFor(() => run.out.length === MAX_WAITING, 5_000, 'the held messages to pass');
    });

    it('a store that fails to load: an error, an empty state in memory, and no write over the stored state', async function () {
      const custom = customStore();
      custom.control.failReads = true;
      useStores({ custom: { module: custom.module } });
      const run = await start({ store: 'custom' }, [loadContextStores, filterModule]);
      await run.feed(fromCallback(sid(1), 'queued'), fromCallback(sid(1), 'queued'));
      assert.equal(run.out.length, 1, 'still filters, in memory');
      assert.match(String(callsOf('error')[0]?.[0]), /Could not load the filter's state from the context store "custom": store unreachable/);
      assert.equal(lastStatus().fill, 'yellow');
      await helper.unload();
      assert.equal(custom.writes.length, 0);
    });

    it('warns when the store is not configured in settings.js, and keeps working in Node-RED’s default store', async function () {
      useStores({ file: { module: 'localfilesystem', config: { dir, flushInterval: 0 } } });
      let run = await start({ store: 'redis' }, [loadContextStores, filterModule]);
      const warnings = callsOf('warn').map((args) => String(args[0]));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /"redis" is not configured in settings\.js \(contextStorage has: default, file\).*default store "default"/);
      await run.feed(fromCallback(sid(1), 'queued'), fromCallback(sid(1), 'queued'));
      assert.equal(run.out.length, 1);
      assert.equal(lastStatus().fill, 'yellow');
      await helper.unload();

      run = await start({ store: 'file' }, [loadContextStores, filterModule]);
      await run.feed(fromCallback(sid(1), 'queued'));
      assert.equal(callsOf('warn').length, 0, 'a configured store gets no warning');
      assert.equal(lastStatus().fill, 'green');
    });
  });

  describe('behind a send node', function () {
    let sim: Simulator;

    afterEach(async function () {
      await helper.unload();
      await sim?.close();
    });

    it('supersim-ip-command with tracking → the filter passes queued and sent once each', async function () {
      sim = await Simulator.start({ mode: 'kore', timing: { ipSentMs: 20 }, sims: [{ uniqueName: 'thermostat' }] });
      const account = accountFor(sim);
      await helper.load(
        [...sendNodeModules, filterModule] as never,
        [
          tab,
          account.node,
          { ...at, id: 'send', type: 'supersim-ip-command', account: 'account', name: '', sim: 'thermostat', devicePort: '6655', payloadType: 'auto', callbackUrl: '', callbackMethod: '', track: true, trackTimeout: 10, wires: [['filter'], ['filter']] },
          ...filterFlow().slice(1),
        ],
        { account: account.credentials },
      );
      const run = watch();
      helper.getNode('send').receive({ payload: 'ping' });
      await waitFor(() => run.out.length >= 2, 5_000, 'queued and sent through the filter');
      // Tracking an IP Command ends at sent; anything more would show up here.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(statusesOf(run.out), ['queued', 'sent']);
      const created = sim.ipCommands()[0];
      assert.ok(run.out.every((m) => (m.payload as Record<string, unknown>).sid === created.sid));

      // The same update again, as a second route (a callback besides polling) would bring it.
      await run.feed(run.out[1]);
      assert.equal(run.out.length, 2, 'the repeated sent is dropped');
    });
  });
});
