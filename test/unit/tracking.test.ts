import assert from 'node:assert/strict';
import sinon from 'sinon';
import { ApiError } from '../../src/api/index.js';
import type { CommandStatus } from '../../src/api/types.js';
import { isTrackingDone } from '../../src/commands/index.js';
import { CallbackHub, DeliveryTracker, clientFetcher } from '../../src/tracking/index.js';
import type {
  DeliveryTrackerOptions,
  StatusEventLike,
  StatusUpdate,
  TrackedKind,
  TrackedResource,
  TrackingEnd,
  TrackOptions,
} from '../../src/tracking/index.js';

const IP_SID = 'HG0123456789abcdef0123456789abcdef';
const SMS_SID = 'HC0123456789abcdef0123456789abcdef';
const WIRELESS_SID = 'DC0123456789abcdef0123456789abcdef';
const STATUSES: CommandStatus[] = ['queued', 'sent', 'delivered', 'failed', 'received'];

function created(sid: string, status: CommandStatus = 'queued'): TrackedResource & Record<string, unknown> {
  return {
    sid,
    status,
    account_sid: 'AC0123456789abcdef0123456789abcdef',
    payload: 'hello',
    date_created: '2020-01-01T00:00:00Z',
    date_updated: '2020-01-01T00:00:00Z',
    url: `https://example.test/v1/Commands/${sid}`,
  };
}

function event(sid: string, status: CommandStatus, errorCode: number | null = null, errorMessage: string | null = null): StatusEventLike {
  return { sid, status, errorCode, errorMessage };
}

interface Recording {
  updates: StatusUpdate[];
  ends: [TrackingEnd, Error | undefined][];
  onUpdate(update: StatusUpdate): void;
  onEnd(reason: TrackingEnd, error?: Error): void;
}

function recording(): Recording {
  const r: Recording = {
    updates: [],
    ends: [],
    onUpdate: (update) => r.updates.push(update),
    onEnd: (reason, error) => r.ends.push([reason, error]),
  };
  return r;
}

function statusesOf(r: Recording): CommandStatus[] {
  return r.updates.map((u) => u.status);
}

type FetchStub = sinon.SinonStub<[TrackedKind, string], Promise<TrackedResource>>;

describe('tracking: isTrackingDone', () => {
  const expected: Record<string, CommandStatus[]> = {
    ip: ['sent', 'delivered', 'failed', 'received'],
    sms: ['delivered', 'failed', 'received'],
    'wireless receipt': ['delivered', 'failed', 'received'],
    'wireless unknown receipt': ['delivered', 'failed', 'received'],
    'wireless no receipt': ['sent', 'delivered', 'failed', 'received'],
  };
  const cases: [string, TrackedKind, boolean | undefined][] = [
    ['ip', 'ip', undefined],
    ['sms', 'sms', undefined],
    ['wireless receipt', 'wireless', true],
    ['wireless unknown receipt', 'wireless', undefined],
    ['wireless no receipt', 'wireless', false],
  ];
  for (const [name, kind, deliveryReceipt] of cases) {
    it(`stops ${name} at ${expected[name].join(', ')}`, () => {
      assert.deepEqual(
        STATUSES.filter((s) => isTrackingDone(kind, s, { deliveryReceipt })),
        expected[name],
      );
    });
  }

  it('an SMS Command ignores deliveryReceipt: Super SIM always waits for delivered', () => {
    assert.equal(isTrackingDone('sms', 'sent', { deliveryReceipt: false }), false);
  });
});

