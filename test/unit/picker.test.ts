import assert from 'node:assert/strict';
import sinon from 'sinon';
import { Suggestions } from '../../src/account';
import type { PickerSource } from '../../src/account';
import { SuperSimClient } from '../../src/api';
import type { Fleet, Sim } from '../../src/api';
import { Simulator, generateSims } from '../../src/simulator';

function sim(uniqueName: string | null, sid: string, iccid: string): Sim {
  return { sid, unique_name: uniqueName, iccid, status: 'active', account_sid: null, fleet_sid: null, date_created: null, date_updated: null, url: null, links: null };
}

/** A source that counts how many lists were started and how many resources were read. */
function countingSource(sims: Sim[], fleets: Partial<Fleet>[] = []): PickerSource & { lists: number; read: number; fail: boolean } {
  const source = {
    lists: 0,
    read: 0,
    fail: false,
    async *listSims(): AsyncIterable<Sim> {
      source.lists++;
      if (source.fail) throw new Error('the API is down');
      for (const s of sims) {
        source.read++;
        yield s;
      }
    },
    async *listFleets(): AsyncIterable<Fleet> {
      source.lists++;
      for (const f of fleets) yield f as Fleet;
    },
  };
  return source;
}

const SIMS = [
  sim('pump-north', 'HS00000000000000000000000000000001', '8988307000000000011'),
  sim('pump-south', 'HS00000000000000000000000000000002', '8988307000000000022'),
  sim(null, 'HS0000000000000000000000000000abcd', '8988307000000000033'),
  sim('meter-7', 'HS00000000000000000000000000000004', '8988307000000000044'),
];

describe('SIM picker suggestions', function () {
  afterEach(function () {
    sinon.restore();
  });

  it('matches any part of the unique name, SID or ICCID, in any case, exact and prefix matches first', async function () {
    const suggestions = new Suggestions(() => countingSource(SIMS));
    assert.deepEqual((await suggestions.suggest('sims', 'PUMP')).suggestions.map((s) => s.value), ['pump-north', 'pump-south']);
    assert.deepEqual((await suggestions.suggest('sims', '00033')).suggestions.map((s) => s.value), ['HS0000000000000000000000000000abcd'], 'no unique name: the SID');
    assert.deepEqual((await suggestions.suggest('sims', 'hs00000000000000000000000000000004')).suggestions.map((s) => s.value), ['meter-7']);
    const south = (await suggestions.suggest('sims', 'south')).suggestions[0];
    assert.deepEqual(south, { value: 'pump-south', sid: SIMS[1].sid, uniqueName: 'pump-south', iccid: SIMS[1].iccid, status: 'active' });
    const ranked = new Suggestions(() => countingSource([sim('xmeter', 'HS1', '1'), sim('meter', 'HS2', '2'), sim('meter-2', 'HS3', '3')]));
    assert.deepEqual((await ranked.suggest('sims', 'meter')).suggestions.map((s) => s.value), ['meter', 'meter-2', 'xmeter']);
    assert.deepEqual((await suggestions.suggest('sims', 'nothing-like-it')).suggestions, []);
  });

  it('reads the list once for 30 s, then again; a failed read is not kept', async function () {
    const clock = sinon.useFakeTimers({ toFake: ['Date'] });
    const source = countingSource(SIMS);
    const suggestions = new Suggestions(() => source);
    await Promise.all([suggestions.suggest('sims', 'p'), suggestions.suggest('sims', 'pu')]);
    await suggestions.suggest('sims', 'pump');
    assert.equal(source.lists, 1, 'typing reads the account once');
    clock.tick(29_000);
    await suggestions.suggest('sims', 'pump-');
    assert.equal(source.lists, 1);
    clock.tick(1_001);
    await suggestions.suggest('sims', 'pump-n');
    assert.equal(source.lists, 2, 'read again once the list is 30 s old');
    await suggestions.suggest('fleets', 'x');
    assert.equal(source.lists, 3, 'Fleets have their own list');

    clock.tick(30_001);
    source.fail = true;
    await assert.rejects(suggestions.suggest('sims', 'pump'), /the API is down/);
    source.fail = false;
    assert.equal((await suggestions.suggest('sims', 'pump')).suggestions.length, 2, 'the next request asks again');
  });

  it('reads at most maxItems entries and says the answer is partial', async function () {
    const many = Array.from({ length: 50 }, (_, i) => sim(`device-${i}`, `HS${String(i).padStart(32, '0')}`, String(i)));
    const source = countingSource(many);
    const suggestions = new Suggestions(() => source, { maxItems: 10, maxResults: 5 });
    const answer = await suggestions.suggest('sims', 'device');
    assert.equal(answer.partial, true);
    assert.equal(answer.suggestions.length, 5);
    assert.ok(source.read <= 11, `stopped reading after the cap (read ${source.read})`);
    assert.equal((await new Suggestions(() => countingSource(SIMS)).suggest('sims', '')).partial, false);
  });

  it('offers Fleets by unique name and SID', async function () {
    const suggestions = new Suggestions(() => countingSource([], [{ sid: 'HF00000000000000000000000000000001', unique_name: 'trucks' }, { sid: 'HF00000000000000000000000000000002', unique_name: null }]));
    assert.deepEqual((await suggestions.suggest('fleets', 'truck')).suggestions, [{ value: 'trucks', sid: 'HF00000000000000000000000000000001', uniqueName: 'trucks' }]);
    assert.deepEqual((await suggestions.suggest('fleets', '02')).suggestions.map((s) => s.value), ['HF00000000000000000000000000000002']);
  });

  describe('with the client and the simulator', function () {
    let simulator: Simulator;
    let client: SuperSimClient;

    before(async function () {
      simulator = await Simulator.start({ mode: 'kore', fleets: [{ uniqueName: 'trucks' }], sims: generateSims({ count: 250, fleet: 'trucks' }) });
      client = new SuperSimClient({ provider: 'kore', ...simulator.credentials, supersimUrl: simulator.supersimUrl, wirelessUrl: simulator.wirelessUrl, tokenUrl: simulator.tokenUrl });
    });

    after(async function () {
      await client?.close();
      await simulator?.close();
    });

    it('finds a SIM among 250 over pages, and the next keystrokes cost no request', async function () {
      const suggestions = new Suggestions(() => client);
      const wanted = simulator.sim('sim-0242');
      // "sim-" keeps the random SIDs and ICCIDs out of the match: "0242" alone may occur in them.
      const answer = await suggestions.suggest('sims', 'sim-024');
      assert.deepEqual(answer.suggestions.map((s) => s.value).sort(), Array.from({ length: 10 }, (_, n) => `sim-024${n}`));
      assert.equal(answer.suggestions.find((s) => s.value === 'sim-0242')?.sid, wanted.sid);
      const requests = simulator.stats.requests;
      assert.deepEqual((await suggestions.suggest('sims', 'sim-0242')).suggestions.map((s) => s.sid), [wanted.sid]);
      assert.equal(simulator.stats.requests, requests);
      assert.ok((await suggestions.suggest('fleets', 'tru')).suggestions.some((s) => s.value === 'trucks'));
      suggestions.close();
    });
  });
});
