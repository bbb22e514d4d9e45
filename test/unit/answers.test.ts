import assert from 'node:assert/strict';
import sinon from 'sinon';
import type { SinonFakeTimers } from 'sinon';
import { ApiError } from '../../src/api';
import type { CommandEvent } from '../../src/callbacks';
import type { CommandKind } from '../../src/shared';
import { AnswerDesk, AnswerDeskFullError, HANDED_MEMORY } from '../../src/reaching/answers';
import type { AnswerDeskOptions } from '../../src/reaching/answers';
import type { AnswerListCommands } from '../../src/reaching/answer-poll';
import type { AnswerWaitOptions, CommandResource } from '../../src/reaching';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const SIM_A = `HS${'a'.repeat(32)}`;
const SIM_B = `HS${'b'.repeat(32)}`;
let serial = 0;

function sidOf(kind: CommandKind): string {
  const prefix = kind === 'ip' ? 'HG' : kind === 'sms' ? 'HC' : 'DC';
  return `${prefix}${(++serial).toString(16).padStart(32, '0')}`;
}

function eventFrom(simSid: string, kind: CommandKind = 'ip', sid = sidOf(kind)): CommandEvent {
  return {
    sid,
    kind,
    direction: 'from_sim',
    status: 'received',
    sim: { sid: simSid, uniqueName: null, iccid: null },
    payloadType: 'text',
    payload: `answer ${sid}`,
    rawPayload: `answer ${sid}`,
    errorCode: null,
    errorMessage: null,
    accountSid: null,
    apiVersion: null,
    idempotencyToken: null,
    params: {},
  };
}

function resourceFrom(simSid: string, createdAt: number, sid = sidOf('ip')): CommandResource {
  return { sid, sim_sid: simSid, direction: 'from_sim', status: 'received', payload_type: 'text', payload: `polled ${sid}`, date_created: new Date(createdAt).toISOString() };
}

interface Waiting {
  answers: CommandEvent[];
  timeouts: number;
  stop: () => void;
}

/** A fake API: each SIM's from_sim commands, newest first, and every list call made. */
class FakeApi {
  readonly commands = new Map<string, CommandResource[]>();
  readonly calls: { kind: CommandKind; sim: string; at: number }[] = [];
  /** Resources each call read, by the desk's own iteration. */
  readonly reads: number[] = [];
  failures: unknown[] = [];

  add(simSid: string, resource: CommandResource): void {
    this.commands.set(simSid, [resource, ...(this.commands.get(simSid) ?? [])]);
  }

  readonly list: AnswerListCommands = (kind, filter) => {
    this.calls.push({ kind, sim: filter.sim, at: Date.now() });
    assert.equal(filter.direction, 'from_sim');
    const failure = this.failures.shift();
    const items = this.commands.get(filter.sim) ?? [];
    const reads = this.reads;
    const index = reads.push(0) - 1;
    return (async function* () {
      await Promise.resolve();
      if (failure !== undefined) throw failure;
      for (const item of items) {
        reads[index]++;
        yield item;
      }
    })();
  };
}

