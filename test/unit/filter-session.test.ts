import { strict as assert } from 'node:assert';
import sinon from 'sinon';
import {
  DEFAULT_MAX_COMMANDS,
  FilterSession,
  MAX_WAITING,
  SAVE_INTERVAL_MS,
  SaveScheduler,
  StatusFilterState,
  applyMessage,
  commandOf,
  contextStores,
  parseMaxCommands,
  parseStatuses,
  resetOf,
} from '../../src/filter';
import type { FilterSessionOptions, StatusFilterSnapshot, Store } from '../../src/filter';

const SID = 'HG' + '0'.repeat(32);
const OTHER = 'HG' + '1'.repeat(32);

/** A Store that keeps what it is given and answers when the test says so. */
class FakeStore implements Store {
  saved: unknown;
  writes: StatusFilterSnapshot[] = [];
  pendingGet: ((err: unknown, value: unknown) => void) | undefined;
  pendingSets: ((err: unknown) => void)[] = [];
  /** When set, writes wait for answer(); else they succeed at once. */
  holdWrites = false;
  failWrites: Error | undefined;

  get(callback: (err: unknown, value: unknown) => void): void {
    this.pendingGet = callback;
  }

  set(snapshot: StatusFilterSnapshot, callback: (err: unknown) => void): void {
    this.writes.push(snapshot);
    if (this.holdWrites) {
      this.pendingSets.push(callback);
      return;
    }
    if (this.failWrites) return callback(this.failWrites);
    this.saved = snapshot;
    callback(null);
  }

  answerGet(err: unknown, value: unknown): void {
    const callback = this.pendingGet;
    this.pendingGet = undefined;
    callback?.(err, value);
  }
}

describe('filter: reading a message', function () {
  it('takes the command from msg.command, else from msg.payload, never from a Buffer', function () {
    assert.deepEqual(commandOf({ command: { sid: SID, status: 'sent' }, payload: { sid: OTHER, status: 'queued' } }), { sid: SID, status: 'sent' });
    assert.deepEqual(commandOf({ payload: { sid: SID, status: 'queued' } }), { sid: SID, status: 'queued' });
    assert.equal(commandOf({ payload: Buffer.from('sid') }), undefined);
    assert.equal(commandOf({ payload: 'HG…' }), undefined);
  });

  it('counts only true and a SID string as a reset', function () {
    assert.deepEqual(resetOf({ reset: SID }, undefined), { all: false, sid: SID });
    assert.deepEqual(resetOf({ reset: true }, { sid: OTHER }), { all: false, sid: OTHER });
    assert.deepEqual(resetOf({ reset: true }, undefined), { all: true });
    for (const reset of [0, 1, {}, '', false, null]) assert.equal(resetOf({ reset }, undefined), undefined);
  });

  it('applies a message: a forward status changes the state, a repeat or an unknown reset does not', function () {
    const state = new StatusFilterState({ statuses: ['delivered'] });
    assert.deepEqual(applyMessage(state, { payload: { sid: SID, status: 'queued' } }), { decision: 'not-selected', changed: true });
    assert.deepEqual(applyMessage(state, { payload: { sid: SID, status: 'queued' } }), { decision: 'duplicate', changed: false });
    assert.deepEqual(applyMessage(state, { command: { sid: SID, status: 'delivered' } }), { decision: 'pass', changed: true });
    assert.deepEqual(applyMessage(state, { payload: {} }), { decision: 'invalid', changed: false });
    assert.deepEqual(applyMessage(state, { reset: OTHER }), { decision: 'reset', changed: false });
    assert.deepEqual(applyMessage(state, { reset: SID }), { decision: 'reset', changed: true });
    assert.equal(state.size, 0);
    assert.deepEqual(applyMessage(state, { reset: true }), { decision: 'reset', changed: true });
  });
});

describe('filter: configuration', function () {
  it('reads statuses from an array or a comma-separated list, and names the unknown ones', function () {
    assert.deepEqual(parseStatuses(['sent', 'delivered', 'sent']), { statuses: ['sent', 'delivered'], unknown: [] });
    assert.deepEqual(parseStatuses(' sent, nope ,failed'), { statuses: ['sent', 'failed'], unknown: [' nope '] });
    assert.deepEqual(parseStatuses(undefined), { statuses: [], unknown: [] });
    assert.deepEqual(parseStatuses(' '), { statuses: [], unknown: [] });
  });

  it('takes the one default for a blank maximum and refuses what is not a whole number >= 1', function () {
    assert.equal(DEFAULT_MAX_COMMANDS, 100_000);
    for (const blank of [undefined, null, '']) assert.equal(parseMaxCommands(blank), DEFAULT_MAX_COMMANDS);
    assert.equal(parseMaxCommands('250'), 250);
    assert.equal(parseMaxCommands(7), 7);
    for (const bad of ['0', -1, 1.5, 'ten', Number.MAX_SAFE_INTEGER + 1]) assert.equal(parseMaxCommands(bad), undefined);
  });

  it('lists the context stores as the runtime does', function () {
    assert.deepEqual(contextStores({}), { stores: ['memory'], fallback: 'memory' });
    assert.deepEqual(contextStores({ contextStorage: { file: {}, memory: {} } }), { stores: ['file', 'memory'], fallback: 'file' });
    assert.deepEqual(contextStores({ contextStorage: { default: 'file', file: {}, memory: {} } }), { stores: ['file', 'memory'], fallback: 'file' });
    assert.deepEqual(contextStores({ contextStorage: { memory: {}, default: {} } }), { stores: ['memory', 'default'], fallback: 'default' });
  });
});