describe('tracking: DeliveryTracker', () => {
  let clock: sinon.SinonFakeTimers;
  let hub: CallbackHub;
  let fetch: FetchStub;
  let tracker: DeliveryTracker;

  function makeTracker(options: Partial<DeliveryTrackerOptions> = {}): DeliveryTracker {
    tracker = new DeliveryTracker({ fetch, hub, ...options });
    return tracker;
  }

  function track(r: Recording, options: Partial<TrackOptions> & Pick<TrackOptions, 'kind' | 'resource'>): boolean {
    return tracker.track({ mode: 'callback', timeoutMs: 60_000, onUpdate: r.onUpdate, onEnd: r.onEnd, ...options });
  }

  /** The fetch answers these statuses, one per call, on a copy of the SMS resource marked with the call's number. */
  function respond(...statuses: CommandStatus[]): void {
    statuses.forEach((status, i) => {
      const resource = { ...created(SMS_SID), status, date_updated: `poll ${i}` };
      fetch.onCall(i).resolves(resource);
    });
  }

  function assertNothingLeft(): void {
    assert.equal(tracker.size, 0, 'nothing tracked');
    assert.equal(hub.subscribers, 0, 'no subscription');
    assert.equal(clock.countTimers(), 0, 'no timer');
  }

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: Date.UTC(2024, 0, 1) });
    hub = new CallbackHub();
    fetch = sinon.stub<[TrackedKind, string], Promise<TrackedResource>>().rejects(new Error('fetch not expected'));
    makeTracker();
  });

  afterEach(() => {
    tracker.close();
    clock.restore();
  });

  describe('by callback', () => {
    it('ends an IP Command at sent, with the resource brought up to date', () => {
      const r = recording();
      assert.equal(track(r, { kind: 'ip', resource: created(IP_SID) }), true);
      assert.equal(tracker.size, 1);
      clock.tick(1500);
      assert.equal(hub.deliver(event(IP_SID, 'sent')), true);

      assert.deepEqual(r.updates, [
        {
          sid: IP_SID,
          status: 'sent',
          final: true,
          source: 'callback',
          resource: { ...created(IP_SID), status: 'sent', date_updated: new Date(Date.UTC(2024, 0, 1) + 1500).toISOString() },
        },
      ]);
      assert.deepEqual(r.ends, [['final', undefined]]);
      assertNothingLeft();
      assert.equal(fetch.callCount, 0);
    });

    it('ends an IP Command at failed, with the error code and message', () => {
      const r = recording();
      track(r, { kind: 'ip', resource: created(IP_SID) });
      hub.deliver(event(IP_SID, 'failed', 60001, 'The SIM is not attached'));
      assert.equal(r.updates.length, 1);
      const { resource, final } = r.updates[0];
      assert.equal(final, true);
      assert.equal(resource.status, 'failed');
      assert.equal(resource.error_code, 60001);
      assert.equal(resource.error_message, 'The SIM is not attached');
      assert.deepEqual(r.ends, [['final', undefined]]);
      assertNothingLeft();
    });

    it('follows an SMS Command queued → sent → delivered: sent, then delivered', () => {
      const r = recording();
      track(r, { kind: 'sms', resource: created(SMS_SID) });
      hub.deliver(event(SMS_SID, 'sent'));
      assert.deepEqual(r.updates.map((u) => [u.status, u.final]), [['sent', false]]);
      assert.deepEqual(r.ends, []);
      hub.deliver(event(SMS_SID, 'delivered'));
      assert.deepEqual(r.updates.map((u) => [u.status, u.final]), [['sent', false], ['delivered', true]]);
      assert.equal(r.updates[1].resource.status, 'delivered');
      assert.equal(r.updates[1].resource.payload, 'hello', 'the rest of the resource is kept');
      assert.deepEqual(r.ends, [['final', undefined]]);
      assertNothingLeft();
    });

    it('replays callbacks that came before track(): a fast device is not missed', () => {
      hub.deliver(event(SMS_SID, 'sent'));
      hub.deliver(event(SMS_SID, 'delivered'));
      const r = recording();
      assert.equal(track(r, { kind: 'sms', resource: created(SMS_SID) }), true);
      assert.deepEqual(statusesOf(r), ['sent', 'delivered']);
      assert.deepEqual(r.ends, [['final', undefined]]);
      assert.equal(hub.earlyEvents, 0);
      assertNothingLeft();
    });

    it('drops duplicates and regressions', () => {
      const r = recording();
      track(r, { kind: 'sms', resource: created(SMS_SID) });
      hub.deliver(event(SMS_SID, 'queued'));
      hub.deliver(event(SMS_SID, 'sent'));
      hub.deliver(event(SMS_SID, 'sent'));
      hub.deliver(event(SMS_SID, 'queued'));
      hub.deliver(event(SMS_SID, 'sent'));
      assert.deepEqual(statusesOf(r), ['sent']);
      assert.equal(tracker.size, 1);
    });

    it('reports a delivered that overtook its sent, and ignores the late sent', () => {
      const r = recording();
      track(r, { kind: 'sms', resource: created(SMS_SID) });
      hub.deliver(event(SMS_SID, 'delivered'));
      hub.deliver(event(SMS_SID, 'sent'));
      hub.deliver(event(SMS_SID, 'delivered'));
      assert.deepEqual(statusesOf(r), ['delivered']);
      assert.deepEqual(r.ends, [['final', undefined]]);
    });

    it('ignores a callback whose status is not a command status', () => {
      const r = recording();
      track(r, { kind: 'sms', resource: created(SMS_SID) });
      hub.deliver(event(SMS_SID, 'undelivered' as CommandStatus));
      assert.deepEqual(r.updates, []);
      assert.equal(tracker.size, 1);
    });

    it('ends a Wireless Command at sent when no delivery receipt was requested, else waits for delivered', () => {
      const without = recording();
      const withReceipt = recording();
      track(without, { kind: 'wireless', resource: created(WIRELESS_SID), deliveryReceipt: false });
      track(withReceipt, { kind: 'wireless', resource: created('DC1'), deliveryReceipt: true });
      hub.deliver(event(WIRELESS_SID, 'sent'));
      hub.deliver(event('DC1', 'sent'));
      assert.deepEqual(without.ends, [['final', undefined]]);
      assert.deepEqual(withReceipt.ends, []);
      assert.equal(withReceipt.updates[0].final, false);
    });

    it('times out after timeoutMs when the command never finishes', () => {
      const r = recording();
      track(r, { kind: 'sms', resource: created(SMS_SID), timeoutMs: 10_000 });
      hub.deliver(event(SMS_SID, 'sent'));
      clock.tick(9_999);
      assert.deepEqual(r.ends, []);
      clock.tick(1);
      assert.deepEqual(r.ends, [['timeout', undefined]]);
      assertNothingLeft();
      hub.deliver(event(SMS_SID, 'delivered'));
      assert.deepEqual(statusesOf(r), ['sent'], 'nothing after the end');
    });

    it('needs a hub', () => {
      makeTracker({ hub: undefined });
      assert.throws(() => track(recording(), { kind: 'ip', resource: created(IP_SID) }), TypeError);
      assert.equal(tracker.size, 0);
    });
  });

  describe('by polling', () => {
    it('polls with backoff up to maxMs, never past the timeout, then times out', async () => {
      const start = Date.now();
      const times: number[] = [];
      fetch.callsFake(async () => {
        times.push(Date.now() - start);
        return created(SMS_SID);
      });
      makeTracker({ poll: { initialMs: 1000, factor: 2, maxMs: 4000 } });
      const r = recording();
      track(r, { kind: 'sms', resource: created(SMS_SID), mode: 'poll', timeoutMs: 20_000 });
      await clock.tickAsync(20_000);
      assert.deepEqual(times, [1000, 3000, 7000, 11_000, 15_000, 19_000]);
      assert.deepEqual(fetch.firstCall.args, ['sms', SMS_SID]);
      assert.deepEqual(r.updates, []);
      assert.deepEqual(r.ends, [['timeout', undefined]]);
      assertNothingLeft();
      await clock.tickAsync(60_000);
      assert.equal(times.length, 6);
    });

    it('uses 1 s, ×2 and 30 s by default', async () => {
      const start = Date.now();
      const times: number[] = [];
      fetch.callsFake(async () => {
        times.push(Date.now() - start);
        return created(IP_SID);
      });
      const r = recording();
      track(r, { kind: 'ip', resource: created(IP_SID), mode: 'poll', timeoutMs: 100_000 });
      await clock.tickAsync(100_000);
      assert.deepEqual(times, [1000, 3000, 7000, 15_000, 31_000, 61_000, 91_000]);
      assert.deepEqual(r.ends, [['timeout', undefined]]);
    });

    it('reports each forward status once, the fetched resource as it is, and ends at the final one', async () => {
      respond('queued', 'sent', 'sent', 'queued', 'delivered');
      makeTracker({ poll: { initialMs: 100, factor: 1 } });
      const r = recording();
      track(r, { kind: 'sms', resource: created(SMS_SID), mode: 'poll' });
      await clock.tickAsync(1000);
      assert.equal(fetch.callCount, 5);
      assert.deepEqual(
        r.updates.map((u) => [u.status, u.final, u.source, u.resource.date_updated]),
        [
          ['sent', false, 'poll', 'poll 1'],
          ['delivered', true, 'poll', 'poll 4'],
        ],
      );
      assert.deepEqual(r.updates[1].resource, { ...created(SMS_SID), status: 'delivered', date_updated: 'poll 4' });
      assert.deepEqual(r.ends, [['final', undefined]]);
      assertNothingLeft();
    });

    it('keeps polling through fetch errors, with backoff, and counts only errors in a row', async () => {
      const start = Date.now();
      const times: number[] = [];
      const outcomes: (CommandStatus | Error)[] = [new Error('a'), new Error('b'), 'queued', new Error('c'), new Error('d'), 'sent'];
      fetch.callsFake(async () => {
        times.push(Date.now() - start);
        const outcome = outcomes[times.length - 1];
        if (outcome instanceof Error) throw outcome;
        return created(IP_SID, outcome);
      });
      makeTracker({ poll: { initialMs: 100, factor: 2, maxMs: 1000, maxConsecutiveErrors: 3 } });
      const r = recording();
      track(r, { kind: 'ip', resource: created(IP_SID), mode: 'poll' });
      await clock.tickAsync(10_000);
      assert.deepEqual(times, [100, 300, 700, 1500, 2500, 3500]);
      assert.deepEqual(statusesOf(r), ['sent']);
      assert.deepEqual(r.ends, [['final', undefined]]);
      assertNothingLeft();
    });

    it('gives up after maxConsecutiveErrors failed fetches in a row, with the last error', async () => {
      let n = 0;
      fetch.callsFake(async () => {
        throw new Error(`down ${++n}`);
      });
      makeTracker({ poll: { initialMs: 100, factor: 2, maxConsecutiveErrors: 3 } });
      const r = recording();
      track(r, { kind: 'sms', resource: created(SMS_SID), mode: 'poll' });
      await clock.tickAsync(699);
      assert.equal(fetch.callCount, 2);
      assert.equal(r.ends.length, 0);
      await clock.tickAsync(1);
      assert.equal(fetch.callCount, 3);
      assert.equal(r.ends.length, 1);
      const [reason, error] = r.ends[0];
      assert.equal(reason, 'error');
      assert.equal(error?.message, 'down 3');
      assertNothingLeft();
      await clock.tickAsync(60_000);
      assert.equal(fetch.callCount, 3);
    });

    it('gives up at once when the command does not exist or the client is closed', async () => {
      for (const error of [
        new ApiError('not found', { kind: 'api', status: 404, operation: 'fetchSmsCommand', method: 'GET', path: '/v1/SmsCommands/HC', effect: 'none', attempts: 1 }),
        new ApiError('closed', { kind: 'closed', operation: 'fetchSmsCommand', method: 'GET', path: '/v1/SmsCommands/HC', effect: 'none', attempts: 0 }),
      ]) {
        fetch.resetHistory();
        fetch.rejects(error);
        const r = recording();
        track(r, { kind: 'sms', resource: created(SMS_SID), mode: 'poll' });
        await clock.tickAsync(60_000);
        assert.equal(fetch.callCount, 1, error.kind);
        assert.deepEqual(r.ends, [['error', error]]);
        assertNothingLeft();
      }
    });

    it('takes a fetch that answers a plain resource instead of a promise', async () => {
      fetch.callsFake((() => created(IP_SID, 'sent')) as unknown as () => Promise<TrackedResource>);
      makeTracker({ poll: { initialMs: 100 } });
      const r = recording();
      track(r, { kind: 'ip', resource: created(IP_SID), mode: 'poll' });
      await clock.tickAsync(100);
      assert.deepEqual(statusesOf(r), ['sent']);
      assertNothingLeft();
    });

    it('treats a fetch that throws instead of rejecting as a failed fetch', async () => {
      fetch.callsFake(() => {
        throw new TypeError('not a promise');
      });
      makeTracker({ poll: { initialMs: 100, factor: 1, maxConsecutiveErrors: 2 } });
      const r = recording();
      track(r, { kind: 'ip', resource: created(IP_SID), mode: 'poll' });
      await clock.tickAsync(1000);
      assert.equal(fetch.callCount, 2);
      assert.equal(r.ends[0][0], 'error');
      assert.ok(r.ends[0][1] instanceof TypeError);
      assertNothingLeft();
    });

    it('ignores a fetch that answers after the timeout', async () => {
      let answer: ((resource: TrackedResource) => void) | undefined;
      fetch.callsFake(() => new Promise((resolve) => (answer = resolve)));
      makeTracker({ poll: { initialMs: 100 } });
      const r = recording();
      track(r, { kind: 'ip', resource: created(IP_SID), mode: 'poll', timeoutMs: 500 });
      await clock.tickAsync(500);
      assert.deepEqual(r.ends, [['timeout', undefined]]);
      answer?.(created(IP_SID, 'sent'));
      await clock.tickAsync(10_000);
      assert.deepEqual(r.updates, []);
      assert.equal(fetch.callCount, 1);
      assertNothingLeft();
    });

    it('fetches through the client operation of the command kind', async () => {
      const client = {
        fetchIpCommand: sinon.stub().resolves({ sid: 'ip' }),
        fetchSmsCommand: sinon.stub().resolves({ sid: 'sms' }),
        fetchWirelessCommand: sinon.stub().resolves({ sid: 'wireless' }),
      };
      const stop = new AbortController();
      const fetcher = clientFetcher(client, stop.signal);
      assert.deepEqual(await fetcher('ip', 'HG1'), { sid: 'ip' });
      assert.deepEqual(await fetcher('sms', 'HC1'), { sid: 'sms' });
      assert.deepEqual(await fetcher('wireless', 'DC1'), { sid: 'wireless' });
      const options = { signal: stop.signal };
      assert.deepEqual(
        [client.fetchIpCommand.firstCall.args, client.fetchSmsCommand.firstCall.args, client.fetchWirelessCommand.firstCall.args],
        [['HG1', options], ['HC1', options], ['DC1', options]],
        'each fetch carries the signal that gives up polls of a stopping node',
      );
    });
  });

  describe('limits and shutdown', () => {
    it('ends at once, taking no place, when the created resource is already done', () => {
      makeTracker({ maxTracked: 1 });
      track(recording(), { kind: 'sms', resource: created('HC1') });
      const r = recording();
      assert.equal(track(r, { kind: 'ip', resource: created(IP_SID, 'failed') }), true);
      assert.deepEqual(r.ends, [['final', undefined]]);
      assert.deepEqual(r.updates, []);
      assert.equal(tracker.size, 1);
    });

    it('refuses to track more than maxTracked commands, starting nothing', async () => {
      makeTracker({ maxTracked: 2 });
      const rs = [recording(), recording(), recording()];
      assert.equal(track(rs[0], { kind: 'sms', resource: created('HC1') }), true);
      assert.equal(track(rs[1], { kind: 'sms', resource: created('HC2'), mode: 'poll' }), true);
      const timers = clock.countTimers();
      assert.equal(track(rs[2], { kind: 'sms', resource: created('HC3'), mode: 'poll' }), false);
      assert.equal(tracker.size, 2);
      assert.equal(clock.countTimers(), timers);
      assert.equal(hub.subscribers, 1);
      assert.deepEqual(rs[2].ends, []);
      hub.deliver(event('HC1', 'delivered'));
      assert.equal(track(rs[2], { kind: 'sms', resource: created('HC3') }), true, 'a place is free again');
    });

    it('defaults to 1000 tracked commands', () => {
      for (let i = 0; i < 1000; i++) assert.equal(track(recording(), { kind: 'sms', resource: created(`HC${i}`) }), true);
      assert.equal(track(recording(), { kind: 'sms', resource: created('HCx') }), false);
    });

    it('close() ends every tracking with closed and leaves no timer or subscription', async () => {
      respond('queued', 'queued', 'queued');
      let answer: ((resource: TrackedResource) => void) | undefined;
      fetch.onCall(1).callsFake(() => new Promise((resolve) => (answer = resolve)));
      makeTracker({ poll: { initialMs: 100 } });
      const rs = [recording(), recording(), recording()];
      track(rs[0], { kind: 'sms', resource: created(SMS_SID) });
      track(rs[1], { kind: 'ip', resource: created(IP_SID), mode: 'poll' });
      track(rs[2], { kind: 'wireless', resource: created(WIRELESS_SID), mode: 'poll' });
      await clock.tickAsync(100);
      assert.equal(fetch.callCount, 2, 'one fetch still under way');
      assert.ok(clock.countTimers() > 0);
      tracker.close();
      for (const r of rs) assert.deepEqual(r.ends, [['closed', undefined]]);
      assertNothingLeft();
      answer?.(created(WIRELESS_SID, 'delivered'));
      hub.deliver(event(SMS_SID, 'delivered'));
      await clock.tickAsync(60_000);
      for (const r of rs) assert.deepEqual(r.updates, []);
      tracker.close();
      for (const r of rs) assert.equal(r.ends.length, 1, 'closed once');
    });

    it('ends with error when onUpdate throws, and nothing escapes into the timers', async () => {
      respond('sent');
      makeTracker({ poll: { initialMs: 100 } });
      const failure = new Error('flow broke');
      const ends: [TrackingEnd, Error | undefined][] = [];
      tracker.track({
        kind: 'sms',
        resource: created(SMS_SID),
        mode: 'poll',
        timeoutMs: 10_000,
        onUpdate: () => {
          throw failure;
        },
        onEnd: (reason, error) => {
          ends.push([reason, error]);
          throw new Error('onEnd broke too');
        },
      });
      await clock.tickAsync(10_000);
      assert.deepEqual(ends, [['error', failure]]);
      assertNothingLeft();
    });

    it('refuses what cannot be tracked', () => {
      const r = recording();
      assert.throws(() => track(r, { kind: 'ip', resource: { sid: '', status: 'queued' } }), TypeError);
      assert.throws(() => track(r, { kind: 'mms' as TrackedKind, resource: created(IP_SID) }), TypeError);
      assert.throws(() => track(r, { kind: 'ip', resource: { sid: IP_SID, status: 'bogus' as CommandStatus } }), TypeError);
      assert.throws(() => track(r, { kind: 'ip', resource: created(IP_SID), timeoutMs: 0 }), RangeError);
      assert.throws(() => track(r, { kind: 'ip', resource: created(IP_SID), timeoutMs: Infinity }), RangeError);
      assert.throws(() => track(r, { kind: 'ip', resource: created(IP_SID), mode: 'push' as 'poll' }), TypeError);
      assert.throws(() => makeTracker({ poll: { factor: 0.5 } }), RangeError);
      assert.throws(() => makeTracker({ poll: { initialMs: 0 } }), RangeError);
      assert.throws(() => makeTracker({ poll: { initialMs: 5000, maxMs: 1000 } }), RangeError);
      assert.throws(() => makeTracker({ maxTracked: 0 }), RangeError);
      assert.deepEqual(r.ends, []);
    });
  });
});
