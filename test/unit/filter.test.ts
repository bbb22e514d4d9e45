import assert from 'node:assert/strict';
import type { CommandStatus } from '../../src/api/types.js';
import { StatusFilterState } from '../../src/filter/index.js';
import type { FilterDecision, StatusFilterOptions } from '../../src/filter/index.js';
import { OldestFirstMap } from '../../src/shared/oldest-first.js';

const STATUSES: CommandStatus[] = ['queued', 'sent', 'delivered', 'failed', 'received'];
const SID = 'HC0123456789abcdef0123456789abcdef';
const HOUR = 3_600_000;

/** Decision for every (known status → next status), next in STATUSES order. */
const TABLE: Record<CommandStatus, FilterDecision[]> = {
  queued: ['duplicate', 'pass', 'pass', 'pass', 'pass'],
  sent: ['regression', 'duplicate', 'pass', 'pass', 'pass'],
  delivered: ['after-final', 'after-final', 'duplicate', 'after-final', 'after-final'],
  failed: ['after-final', 'after-final', 'after-final', 'duplicate', 'after-final'],
  received: ['after-final', 'after-final', 'after-final', 'after-final', 'duplicate'],
};

describe('filter: StatusFilterState', () => {
  let time: number;
  const now = (): number => time;
  const make = (options: StatusFilterOptions = {}): StatusFilterState => new StatusFilterState({ now, ...options });

  beforeEach(() => {
    time = 1_700_000_000_000;
  });

  it('passes the first status it sees of a command, whatever it is', () => {
    for (const status of STATUSES) assert.equal(make().decide(SID, status), 'pass', status);
  });

  for (const previous of STATUSES) {
    it(`decides every status after ${previous}`, () => {
      const decisions = STATUSES.map((next) => {
        const state = make();
        state.decide(SID, previous);
        return state.decide(SID, next);
      });
      assert.deepEqual(decisions, TABLE[previous]);
    });
  }

  it('passes queued → sent → delivered once each and drops the rest', () => {
    const state = make();
    const decisions = (['queued', 'queued', 'sent', 'queued', 'sent', 'delivered', 'sent', 'failed', 'delivered'] as CommandStatus[]).map((s) => state.decide(SID, s));
    assert.deepEqual(decisions, ['pass', 'duplicate', 'pass', 'regression', 'duplicate', 'pass', 'after-final', 'after-final', 'duplicate']);
    assert.deepEqual(state.get(SID), { status: 'delivered', at: time });
  });

  it('keeps commands apart', () => {
    const state = make();
    assert.equal(state.decide('HC1', 'sent'), 'pass');
    assert.equal(state.decide('HC2', 'queued'), 'pass');
    assert.equal(state.decide('HC2', 'sent'), 'pass');
    assert.equal(state.decide('HC1', 'sent'), 'duplicate');
    assert.equal(state.size, 2);
  });

  it('calls a missing SID or an unknown status invalid, and records nothing', () => {
    const state = make();
    for (const sid of [undefined, null, '', 42, {}, ['HC1']]) assert.equal(state.decide(sid, 'sent'), 'invalid', String(sid));
    for (const status of [undefined, null, '', 'Sent', 'undelivered', 'toString', 1]) assert.equal(state.decide(SID, status), 'invalid', String(status));
    assert.equal(state.size, 0);
    state.decide(SID, 'sent');
    assert.equal(state.decide(SID, 'bogus'), 'invalid');
    assert.equal(state.get(SID)?.status, 'sent');
  });

  describe('statuses', () => {
    it('passes only the selected statuses, and judges them against the whole lifecycle', () => {
      const state = make({ statuses: ['sent'] });
      assert.equal(state.decide('HC1', 'queued'), 'not-selected');
      assert.equal(state.decide('HC1', 'sent'), 'pass');
      assert.equal(state.decide('HC1', 'sent'), 'duplicate');
      assert.equal(state.decide('HC1', 'delivered'), 'not-selected');
      // delivered was recorded though not passed: a late sent is after the final status.
      assert.equal(state.decide('HC1', 'sent'), 'after-final');

      assert.equal(state.decide('HC2', 'delivered'), 'not-selected');
      assert.equal(state.decide('HC2', 'sent'), 'after-final');
    });

    it('passes every forward change when empty', () => {
      const state = make({ statuses: [] });
      assert.deepEqual(
        (['queued', 'sent', 'delivered'] as CommandStatus[]).map((s) => state.decide(SID, s)),
        ['pass', 'pass', 'pass'],
      );
    });

    it('refuses a status name that does not exist', () => {
      assert.throws(() => make({ statuses: ['sent', 'undelivered' as CommandStatus] }), /undelivered/);
    });
  });

  it('reset forgets one command', () => {
    const state = make();
    state.decide('HC1', 'delivered');
    state.decide('HC2', 'delivered');
    assert.equal(state.reset('HC1'), true);
    assert.equal(state.reset('HC1'), false);
    assert.equal(state.reset('HC9'), false);
    assert.equal(state.decide('HC1', 'queued'), 'pass');
    assert.equal(state.decide('HC2', 'queued'), 'after-final');
    state.clear();
    assert.equal(state.size, 0);
    assert.equal(state.decide('HC2', 'queued'), 'pass');
  });

  describe('bounded memory', () => {
    it('forgets the least recently updated command past maxCommands', () => {
      const state = make({ maxCommands: 3 });
      state.decide('A', 'queued');
      state.decide('B', 'queued');
      state.decide('C', 'queued');
      state.decide('A', 'sent'); // A is now the most recently updated
      state.decide('B', 'queued'); // a duplicate is no update
      state.decide('D', 'queued');
      assert.equal(state.size, 3);
      assert.equal(state.get('B'), undefined);
      assert.deepEqual(['A', 'C', 'D'].map((sid) => state.get(sid)?.status), ['sent', 'queued', 'queued']);
      state.decide('E', 'queued');
      assert.equal(state.get('C'), undefined);
      assert.deepEqual(state.toJSON().entries.map(([sid]) => sid), ['A', 'D', 'E']);
      assert.equal(state.decide('B', 'sent'), 'pass', 'a forgotten command is new again');
    });

    it('forgets a command ttlMs after its last update', () => {
      const state = make({ ttlMs: 1000 });
      state.decide('A', 'delivered');
      state.decide('B', 'queued');
      time += 800;
      state.decide('B', 'sent');
      time += 200;
      assert.equal(state.decide('A', 'delivered'), 'duplicate', 'exactly ttlMs old is still known');
      time += 1;
      assert.equal(state.size, 1);
      assert.equal(state.get('A'), undefined);
      assert.equal(state.decide('A', 'sent'), 'pass');
      assert.equal(state.decide('B', 'queued'), 'regression', 'B was updated 201 ms ago');
      time += 1000;
      assert.equal(state.size, 1, 'A again, updated 1000 ms ago');
      time += 1;
      assert.equal(state.size, 0);
    });

    it('defaults to 100 000 commands and 48 hours', () => {
      const state = make();
      for (let i = 0; i <= 100_000; i++) state.decide(`HC${i}`, 'queued');
      assert.equal(state.size, 100_000);
      assert.equal(state.get('HC0'), undefined);
      time += 48 * HOUR;
      assert.equal(state.size, 100_000);
      time += 1;
      assert.equal(state.size, 0);
    });

    it('evicts in constant time: a large cap costs about what a small one does', () => {
      // Re-using Map.keys().next() for the oldest entry would walk every deleted slot each time.
      const run = (cap: number): number => {
        const state = make({ maxCommands: cap });
        for (let i = 0; i < cap; i++) state.decide(`W${i}`, 'queued');
        const started = process.hrtime.bigint();
        for (let i = 0; i < 150_000; i++) {
          state.decide(`X${i}`, 'queued');
          state.decide(`X${i}`, 'sent');
        }
        return Number(process.hrtime.bigint() - started);
      };
      run(1000);
      const small = Math.min(run(1000), run(1000));
      const large = Math.min(run(50_000), run(50_000));
      assert.ok(large < 6 * small, `cap 50 000: ${(large / 1e6).toFixed(0)} ms, cap 1000: ${(small / 1e6).toFixed(0)} ms`);
    }).timeout(30_000);

    it('refuses nonsense limits', () => {
      assert.throws(() => make({ maxCommands: 0 }), RangeError);
      assert.throws(() => make({ maxCommands: 1.5 }), RangeError);
      assert.throws(() => make({ ttlMs: 0 }), RangeError);
      assert.throws(() => make({ ttlMs: Number.NaN }), RangeError);
    });
  });

  describe('snapshots', () => {
    it('round-trips through JSON, order and all', () => {
      const state = make();
      state.decide('A', 'queued');
      time += 10;
      state.decide('B', 'delivered');
      time += 10;
      state.decide('A', 'sent');
      const snapshot = JSON.parse(JSON.stringify(state)) as unknown;
      assert.deepEqual(snapshot, {
        v: 1,
        entries: [
          ['B', 'delivered', time - 10],
          ['A', 'sent', time],
        ],
      });
      const restored = StatusFilterState.fromJSON(snapshot, { now });
      assert.deepEqual(restored.toJSON(), state.toJSON());
      assert.equal(restored.decide('A', 'queued'), 'regression');
      assert.equal(restored.decide('B', 'sent'), 'after-final');
      assert.equal(restored.decide('A', 'delivered'), 'pass');
    });

    it('restores with the options given: past ttl or over max is dropped, the least recently updated first', () => {
      const data = {
        v: 1,
        entries: [
          ['C', 'sent', time - 30],
          ['A', 'queued', time - 5000],
          ['B', 'sent', time - 50],
          ['D', 'failed', time - 10],
        ],
      };
      const restored = StatusFilterState.fromJSON(data, { now, ttlMs: 1000, maxCommands: 2 });
      assert.deepEqual(restored.toJSON().entries, [
        ['C', 'sent', time - 30],
        ['D', 'failed', time - 10],
      ]);
      restored.decide('E', 'queued');
      assert.equal(restored.get('C'), undefined, 'time order rebuilt, so C is evicted first');
    });

    it('keeps statuses selection out of the snapshot: it belongs to the node', () => {
      const state = make({ statuses: ['delivered'] });
      state.decide('A', 'sent');
      const restored = StatusFilterState.fromJSON(state.toJSON(), { now });
      assert.equal(restored.decide('A', 'delivered'), 'pass');
    });

    it('takes garbage for an empty state', () => {
      for (const data of [undefined, null, 42, 'x', [], {}, { v: 2, entries: [] }, { v: 1 }, { v: 1, entries: 'x' }, { v: '1', entries: [['A', 'sent', time]] }]) {
        assert.equal(StatusFilterState.fromJSON(data, { now }).size, 0, JSON.stringify(data));
      }
    });

    it('skips malformed entries and keeps the good ones', () => {
      const restored = StatusFilterState.fromJSON(
        {
          v: 1,
          entries: [
            null,
            'A',
            ['A'],
            ['A', 'sent'],
            ['A', 'sent', time, 'extra'],
            [1, 'sent', time],
            ['', 'sent', time],
            ['A', 'undelivered', time],
            ['A', 'sent', 'yesterday'],
            ['A', 'sent', Number.NaN],
            ['A', 'sent', -1e300],
            ['A', 'sent', 1e300],
            ['GOOD', 'delivered', time],
          ],
        },
        { now, ttlMs: Infinity },
      );
      assert.deepEqual(restored.toJSON().entries, [['GOOD', 'delivered', time]]);
    });

    it('takes a time ahead of the clock as now, so the entry still expires', () => {
      const restored = StatusFilterState.fromJSON({ v: 1, entries: [['A', 'sent', time + 10 * HOUR]] }, { now, ttlMs: HOUR });
      assert.deepEqual(restored.get('A'), { status: 'sent', at: time });
      time += HOUR + 1;
      assert.equal(restored.size, 0);
    });

    it('works on a clock before the epoch', () => {
      time = -5000;
      const state = make();
      state.decide('A', 'received');
      assert.deepEqual(state.get('A'), { status: 'received', at: -5000 });
      assert.deepEqual(StatusFilterState.fromJSON(state.toJSON(), { now }).toJSON(), state.toJSON());
    });
  });
});