describe('filter: SaveScheduler', function () {
  let clock: sinon.SinonFakeTimers;
  let store: FakeStore;
  let failures: unknown[];
  let version: number;

  beforeEach(function () {
    clock = sinon.useFakeTimers({ now: Date.UTC(2024, 0, 1) });
    store = new FakeStore();
    failures = [];
    version = 0;
  });
  afterEach(function () {
    clock.restore();
  });

  function scheduler(): SaveScheduler {
    return new SaveScheduler({ store, snapshot: () => ({ v: 1, entries: [[SID, 'queued', version]] }), onFailure: (err) => failures.push(err) });
  }

  it('lets a synchronous burst of changes share one write, taken when the write starts', async function () {
    const saver = scheduler();
    for (version = 1; version <= 100; version++) saver.changed();
    assert.equal(store.writes.length, 0);
    await clock.tickAsync(0);
    assert.equal(store.writes.length, 1);
    assert.equal(store.writes[0].entries[0][2], 101);
    assert.equal(saver.dirty, false);
  });

  it('writes at most once a SAVE_INTERVAL_MS, and the last change always', async function () {
    const saver = scheduler();
    saver.changed();
    await clock.tickAsync(0);
    saver.changed();
    await clock.tickAsync(SAVE_INTERVAL_MS - 1);
    assert.equal(store.writes.length, 1);
    await clock.tickAsync(1);
    assert.equal(store.writes.length, 2);
    await clock.tickAsync(10 * SAVE_INTERVAL_MS);
    assert.equal(store.writes.length, 2, 'nothing changed since');
  });

  it('never has two writes under way: a change during a write is written after it', async function () {
    store.holdWrites = true;
    const saver = scheduler();
    saver.changed();
    await clock.tickAsync(0);
    saver.changed();
    await clock.tickAsync(5 * SAVE_INTERVAL_MS);
    assert.equal(store.writes.length, 1);
    store.holdWrites = false;
    store.pendingSets.shift()?.(null);
    await clock.tickAsync(0);
    assert.equal(store.writes.length, 2);
  });

  it('reports a failing store once per streak, keeps the change and tries again with the next', async function () {
    store.failWrites = new Error('disk full');
    const saver = scheduler();
    saver.changed();
    await clock.tickAsync(0);
    assert.equal(saver.failing, true);
    assert.equal(saver.dirty, true);
    saver.changed();
    await clock.tickAsync(SAVE_INTERVAL_MS);
    assert.equal(store.writes.length, 2);
    assert.deepEqual(failures, [store.failWrites]);
    store.failWrites = undefined;
    saver.changed();
    await clock.tickAsync(SAVE_INTERVAL_MS);
    assert.equal(saver.failing, false);
    store.failWrites = new Error('again');
    saver.changed();
    await clock.tickAsync(SAVE_INTERVAL_MS);
    assert.equal(failures.length, 2, 'a new streak is reported again');
  });

  it('takes a store that throws for one that failed', async function () {
    const throwing: Store = {
      get: () => undefined,
      set: () => {
        throw new Error('no such store');
      },
    };
    const saver = new SaveScheduler({ store: throwing, snapshot: () => ({ v: 1, entries: [] }), onFailure: (err) => failures.push(err) });
    saver.changed();
    await clock.tickAsync(0);
    assert.equal(saver.failing, true);
    assert.equal((failures[0] as Error).message, 'no such store');
  });

  it('on close, cancels the pending write and flushes only when asked', async function () {
    const saver = scheduler();
    saver.changed();
    await saver.close(false);
    await clock.tickAsync(10 * SAVE_INTERVAL_MS);
    assert.equal(store.writes.length, 0);

    const flushing = scheduler();
    flushing.changed();
    await flushing.close(true);
    assert.equal(store.writes.length, 1);
    flushing.changed();
    await clock.tickAsync(10 * SAVE_INTERVAL_MS);
    assert.equal(store.writes.length, 1, 'nothing is scheduled after close');
  });

  it('on close, waits for the write under way before flushing', async function () {
    store.holdWrites = true;
    const saver = scheduler();
    saver.changed();
    await clock.tickAsync(0);
    saver.changed();
    let closed = false;
    const closing = saver.close(true).then(() => (closed = true));
    await clock.tickAsync(0);
    assert.equal(closed, false);
    assert.equal(store.writes.length, 1);
    store.holdWrites = false;
    store.pendingSets.shift()?.(null);
    await closing;
    assert.equal(store.writes.length, 2);
  });
});

