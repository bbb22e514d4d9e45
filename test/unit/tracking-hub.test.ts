import assert from 'node:assert/strict';
import type { CommandStatus } from '../../src/api/types.js';
import { CallbackHub, DeliveryTracker } from '../../src/tracking/index.js';
import type { StatusEventLike } from '../../src/tracking/index.js';

const SID_A = 'HG0000000000000000000000000000000a';
const SID_B = 'HG0000000000000000000000000000000b';

function event(sid: string, status: CommandStatus, extra: Partial<StatusEventLike> = {}): StatusEventLike {
  return { sid, status, errorCode: null, errorMessage: null, ...extra };
}

describe('tracking: CallbackHub', () => {
  let time: number;
  const now = (): number => time;

  beforeEach(() => {
    time = 1_000_000;
  });

  it('hands an event to the subscriber of its SID, and says so', () => {
    const hub = new CallbackHub({ now });
    const seen: StatusEventLike[] = [];
    const other: StatusEventLike[] = [];
    hub.subscribe(SID_A, (e) => seen.push(e));
    hub.subscribe(SID_B, (e) => other.push(e));
    const sent = event(SID_A, 'sent');
    assert.equal(hub.deliver(sent), true);
    assert.deepEqual(seen, [sent]);
    assert.deepEqual(other, []);
    assert.equal(hub.earlyEvents, 0);
  });

  it('keeps events nobody tracks yet and replays them, in arrival order, to the first subscriber of their SID', () => {
    const hub = new CallbackHub({ now });
    const first = event(SID_A, 'sent');
    const second = event(SID_A, 'delivered');
    assert.equal(hub.deliver(first), false);
    assert.equal(hub.deliver(event(SID_B, 'sent')), false);
    assert.equal(hub.deliver(second), false);
    assert.equal(hub.earlyEvents, 3);

    const seen: StatusEventLike[] = [];
    hub.subscribe(SID_A, (e) => seen.push(e));
    assert.deepEqual(seen, [first, second], 'replayed before subscribe returned');
    assert.equal(hub.earlyEvents, 1, "SID_B's event stays");

    const again: StatusEventLike[] = [];
    hub.subscribe(SID_A, (e) => again.push(e));
    assert.deepEqual(again, [], 'an event is replayed once');
  });

  it('forgets early events after earlyEventTtlMs', () => {
    const hub = new CallbackHub({ now, earlyEventTtlMs: 1000 });
    hub.deliver(event(SID_A, 'sent'));
    time += 500;
    hub.deliver(event(SID_B, 'sent'));
    time += 500;
    assert.equal(hub.earlyEvents, 2, 'exactly the ttl old is still kept');
    time += 1;
    assert.equal(hub.earlyEvents, 1);
    const seen: StatusEventLike[] = [];
    hub.subscribe(SID_A, (e) => seen.push(e));
    assert.equal(seen.length, 0);
    hub.subscribe(SID_B, (e) => seen.push(e));
    assert.deepEqual(seen, [event(SID_B, 'sent')]);
    assert.equal(hub.earlyEvents, 0);
  });

  it('keeps at most maxEarlyEvents, dropping the oldest', () => {
    const hub = new CallbackHub({ now, maxEarlyEvents: 3 });
    hub.deliver(event(SID_A, 'queued'));
    hub.deliver(event(SID_B, 'sent'));
    hub.deliver(event(SID_A, 'sent'));
    hub.deliver(event(SID_A, 'delivered'));
    assert.equal(hub.earlyEvents, 3);
    const a: CommandStatus[] = [];
    const b: CommandStatus[] = [];
    hub.subscribe(SID_A, (e) => a.push(e.status));
    hub.subscribe(SID_B, (e) => b.push(e.status));
    assert.deepEqual(a, ['sent', 'delivered']);
    assert.deepEqual(b, ['sent']);
  });

  it('keeps nothing with maxEarlyEvents 0', () => {
    const hub = new CallbackHub({ now, maxEarlyEvents: 0 });
    assert.equal(hub.deliver(event(SID_A, 'sent')), false);
    assert.equal(hub.earlyEvents, 0);
  });

  it('stays bounded and in order under a long stream of unclaimed events', () => {
    const hub = new CallbackHub({ now, maxEarlyEvents: 100, earlyEventTtlMs: 50 });
    for (let i = 0; i < 10_000; i++) {
      time += 1;
      hub.deliver(event(`HG${String(i % 300).padStart(32, '0')}`, 'sent', { errorCode: i }));
      if (i % 7 === 0) hub.subscribe(`HG${String((i * 13) % 300).padStart(32, '0')}`, () => undefined)();
      assert.ok(hub.earlyEvents <= 51, `${hub.earlyEvents} kept`); // 50 ms back, both ends included
    }
    const seen: number[] = [];
    hub.subscribe(`HG${String(9_999 % 300).padStart(32, '0')}`, (e) => seen.push(e.errorCode ?? -1));
    assert.deepEqual(seen, [9_999], 'the only one of that SID within the last 50 ms');
  });

  it('unsubscribe stops delivery, counts, and is harmless twice or after clear()', () => {
    const hub = new CallbackHub({ now });
    const seen: CommandStatus[] = [];
    const offA = hub.subscribe(SID_A, (e) => seen.push(e.status));
    const offA2 = hub.subscribe(SID_A, (e) => seen.push(e.status));
    assert.equal(hub.subscribers, 2);
    hub.deliver(event(SID_A, 'sent'));
    assert.deepEqual(seen, ['sent', 'sent']);
    offA();
    offA();
    assert.equal(hub.subscribers, 1);
    hub.deliver(event(SID_A, 'delivered'));
    assert.deepEqual(seen, ['sent', 'sent', 'delivered']);
    offA2();
    assert.equal(hub.subscribers, 0);
    assert.equal(hub.deliver(event(SID_A, 'failed')), false);

    const offB = hub.subscribe(SID_B, () => undefined);
    hub.deliver(event(SID_A, 'sent'));
    hub.clear();
    assert.equal(hub.subscribers, 0);
    assert.equal(hub.earlyEvents, 0);
    offB();
    assert.equal(hub.subscribers, 0);
  });

  it('lets a listener unsubscribe while it is being called without skipping the others', () => {
    const hub = new CallbackHub({ now });
    const seen: string[] = [];
    const off = hub.subscribe(SID_A, () => {
      seen.push('first');
      off();
    });
    hub.subscribe(SID_A, () => seen.push('second'));
    hub.deliver(event(SID_A, 'sent'));
    hub.deliver(event(SID_A, 'delivered'));
    assert.deepEqual(seen, ['first', 'second', 'second']);
  });

  it('carries a richer event type through, and such a hub serves a DeliveryTracker', () => {
    interface CommandEvent extends StatusEventLike {
      kind: 'ip';
      accountSid: string;
    }
    const hub = new CallbackHub<CommandEvent>({ now });
    const rich: CommandEvent = { ...event(SID_A, 'sent'), kind: 'ip', accountSid: 'AC1' };
    let seen: CommandEvent | undefined;
    hub.subscribe(SID_A, (e) => (seen = e));
    hub.deliver(rich);
    assert.equal(seen, rich);
    const tracker = new DeliveryTracker({ hub, fetch: () => Promise.reject(new Error('unused')) });
    assert.equal(tracker.size, 0);
  });

  it('refuses nonsense limits', () => {
    assert.throws(() => new CallbackHub({ earlyEventTtlMs: -1 }), RangeError);
    assert.throws(() => new CallbackHub({ maxEarlyEvents: Number.NaN }), RangeError);
  });
});