describe('filter: OldestFirstMap', () => {
  /** A tiny deterministic generator, so a failure can be replayed. */
  function random(seed: number): () => number {
    let x = seed;
    return () => {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
      return x / 2 ** 31;
    };
  }

  it('agrees with a plain model under random sets, deletes and evictions', () => {
    const next = random(7);
    const map = new OldestFirstMap<number, number>();
    const model: [number, number][] = [];
    for (let step = 0; step < 50_000; step++) {
      const roll = next();
      const key = Math.floor(next() * 300);
      if (roll < 0.6) {
        map.set(key, step);
        const at = model.findIndex(([k]) => k === key);
        if (at !== -1) model.splice(at, 1);
        model.push([key, step]);
      } else if (roll < 0.8) {
        const at = model.findIndex(([k]) => k === key);
        assert.equal(map.delete(key), at !== -1);
        if (at !== -1) model.splice(at, 1);
      } else {
        const oldest = map.oldest();
        assert.deepEqual(oldest, model[0]);
        if (oldest !== undefined && roll < 0.95) {
          map.delete(oldest[0]);
          model.shift();
        }
      }
      assert.equal(map.size, model.length);
    }
    assert.deepEqual([...map.entries()], model);
    map.clear();
    assert.equal(map.oldest(), undefined);
    map.set(1, 1);
    assert.deepEqual(map.oldest(), [1, 1]);
  });

  it('finds entries added after it ran empty', () => {
    const map = new OldestFirstMap<string, number>();
    assert.equal(map.oldest(), undefined);
    map.set('a', 1);
    map.set('b', 2);
    assert.deepEqual(map.oldest(), ['a', 1]);
    map.delete('a');
    map.delete('b');
    assert.equal(map.oldest(), undefined);
    map.set('c', 3);
    assert.deepEqual(map.oldest(), ['c', 3]);
    map.set('c', 4);
    map.set('d', 5);
    assert.deepEqual(map.oldest(), ['c', 4]);
  });
});