describe('filter: FilterSession', function () {
  let clock: sinon.SinonFakeTimers;
  beforeEach(function () {
    clock = sinon.useFakeTimers({ now: Date.UTC(2024, 0, 1) });
  });
  afterEach(function () {
    clock.restore();
  });

  function session(store: Store | undefined, events: Partial<FilterSessionOptions<string>> = {}): { session: FilterSession<string>; ran: string[]; log: string[] } {
    const ran: string[] = [];
    const log: string[] = [];
    const result = new FilterSession<string>({
      filter: {},
      store,
      run: (item) => ran.push(item),
      onReady: () => log.push('ready'),
      onLoadFailed: (err) => log.push(`load: ${(err as Error).message}`),
      onSaveFailed: (err) => log.push(`save: ${(err as Error).message}`),
      ...events,
    });
    return { session: result, ran, log };
  }

  it('without a store runs items at once and counts decisions', function () {
    const { session: s, ran } = session(undefined);
    s.load();
    assert.equal(s.submit('a'), true);
    assert.deepEqual(ran, ['a']);
    assert.equal(s.apply({ payload: { sid: SID, status: 'queued' } }), 'pass');
    assert.equal(s.apply({ payload: { sid: SID, status: 'queued' } }), 'duplicate');
    assert.equal(s.apply({ payload: { sid: SID, status: 'nope' } }), 'invalid');
    assert.equal(s.apply({ reset: true }), 'reset');
    assert.deepEqual(s.counts, { passed: 1, dropped: 1, invalid: 1 });
    assert.equal(s.tracked, 0);
  });

  it('holds items while the store loads, at most MAX_WAITING, then runs them against the loaded state', function () {
    const store = new FakeStore();
    const { session: s, ran, log } = session(store);
    s.load();
    for (let i = 0; i < MAX_WAITING; i++) assert.equal(s.submit(`m${i}`), true);
    assert.equal(s.submit('one too many'), false);
    assert.deepEqual(ran, []);
    store.answerGet(null, { v: 1, entries: [[SID, 'sent', Date.now()]] });
    assert.deepEqual(log, ['ready']);
    assert.equal(ran.length, MAX_WAITING);
    assert.equal(s.tracked, 1);
    assert.equal(s.apply({ payload: { sid: SID, status: 'queued' } }), 'regression');
  });

  it('after a failed load keeps memory only: reports it, never writes, and is degraded', async function () {
    const store = new FakeStore();
    const { session: s, log } = session(store);
    s.load();
    store.answerGet(new Error('unreachable'), undefined);
    assert.deepEqual(log, ['load: unreachable', 'ready']);
    assert.equal(s.degraded, true);
    s.apply({ payload: { sid: SID, status: 'queued' } });
    await clock.tickAsync(10 * SAVE_INTERVAL_MS);
    await s.close(false).saved;
    assert.equal(store.writes.length, 0);
  });

  it('takes a store whose get throws for a failed load', function () {
    const throwing: Store = {
      get: () => {
        throw new Error('no such store');
      },
      set: () => undefined,
    };
    const { session: s, log } = session(throwing);
    s.load();
    assert.deepEqual(log, ['load: no such store', 'ready']);
  });

  it('saves changes through the store, and flushes on close unless removed', async function () {
    const store = new FakeStore();
    const { session: s } = session(store);
    s.load();
    store.answerGet(null, undefined);
    s.apply({ payload: { sid: SID, status: 'queued' } });
    await clock.tickAsync(0);
    assert.deepEqual((store.saved as StatusFilterSnapshot).entries.map(([sid, status]) => [sid, status]), [[SID, 'queued']]);
    s.apply({ payload: { sid: SID, status: 'sent' } });
    await s.close(true).saved;
    assert.equal(store.writes.length, 1, 'a removed node is not flushed');

    const again = session(store).session;
    again.load();
    store.answerGet(null, store.saved);
    again.apply({ payload: { sid: SID, status: 'sent' } });
    await again.close(false).saved;
    assert.deepEqual((store.saved as StatusFilterSnapshot).entries.map(([sid, status]) => [sid, status]), [[SID, 'sent']]);
  });

  it('on close while loading hands back the waiting items, ignores a late answer and writes nothing', async function () {
    const store = new FakeStore();
    const { session: s, ran, log } = session(store);
    s.load();
    s.submit('a');
    s.submit('b');
    const { waiting, saved } = s.close(false);
    assert.deepEqual(waiting, ['a', 'b']);
    await saved;
    store.answerGet(null, { v: 1, entries: [] });
    assert.deepEqual(ran, []);
    assert.deepEqual(log, []);
    assert.equal(store.writes.length, 0);
  });
});
