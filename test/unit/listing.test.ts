import assert from 'node:assert/strict';
import { ListingInputError, collectAll, emitSequence, firstOf, kindOfSid, limitOf, listPlanOf, oneByOne, readAhead, sendListed, sidOf, simNameOf, simsFilterOf } from '../../src/listing';
import type { SequenceParts } from '../../src/listing';

const HEX = '0123456789abcdef0123456789abcdef';

/** Pages that arrive only when the test says so, with a log of what was asked and emitted. */
function pagedList(pages: number[][]): { items: AsyncIterable<number>; log: string[]; release: () => void } {
  const log: string[] = [];
  let wake: (() => void) | undefined;
  const items = (async function* () {
    for (let p = 0; p < pages.length; p++) {
      log.push(`page ${p}`);
      if (p > 0) await new Promise<void>((resolve) => (wake = resolve));
      yield* pages[p];
    }
  })();
  return { items, log, release: () => wake?.() };
}

function throws(fn: () => unknown, field: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof ListingInputError && err.field === field && pattern.test(err.message));
}

describe('listing', function () {
  describe('emitSequence', function () {
    it('emits each page as it arrives, holding back one item, with count only on the last', async function () {
      const { items, log, release } = pagedList([[1, 2, 3], [4, 5]]);
      const emitted: [number, SequenceParts][] = [];
      const done = emitSequence(oneByOne(items), (item, parts) => {
        log.push(`emit ${item}`);
        emitted.push([item, parts]);
      }, { id: 'seq' });
      await new Promise((resolve) => setImmediate(resolve));
      // Page 1 is waiting: the first page's items except the one held back are out already.
      assert.deepEqual(log, ['page 0', 'emit 1', 'emit 2', 'page 1']);
      release();
      assert.equal(await done, 5);
      assert.deepEqual(emitted.map(([item]) => item), [1, 2, 3, 4, 5]);
      assert.deepEqual(emitted.map(([, p]) => p.index), [0, 1, 2, 3, 4]);
      assert.deepEqual(emitted.map(([, p]) => p.count), [undefined, undefined, undefined, undefined, 5]);
      assert.ok(emitted.every(([, p]) => p.id === 'seq' && p.type === 'array' && !('parts' in p)));
    });

    it('keeps an enclosing sequence as parts.parts, as core split nests them', async function () {
      const emitted: SequenceParts[] = [];
      const outer = { id: 'outer', index: 2, count: 3, type: 'array' };
      await emitSequence(oneByOne((async function* () { yield 'a'; })()), (_item, parts) => emitted.push(parts), { id: 'inner', enclosing: outer });
      assert.deepEqual(emitted, [{ id: 'inner', index: 0, count: 1, type: 'array', parts: outer }]);
    });

    it('an empty list emits nothing; a failure part way rejects without emitting the item held back', async function () {
      const emitted: number[] = [];
      assert.equal(await emitSequence(oneByOne((async function* (): AsyncGenerator<number> {})()), (item: number) => emitted.push(item), { id: 'x' }), 0);
      assert.equal(emitted.length, 0);
      const failing = (async function* (): AsyncGenerator<number> {
        yield 1;
        yield 2;
        throw new Error('page 2 refused');
      })();
      await assert.rejects(emitSequence(oneByOne(failing), (item: number) => emitted.push(item), { id: 'x' }), /page 2 refused/);
      assert.deepEqual(emitted, [1], 'item 2 would claim to be the last: not sent');
    });

    it('stops once the signal is aborted, with its reason', async function () {
      const stop = new AbortController();
      const emitted: number[] = [];
      const items = (async function* () {
        yield 1;
        yield 2;
        stop.abort(new Error('closing'));
        yield 3;
      })();
      await assert.rejects(emitSequence(oneByOne(items), (item: number) => emitted.push(item), { id: 'x', signal: stop.signal }), /closing/);
      assert.deepEqual(emitted, [1]);
    });
  });

  describe('readAhead', function () {
    it('asks for the next page while the consumer still handles the current one, and hands over batches', async function () {
      const { items, log, release } = pagedList([[1, 2, 3], [4, 5]]);
      const batches = readAhead(items, 10);
      const first = await batches.next();
      assert.deepEqual(first.value, [1, 2, 3]);
      await new Promise((resolve) => setImmediate(resolve));
      // Page 1 was asked for though the consumer has not come back for more.
      assert.deepEqual(log, ['page 0', 'page 1']);
      release();
      assert.deepEqual((await batches.next()).value, [4, 5]);
      assert.equal((await batches.next()).done, true);
    });

    it('never holds more than `max` items read ahead', async function () {
      let read = 0;
      const source = (async function* () {
        for (let i = 0; i < 50; i++) {
          read++;
          yield i;
        }
      })();
      const batches = readAhead(source, 8);
      const first = await batches.next();
      await new Promise((resolve) => setImmediate(resolve));
      assert.ok((first.value as number[]).length <= 8);
      assert.ok(read <= (first.value as number[]).length + 8 + 1, `read ${read}`);
      const rest: number[] = [];
      for await (const batch of batches) {
        assert.ok(batch.length <= 8);
        rest.push(...batch);
      }
      assert.deepEqual([...(first.value as number[]), ...rest], Array.from({ length: 50 }, (_, i) => i));
    });

    it('throws the source’s failure after what was read before it; stopping early closes the source', async function () {
      const failing = (async function* () {
        yield 1;
        throw new Error('page 2 refused');
      })();
      const got: number[] = [];
      await assert.rejects(
        (async () => {
          for await (const batch of readAhead(failing, 10)) got.push(...batch);
        })(),
        /page 2 refused/,
      );
      assert.deepEqual(got, [1]);

      let closed = false;
      const endless = (async function* () {
        try {
          for (let i = 0; ; i++) yield i;
        } finally {
          closed = true;
        }
      })();
      for await (const batch of readAhead(endless, 5)) if (batch.length > 0) break;
      assert.ok(closed);
    });
  });

  it('firstOf stops reading (and asking for pages) once it has the limit', async function () {
    let read = 0;
    let finished = false;
    const items = (async function* () {
      try {
        for (let i = 0; ; i++) {
          read++;
          yield i;
        }
      } finally {
        finished = true;
      }
    })();
    assert.deepEqual(await collectAll(oneByOne(firstOf(items, 3))), [0, 1, 2]);
    assert.equal(read, 3);
    assert.ok(finished, 'the list was closed');
  });

  it('sendListed: split copies the input for each item; array sends the input with the list', async function () {
    const sent: Record<string, unknown>[] = [];
    const clone = (m: Record<string, unknown>): Record<string, unknown> => structuredClone(m);
    const input = { payload: 'go', keep: { a: 1 } };
    const count = await sendListed({ batches: oneByOne((async function* () { yield { n: 1 }; yield { n: 2 }; })()), output: 'split', msg: input, clone, send: (m) => sent.push(m), decorate: (item, m) => (m.topic = `t${item.n}`) });
    assert.equal(count, 2);
    assert.deepEqual(sent.map((m) => [m.payload, m.topic, m.keep]), [[{ n: 1 }, 't1', { a: 1 }], [{ n: 2 }, 't2', { a: 1 }]]);
    assert.notEqual(sent[0].keep, sent[1].keep, 'each message has its own copy');
    sent.length = 0;
    await sendListed({ batches: oneByOne((async function* (): AsyncGenerator<{ n: number }> {})()), output: 'array', msg: input, clone, send: (m) => sent.push(m) });
    assert.deepEqual(sent, [{ payload: [], keep: { a: 1 } }]);
  });

  describe('simsFilterOf', function () {
    it('takes the node’s fields, else msg.fleet, msg.status and msg.iccid, with PageSize 100', function () {
      assert.deepEqual(simsFilterOf({}, {}), { pageSize: 100 });
      assert.deepEqual(simsFilterOf({ fleet: ' north ', status: '' }, { fleet: 'south', status: 'Active', iccid: '89883070000000000001' }), { pageSize: 100, fleet: 'north', status: 'active', iccid: '89883070000000000001' });
    });

    it('refuses a status or ICCID the API does not know, naming the field and where it came from', function () {
      throws(() => simsFilterOf({}, { status: 'asleep' }), 'Status', /msg\.status is "asleep"/);
      throws(() => simsFilterOf({ iccid: '12' }, {}), 'ICCID', /node’s field is "12"/);
      throws(() => simsFilterOf({}, { fleet: { sid: 'x' } }), 'Fleet', /msg\.fleet is object/);
    });

    it('names a SIM by its unique name, else its SID', function () {
      assert.equal(simNameOf({ unique_name: 'pump', sid: 'HSx' }), 'pump');
      assert.equal(simNameOf({ unique_name: null, sid: 'HSx' }), 'HSx');
    });
  });

  describe('command lookup', function () {
    it('tells the kind from the SID prefix', function () {
      assert.equal(kindOfSid(`HG${HEX}`), 'ip');
      assert.equal(kindOfSid(`hc${HEX}`), 'sms');
      assert.equal(kindOfSid(`DC${HEX}`), 'wireless');
      assert.equal(kindOfSid(`HS${HEX}`), undefined);
      assert.equal(kindOfSid('HG123'), undefined);
    });

    it('reads msg.sid, else msg.payload.sid, else a SID payload; refuses anything else', function () {
      assert.deepEqual(sidOf({ sid: `DC${HEX}`, payload: { sid: `HG${HEX}` } }), { sid: `DC${HEX}`, kind: 'wireless' });
      assert.deepEqual(sidOf({ payload: { sid: `HG${HEX}` } }), { sid: `HG${HEX}`, kind: 'ip' });
      assert.deepEqual(sidOf({ payload: ` HC${HEX} ` }), { sid: `HC${HEX}`, kind: 'sms' });
      throws(() => sidOf({ payload: 'hello' }), 'SID', /msg\.payload must be a command SID/);
      throws(() => sidOf({}), 'SID', /set msg\.sid/);
    });

    it('limit: 50 by default, 1 to 1000', function () {
      assert.equal(limitOf(undefined), 50);
      assert.equal(limitOf(''), 50);
      assert.equal(limitOf('1000'), 1000);
      throws(() => limitOf(1001), 'Limit', /1 to 1000/);
      throws(() => limitOf('2.5'), 'Limit', /1 to 1000/);
    });

    it('list plan: the node’s filters, else msg.sim, msg.status and msg.direction; statuses of the kind only', function () {
      assert.deepEqual(listPlanOf({ kind: 'sms', limit: 7 }, { sim: 'pump', status: 'delivered', direction: 'to_sim' }), { kind: 'sms', limit: 7, sim: 'pump', status: 'delivered', direction: 'to_sim' });
      assert.deepEqual(listPlanOf({ kind: 'ip', sim: 'own', direction: 'from_sim' }, { sim: 'pump', direction: 'to_sim' }), { kind: 'ip', limit: 50, sim: 'own', direction: 'from_sim' });
      throws(() => listPlanOf({ kind: 'ip' }, { status: 'delivered' }), 'Status', /queued, sent, received, failed/);
      throws(() => listPlanOf({ kind: 'wireless' }, { direction: 'up' }), 'Direction', /to_sim, from_sim/);
    });
  });
});