describe('answer desk', function () {
  let clock: SinonFakeTimers;
  let api: FakeApi;
  let desk: AnswerDesk;

  function makeDesk(options: Partial<AnswerDeskOptions> = {}): AnswerDesk {
    desk.close();
    desk = new AnswerDesk({ list: api.list, ...options });
    return desk;
  }

  function wait(options: Partial<AnswerWaitOptions> = {}): Waiting {
    const waiting: Waiting = { answers: [], timeouts: 0, stop: () => undefined };
    waiting.stop = desk.wait({
      kind: 'ip',
      simSid: SIM_A,
      createdAt: Date.now(),
      sentAt: Date.now(),
      timeoutMs: 60_000,
      source: 'callback',
      onAnswer: (answer) => waiting.answers.push(answer),
      onTimeout: () => waiting.timeouts++,
      ...options,
    });
    return waiting;
  }

  beforeEach(function () {
    clock = sinon.useFakeTimers({ now: T0 });
    api = new FakeApi();
    desk = new AnswerDesk({ list: api.list });
  });

  afterEach(function () {
    desk.close();
    clock.restore();
  });

  describe('answers by callback', function () {
    it('answers the commands waiting on one SIM in the order they were sent', function () {
      const first = wait({ sentAt: T0 - 20 });
      const second = wait({ sentAt: T0 - 10 });
      // Its create answered before the first one's: it still waits behind it.
      const third = wait({ sentAt: T0 - 30 });
      const [a, b, c] = [eventFrom(SIM_A), eventFrom(SIM_A), eventFrom(SIM_A)];
      assert.equal(desk.offer(a), true);
      assert.equal(desk.offer(b), true);
      assert.equal(desk.offer(c), true);
      assert.deepEqual([third.answers, first.answers, second.answers], [[a], [b], [c]]);
      assert.equal(desk.waiting, 0);
    });

    it('keeps SIMs and APIs apart', function () {
      const ipOnA = wait();
      const smsOnA = wait({ kind: 'sms' });
      const ipOnB = wait({ simSid: SIM_B });
      const sms = eventFrom(SIM_A, 'sms');
      const wireless = eventFrom(SIM_A, 'wireless');
      assert.equal(desk.offer(wireless), false);
      assert.equal(desk.offer(sms), true);
      assert.deepEqual(smsOnA.answers, [sms]);
      assert.deepEqual(ipOnA.answers, []);
      assert.deepEqual(ipOnB.answers, []);
      assert.equal(desk.waiting, 2);
    });

    it('refuses what is no answer: a command to the SIM, or one without a SIM', function () {
      const waiting = wait();
      assert.equal(desk.offer({ ...eventFrom(SIM_A), direction: 'to_sim' }), false);
      assert.equal(desk.offer({ ...eventFrom(SIM_A), sim: { sid: null, uniqueName: 'x', iccid: null } }), false);
      assert.deepEqual(waiting.answers, []);
      assert.equal(desk.early, 0);
    });

    it('gives an answer that came before its waiter to a waiter sent before it came', function () {
      const sentAt = Date.now();
      clock.tick(50);
      const early = eventFrom(SIM_A);
      assert.equal(desk.offer(early), false);
      assert.equal(desk.early, 1);
      clock.tick(100);
      // The create's answer comes back after the device's.
      const waiting = wait({ sentAt });
      assert.deepEqual(waiting.answers, [early]);
      assert.equal(desk.waiting, 0);
      assert.equal(desk.early, 0);
      const next = wait({ sentAt });
      assert.deepEqual(next.answers, [], 'an answer is handed once');
    });

    it('never gives a command an answer that came before it was sent', function () {
      const before = eventFrom(SIM_A);
      desk.offer(before);
      clock.tick(10);
      const waiting = wait({ sentAt: Date.now(), timeoutMs: 1000 });
      assert.deepEqual(waiting.answers, []);
      assert.equal(desk.early, 1, 'still kept, for a command sent before it came');
      clock.tick(1000);
      assert.equal(waiting.timeouts, 1);
    });

    it('keeps at most maxEarly answers nobody waits for, and each only for earlyTtlMs', function () {
      makeDesk({ maxEarly: 3, earlyTtlMs: 5000 });
      const events = [1, 2, 3, 4, 5].map(() => eventFrom(SIM_A));
      for (const event of events) {
        desk.offer(event);
        clock.tick(1);
      }
      assert.equal(desk.early, 3);
      // The two oldest went: the earliest a command sent at T0 can get is the third.
      assert.deepEqual(wait({ sentAt: T0 }).answers, [events[2]]);
      clock.tick(5000);
      assert.deepEqual(wait({ sentAt: T0 }).answers, [], 'expired');
      assert.equal(desk.early, 0);
    });

    it('remembers the answers it handed out, the latest HANDED_MEMORY of them', function () {
      const handed: CommandEvent[] = [];
      for (let i = 0; i <= HANDED_MEMORY; i++) {
        wait();
        const event = eventFrom(SIM_A);
        desk.offer(event);
        handed.push(event);
      }
      wait();
      wait();
      assert.equal(desk.offer(handed[HANDED_MEMORY]), false, 'the latest one is still known');
      assert.equal(desk.offer(handed[0]), true, 'the oldest one is forgotten');
    });

    it('stays bounded with a flood of answers nobody waits for', function () {
      makeDesk({ maxEarly: 100 });
      for (let i = 0; i < 10_000; i++) desk.offer(eventFrom(`HS${i.toString(16).padStart(32, '0')}`));
      assert.equal(desk.early, 100);
    });
  });

  describe('waiting', function () {
    it('times out once, and then that wait is gone', function () {
      const waiting = wait({ timeoutMs: 2000 });
      clock.tick(1999);
      assert.equal(waiting.timeouts, 0);
      clock.tick(1);
      assert.equal(waiting.timeouts, 1);
      assert.equal(desk.waiting, 0);
      assert.equal(desk.offer(eventFrom(SIM_A)), false);
      clock.tick(60_000);
      assert.deepEqual([waiting.answers, waiting.timeouts], [[], 1]);
      assert.equal(clock.countTimers(), 0);
    });

    it('calls nothing back once stopped', function () {
      const waiting = wait({ timeoutMs: 1000, source: 'poll' });
      waiting.stop();
      assert.equal(desk.waiting, 0);
      assert.equal(desk.offer(eventFrom(SIM_A)), false);
      clock.tick(5000);
      assert.deepEqual([waiting.answers, waiting.timeouts, api.calls.length], [[], 0, 0]);
      assert.equal(clock.countTimers(), 0);
    });

    it('carries on when a waiter’s callback throws', function () {
      const thrower = desk.wait({
        kind: 'ip',
        simSid: SIM_A,
        createdAt: T0,
        sentAt: T0,
        timeoutMs: 1000,
        source: 'callback',
        onAnswer: () => {
          throw new Error('flow broke');
        },
        onTimeout: () => {
          throw new Error('flow broke');
        },
      });
      assert.equal(typeof thrower, 'function');
      const other = wait({ timeoutMs: 500 });
      const second = wait({ sentAt: T0 + 1 });
      assert.doesNotThrow(() => desk.offer(eventFrom(SIM_A)));
      assert.equal(desk.waiting, 2);
      assert.doesNotThrow(() => clock.tick(500));
      assert.equal(other.timeouts, 1);
      const answer = eventFrom(SIM_A);
      assert.equal(desk.offer(answer), true);
      assert.deepEqual(second.answers, [answer]);
    });

    it('refuses more than maxWaiting waiters at once, starting nothing', function () {
      makeDesk({ maxWaiting: 2 });
      wait();
      wait();
      assert.throws(() => wait(), (error: unknown) => error instanceof AnswerDeskFullError && /2 commands are already waiting.*answer timeout/.test(error.message));
      assert.equal(desk.waiting, 2);
    });

    it('close() stops timers and polls; nothing is called back after it', async function () {
      const byCallback = wait({ timeoutMs: 1000 });
      const byPoll = wait({ timeoutMs: 1000, source: 'poll', simSid: SIM_B });
      desk.close();
      assert.equal(desk.waiting, 0);
      assert.equal(clock.countTimers(), 0);
      await clock.tickAsync(10_000);
      assert.equal(desk.offer(eventFrom(SIM_A)), false);
      assert.deepEqual([byCallback.timeouts, byPoll.timeouts, api.calls.length], [0, 0, 0]);
      const late = wait();
      assert.equal(desk.waiting, 0);
      await clock.tickAsync(100_000);
      assert.equal(late.timeouts, 0);
    });

    it('close() during a list drops what it finds', async function () {
      api.add(SIM_A, resourceFrom(SIM_A, T0 + 500));
      const waiting = wait({ source: 'poll' });
      await clock.tickAsync(999);
      clock.tick(1);
      // The list is on its way (it resolves after a microtask): close before it is read.
      desk.close();
      await clock.tickAsync(10);
      assert.equal(api.calls.length, 1);
      assert.deepEqual(waiting.answers, []);
    });
  });

  describe('answers by polling', function () {
    it('runs one poll per SIM, however many commands wait on it', async function () {
      const waiters = [1, 2, 3, 4, 5].map(() => wait({ source: 'poll' }));
      wait({ source: 'poll', simSid: SIM_B });
      wait({ source: 'poll', kind: 'sms' });
      assert.equal(desk.polls, 3);
      await clock.tickAsync(1000);
      assert.deepEqual(
        api.calls.map(({ kind, sim }) => `${kind} ${sim}`).sort(),
        [`ip ${SIM_A}`, `ip ${SIM_B}`, `sms ${SIM_A}`].sort(),
      );
      api.add(SIM_A, resourceFrom(SIM_A, T0 + 1500));
      api.add(SIM_A, resourceFrom(SIM_A, T0 + 1600));
      await clock.tickAsync(2000);
      assert.equal(api.calls.filter((call) => call.sim === SIM_A && call.kind === 'ip').length, 2);
      assert.deepEqual(
        waiters.map((w) => w.answers.length),
        [1, 1, 0, 0, 0],
      );
      assert.equal(waiters[0].answers[0].payload, `polled ${String(api.commands.get(SIM_A)?.[1].sid)}`, 'the older answer to the older command');
    });

    it('backs off, and starts again from initialMs when a command joins', async function () {
      makeDesk({ poll: { initialMs: 1000, factor: 2, maxMs: 4000 } });
      wait({ source: 'poll' });
      await clock.tickAsync(11_000);
      assert.deepEqual(
        api.calls.map((call) => call.at - T0),
        [1000, 3000, 7000, 11_000],
      );
      wait({ source: 'poll' });
      await clock.tickAsync(1000);
      assert.equal(api.calls.at(-1)?.at, T0 + 12_000, 'a new waiter does not wait out the long delay');
      await clock.tickAsync(2000);
      assert.equal(api.calls.at(-1)?.at, T0 + 14_000);
    });

    it('stops polling a SIM when no command waits on it by poll any more', async function () {
      const waiting = wait({ source: 'poll', timeoutMs: 2500 });
      wait({ source: 'callback', timeoutMs: 60_000 });
      await clock.tickAsync(2500);
      assert.equal(waiting.timeouts, 1);
      assert.equal(desk.polls, 0);
      const calls = api.calls.length;
      await clock.tickAsync(30_000);
      assert.equal(api.calls.length, calls);
    });

    it('gives no command an answer created before it, and stops reading there', async function () {
      for (let i = 0; i < 10; i++) api.add(SIM_A, resourceFrom(SIM_A, T0 - 10_000 + i));
      const created = Date.now();
      const waiting = wait({ source: 'poll', createdAt: created });
      await clock.tickAsync(1000);
      assert.equal(waiting.answers.length, 0);
      assert.deepEqual(api.reads, [1], 'the first command older than the oldest waiter ends the read');
      const answer = resourceFrom(SIM_A, created);
      api.add(SIM_A, answer);
      await clock.tickAsync(2000);
      assert.deepEqual(
        waiting.answers.map((a) => a.sid),
        [answer.sid],
        'created in the same instant as the command counts',
      );
    });

    it('reads no further than the first page', async function () {
      for (let i = 0; i < 50; i++) api.add(SIM_A, { ...resourceFrom(SIM_A, T0 + 1), direction: 'to_sim' });
      wait({ source: 'poll', createdAt: T0 });
      await clock.tickAsync(1000);
      assert.deepEqual(api.reads, [20]);
    });

    it('hands a polled command once, to the first waiter it can answer', async function () {
      const first = wait({ source: 'poll', createdAt: T0 + 100, sentAt: T0 });
      const second = wait({ source: 'poll', createdAt: T0 + 200, sentAt: T0 + 1 });
      // Between the two creates: it can answer only the first.
      const x = resourceFrom(SIM_A, T0 + 150);
      api.add(SIM_A, x);
      await clock.tickAsync(1000);
      assert.deepEqual(first.answers.map((a) => a.sid), [x.sid]);
      await clock.tickAsync(2000);
      assert.equal(second.answers.length, 0, 'x still in the list is not handed again');
      const y = resourceFrom(SIM_A, T0 + 2500);
      api.add(SIM_A, y);
      await clock.tickAsync(4000);
      assert.deepEqual(second.answers.map((a) => a.sid), [y.sid]);
    });

    it('gives a command an answer once, whether the poll or a callback brought it first', async function () {
      const first = wait({ source: 'poll' });
      const second = wait({ source: 'poll' });
      const polled = resourceFrom(SIM_A, T0 + 10);
      api.add(SIM_A, polled);
      await clock.tickAsync(1000);
      assert.equal(first.answers.length, 1);
      // command-in hears of the same command later: no second answer, and not kept for later.
      assert.equal(desk.offer(eventFrom(SIM_A, 'ip', polled.sid as string)), false);
      assert.equal(desk.early, 0);
      const called = eventFrom(SIM_A);
      assert.equal(desk.offer(called), true);
      assert.deepEqual(second.answers, [called]);
      const third = wait({ source: 'poll', createdAt: T0 });
      api.add(SIM_A, resourceFrom(SIM_A, T0 + 20, called.sid));
      await clock.tickAsync(1000);
      assert.deepEqual(third.answers, []);
    });

    it('turns a polled resource into the event command-in would emit', async function () {
      const waiting = wait({ source: 'poll' });
      api.add(SIM_A, { ...resourceFrom(SIM_A, T0 + 1), payload_type: 'binary', payload: Buffer.from([0, 255]).toString('base64') });
      await clock.tickAsync(1000);
      const [answer] = waiting.answers;
      assert.deepEqual(answer.payload, Buffer.from([0, 255]));
      assert.equal(answer.sim.sid, SIM_A);
      assert.equal(answer.direction, 'from_sim');
    });

    it('keeps polling through failures with backoff, and reports a run of them once', async function () {
      const reports: [Error, string][] = [];
      makeDesk({ poll: { initialMs: 1000, factor: 2, maxMs: 2000, maxConsecutiveErrors: 3 }, onPollError: (error, simSid) => reports.push([error, simSid]) });
      api.failures = [new Error('reset'), new Error('reset'), new Error('reset'), new Error('reset')];
      const waiting = wait({ source: 'poll' });
      await clock.tickAsync(1000 + 2000 + 2000);
      assert.equal(reports.length, 1);
      assert.deepEqual([reports[0][0].message, reports[0][1]], ['reset', SIM_A]);
      await clock.tickAsync(2000);
      assert.equal(reports.length, 1, 'reported once, not once a failure');
      const answer = resourceFrom(SIM_A, T0 + 1);
      api.add(SIM_A, answer);
      await clock.tickAsync(2000);
      assert.deepEqual(waiting.answers.map((a) => a.sid), [answer.sid]);
      assert.deepEqual(
        api.calls.map((call) => call.at - T0),
        [1000, 3000, 5000, 7000, 9000],
      );
    });

    it('stops polling a SIM the API refuses (401, 403, 404), reports it once, and lets the waits run to their timeouts', async function () {
      for (const status of [401, 403, 404]) {
        const reports: Error[] = [];
        api = new FakeApi();
        makeDesk({ onPollError: (error) => reports.push(error) });
        api.failures = [new ApiError(`refused ${status}`, { kind: status === 404 ? 'api' : 'auth', status, operation: 'listIpCommands', method: 'GET', path: '/v1/IpCommands', effect: 'none', attempts: 1 })];
        const waiting = wait({ source: 'poll', timeoutMs: 30_000 });
        wait({ source: 'poll', timeoutMs: 30_000 });
        await clock.tickAsync(10_000);
        assert.equal(api.calls.length, 1, `${status}: no second list`);
        assert.deepEqual(reports.map((r) => r.message), [`refused ${status}`]);
        assert.equal(desk.polls, 0);
        // An answer can still come by callback.
        const called = eventFrom(SIM_A);
        assert.equal(desk.offer(called), true);
        assert.deepEqual(waiting.answers, [called]);
        await clock.tickAsync(20_000);
        assert.equal(desk.waiting, 0);
      }
    });

    it('survives a reporter that throws', async function () {
      makeDesk({
        poll: { maxConsecutiveErrors: 1 },
        onPollError: () => {
          throw new Error('log broke');
        },
      });
      api.failures = [new Error('reset')];
      const waiting = wait({ source: 'poll' });
      api.add(SIM_A, resourceFrom(SIM_A, T0 + 1));
      await clock.tickAsync(1000 + 2000);
      assert.equal(waiting.answers.length, 1);
    });
  });
});
