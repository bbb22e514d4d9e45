import assert from 'node:assert/strict';
import sinon from 'sinon';
import { ApiError } from '../../src/api';
import type { CommandEvent } from '../../src/callbacks';
import { MemoryPendingStore, PendingCommands, ReachError, ReachRefusal } from '../../src/reaching';
import type { AnswerWaitOptions, CommandResource, PendingAttempt, PendingCommandsOptions, PendingJob } from '../../src/reaching';
import type { StatusUpdate, TrackOptions } from '../../src/tracking';

const SIM_SID = 'HS0123456789abcdef0123456789abcdef';
let sidCounter = 0;
function newSid(): string {
  return `HG${(sidCounter++).toString(16).padStart(32, '0')}`;
}

function resource(sid: string, status = 'queued', extra: Record<string, unknown> = {}): CommandResource {
  return { sid, status, sim_sid: SIM_SID, date_created: new Date().toISOString(), payload: 'ping', device_port: 6655, ...extra };
}

function apiError(effect: 'none' | 'unknown', status = 500): ApiError {
  return new ApiError(`HTTP ${status}`, { kind: 'api', operation: 'createIpCommand', method: 'POST', path: '/v1/IpCommands', effect, status, attempts: 1 });
}

function answer(sid = 'HG' + 'f'.repeat(32)): CommandEvent {
  return {
    sid,
    kind: 'ip',
    direction: 'from_sim',
    status: 'received',
    sim: { sid: SIM_SID, uniqueName: 'thermostat', iccid: null },
    payloadType: 'text',
    payload: 'pong',
    rawPayload: 'pong',
    errorCode: null,
    errorMessage: null,
    accountSid: null,
    apiVersion: null,
    idempotencyToken: null,
    params: {},
  };
}

/** Drives the follow and the answer by hand: the test says what the API and the device do. */
class Harness {
  readonly store = new MemoryPendingStore<PendingAttempt>();
  readonly tracks: TrackOptions[] = [];
  readonly waits: AnswerWaitOptions[] = [];
  readonly stopped: AnswerWaitOptions[] = [];
  readonly created: Record<string, unknown>[] = [];
  readonly statuses: { attempt: number; status: string }[] = [];
  readonly announced: CommandResource[] = [];
  readonly answered: { answer: CommandEvent; request: CommandResource; job: PendingJob }[] = [];
  readonly failures: ReachError[] = [];
  /** What each create does, in order; the default answers a queued command. */
  readonly createPlan: (() => Promise<CommandResource>)[] = [];
  reconcileResult: CommandResource | undefined | Error = undefined;
  readonly engine: PendingCommands;

  constructor(overrides: Partial<PendingCommandsOptions> = {}) {
    this.engine = new PendingCommands({
      store: this.store,
      create: async (_kind, request) => {
        this.created.push(request);
        const step = this.createPlan.shift();
        return { resource: step ? await step() : resource(newSid()), mode: 'poll' };
      },
      reconcile: async () => {
        if (this.reconcileResult instanceof Error) throw this.reconcileResult;
        return this.reconcileResult;
      },
      fetch: async (_kind, sid) => resource(sid, 'sent'),
      tracker: {
        track: (options: TrackOptions) => {
          this.tracks.push(options);
          return true;
        },
      },
      answers: {
        wait: (options) => {
          this.waits.push(options);
          return () => this.stopped.push(options);
        },
        offer: () => false,
        waiting: 0,
      },
      answerSource: () => 'callback',
      backoffMs: () => 30_000,
      describe: (code, values) => `${code} ${JSON.stringify(values)}`,
      events: {
        announced: (_job, r) => this.announced.push(r),
        status: (job, update) => this.statuses.push({ attempt: job.record.attempt, status: update.status }),
        answered: (job, a, request) => this.answered.push({ answer: a, request, job }),
        failed: (_job, error) => this.failures.push(error),
        changed: () => undefined,
        storeFailed: () => undefined,
        lookupFailed: () => undefined,
      },
      ...overrides,
    });
  }

  /** The latest follow reports a status, as a callback or a poll would. */
  report(status: 'sent' | 'delivered' | 'failed', final = status !== 'sent' || this.lastTrack.kind === 'ip', errorCode?: number): void {
    const track = this.lastTrack;
    const r: Record<string, unknown> = { ...track.resource, status };
    if (errorCode !== undefined) r.error_code = errorCode;
    const update: StatusUpdate = { sid: track.resource.sid, status, resource: r, final, source: 'poll' };
    track.onUpdate(update);
    if (final) track.onEnd('final');
  }

  get lastTrack(): TrackOptions {
    const track = this.tracks.at(-1);
    assert.ok(track, 'nothing is followed');
    return track;
  }
}

function input(overrides: Partial<Parameters<PendingCommands['send']>[0]> = {}): Parameters<PendingCommands['send']>[0] {
  return {
    kind: 'ip',
    sim: 'thermostat',
    request: { sim: 'thermostat', payload: 'ping', devicePort: 6655, payloadType: 'text' },
    message: { _msgid: 'm1', topic: 'thermostat', payload: 'ping', extra: 42 },
    retryForMs: 0,
    reportStatus: true,
    followMs: 300_000,
    ...overrides,
  };
}

/** Lets the promise chains started by timers and events run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('PendingCommands: keep trying', function () {
  let clock: sinon.SinonFakeTimers;
  beforeEach(function () {
    clock = sinon.useFakeTimers({ now: Date.parse('2026-12-02T08:00:00Z'), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(function () {
    clock.restore();
  });

  it('records the message before creating it, and again with the SID before output 1', async function () {
    const h = new Harness();
    h.createPlan.push(async () => {
      const [stored] = [...h.store.values()];
      assert.equal(stored?.stage, 'creating', 'the record is written before the create goes out');
      return resource(newSid());
    });
    const { resource: created, follow } = await h.engine.send(input({ retryForMs: 600_000 }));
    const [stored] = [...h.store.values()];
    assert.equal(stored.stage, 'following');
    assert.equal(stored.sid, created.sid);
    assert.equal(stored.announced, true);
    assert.deepEqual(JSON.parse(stored.message).extra, 42);
    follow();
    assert.equal(h.tracks.length, 1);
  });

  it('a SIM detached for two attempts: 2 failed + 1 sent, exactly 3 creates, attempts 1-3 on output 2, no error', async function () {
    const h = new Harness();
    const { follow } = await h.engine.send(input({ retryForMs: 600_000 }));
    follow();
    h.report('failed', true, 32001);
    assert.equal(h.engine.counts.retrying, 1);
    await clock.tickAsync(30_000);
    assert.equal(h.created.length, 2);
    h.report('failed', true, 32001);
    await clock.tickAsync(30_000);
    assert.equal(h.created.length, 3);
    h.report('sent');
    await settle();
    assert.deepEqual(
      h.statuses.map((s) => `${s.attempt}:${s.status}`),
      ['1:failed', '2:failed', '3:sent'],
    );
    assert.equal(h.failures.length, 0);
    assert.equal(h.store.size, 0, 'nothing is left pending');
    assert.equal(h.engine.size, 0);
    assert.equal(h.announced.length, 0, 'output 1 carried the first command only, from send()');
    await clock.tickAsync(3_600_000);
    assert.equal(h.created.length, 3);
  });

  it('a SIM never attached: a "gave up" error at the deadline naming attempts and the last code', async function () {
    const h = new Harness();
    const { follow } = await h.engine.send(input({ retryForMs: 100_000 }));
    follow();
    for (let i = 0; i < 10 && h.failures.length === 0; i++) {
      h.report('failed', true, 32001);
      await clock.tickAsync(30_000);
    }
    assert.equal(h.failures.length, 1);
    const [error] = h.failures;
    assert.ok(error instanceof ReachError);
    assert.equal(error.code, 'gave-up');
    // attempts at 0, 30, 60, 90 and the last at the deadline (100 s)
    assert.equal(error.values.attempts, 5);
    assert.equal(error.values.code, 32001);
    assert.equal(error.values.sim, 'thermostat');
    assert.equal(h.created.length, 5);
    assert.equal(Date.now() - Date.parse('2026-12-02T08:00:00Z') >= 100_000, true);
    assert.equal(h.store.size, 0);
  });

  it('a 500 on a later attempt\'s create is reported and never repeated', async function () {
    const h = new Harness();
    const { follow } = await h.engine.send(input({ retryForMs: 600_000 }));
    follow();
    h.createPlan.push(() => Promise.reject(apiError('unknown')));
    h.report('failed', true, 32001);
    await clock.tickAsync(30_000);
    await settle();
    assert.equal(h.created.length, 2);
    assert.equal(h.failures.length, 1);
    assert.equal(h.failures[0].code, 'attempt-unknown');
    await clock.tickAsync(3_600_000);
    assert.equal(h.created.length, 2, 'an attempt whose outcome is unknown is never sent again');
    assert.equal(h.store.size, 0);
  });

  it('a refused later create (HTTP 400) ends it with "not created"', async function () {
    const h = new Harness();
    const { follow } = await h.engine.send(input({ retryForMs: 600_000 }));
    follow();
    h.createPlan.push(() => Promise.reject(apiError('none', 400)));
    h.report('failed', true);
    await clock.tickAsync(30_000);
    await settle();
    assert.equal(h.failures[0]?.code, 'attempt-not-created');
  });

  it('tracking that runs out is an unknown outcome: reported, not repeated', async function () {
    const h = new Harness();
    const { follow } = await h.engine.send(input({ retryForMs: 600_000 }));
    follow();
    h.lastTrack.onEnd('timeout');
    await clock.tickAsync(3_600_000);
    assert.equal(h.created.length, 1);
    assert.equal(h.failures[0]?.code, 'attempt-unknown');
  });

  it('refuses past the bound with a clear error and sends nothing', async function () {
    const h = new Harness({ maxPending: 2 });
    for (let i = 0; i < 2; i++) (await h.engine.send(input({ retryForMs: 600_000 }))).follow();
    await assert.rejects(h.engine.send(input({ retryForMs: 600_000 })), (error: unknown) => error instanceof ReachRefusal && error.code === 'too-many-pending');
    assert.equal(h.created.length, 2);
  });

  it('a first create that fails leaves nothing pending and rejects with the client\'s error', async function () {
    const h = new Harness();
    h.createPlan.push(() => Promise.reject(apiError('unknown')));
    await assert.rejects(h.engine.send(input({ retryForMs: 600_000 })), ApiError);
    assert.equal(h.store.size, 0);
    assert.equal(h.engine.size, 0);
  });

  it('with an answer awaited, a sent attempt then waits for the answer (output 3)', async function () {
    const h = new Harness();
    const { follow } = await h.engine.send(input({ retryForMs: 600_000, answerTimeoutMs: 60_000 }));
    follow();
    h.report('failed', true);
    assert.equal(h.waits.length, 0, 'a failed attempt is not waited on');
    await clock.tickAsync(30_000);
    h.report('sent');
    assert.equal(h.waits.length, 1);
    assert.equal(h.waits[0].simSid, SIM_SID);
    assert.equal(h.engine.counts.waiting, 1);
    h.waits[0].onAnswer(answer());
    await settle();
    assert.equal(h.answered.length, 1);
    assert.equal(h.answered[0].request.sid, h.lastTrack.resource.sid);
    assert.equal(h.answered[0].job.message().extra, 42);
    assert.equal(h.store.size, 0);
    assert.equal(h.engine.counts.waiting, 0);
  });
});

describe('PendingCommands: answers without keeping trying', function () {
  let clock: sinon.SinonFakeTimers;
  beforeEach(function () {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(function () {
    clock.restore();
  });

  it('waits from the start, matched by the created command\'s SIM SID and time; stores nothing', async function () {
    const h = new Harness();
    const { follow } = await h.engine.send(input({ answerTimeoutMs: 60_000 }));
    follow();
    assert.equal(h.store.size, 0);
    assert.equal(h.waits.length, 1);
    assert.equal(h.waits[0].source, 'callback');
    assert.equal(h.waits[0].timeoutMs, 60_000);
    h.waits[0].onAnswer(answer());
    await settle();
    assert.equal(h.answered.length, 1);
    // Output 2 still gets the statuses that come after the answer.
    h.report('sent');
    assert.deepEqual(h.statuses.map((s) => s.status), ['sent']);
    assert.equal(h.failures.length, 0);
  });

  it('no answer in time: a "no answer" error once', async function () {
    const h = new Harness();
    (await h.engine.send(input({ answerTimeoutMs: 5_000 }))).follow();
    h.report('sent');
    h.waits[0].onTimeout();
    assert.equal(h.failures.length, 1);
    assert.equal(h.failures[0].code, 'no-answer');
    assert.equal(h.failures[0].values.seconds, 5);
    assert.equal(h.engine.size, 0);
  });

  it('a failed command ends the wait at once: "no answer will come"', async function () {
    const h = new Harness();
    (await h.engine.send(input({ answerTimeoutMs: 60_000 }))).follow();
    h.report('failed', true, 32001);
    assert.equal(h.failures[0]?.code, 'no-answer-failed');
    assert.equal(h.stopped.length, 1, 'the wait was withdrawn');
    assert.equal(h.created.length, 1);
  });

  it('bounds the commands waiting per node', async function () {
    const h = new Harness({ maxWaiting: 1 });
    (await h.engine.send(input({ answerTimeoutMs: 60_000 }))).follow();
    await assert.rejects(h.engine.send(input({ answerTimeoutMs: 60_000 })), (error: unknown) => error instanceof ReachRefusal && error.code === 'too-many-waiting');
    assert.equal(h.created.length, 1);
  });
});

describe('PendingCommands: resuming after a restart', function () {
  let clock: sinon.SinonFakeTimers;
  beforeEach(function () {
    clock = sinon.useFakeTimers({ now: Date.parse('2026-12-02T08:00:00Z'), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(function () {
    clock.restore();
  });

  function record(overrides: Partial<PendingAttempt>): PendingAttempt {
    const now = Date.now();
    return {
      id: `r${sidCounter++}`,
      kind: 'ip',
      sim: 'thermostat',
      request: { sim: 'thermostat', payload: 'ping', devicePort: 6655 },
      message: JSON.stringify({ _msgid: 'm1', payload: 'ping', extra: 'kept', buf: Buffer.from('ab') }),
      attempt: 1,
      stage: 'creating',
      startedAt: now - 10_000,
      deadline: now + 600_000,
      attemptStartedAt: now - 10_000,
      earlierSids: [],
      announced: false,
      followMs: 300_000,
      ...overrides,
    };
  }

  it('an attempt that was being created is looked up first and adopted: no second create, output 1 once', async function () {
    const h = new Harness();
    const found = resource(newSid());
    h.reconcileResult = found;
    h.engine.resume([record({})]);
    await settle();
    assert.equal(h.created.length, 0);
    assert.deepEqual(h.announced.map((r) => r.sid), [found.sid]);
    assert.equal(h.lastTrack.mode, 'poll');
    assert.equal(h.lastTrack.resource.sid, found.sid);
  });

  it('when the lookup finds nothing it is created, once', async function () {
    const h = new Harness();
    h.reconcileResult = undefined;
    h.engine.resume([record({ announced: true, attempt: 2, earlierSids: ['HG' + '1'.repeat(32)] })]);
    await settle();
    assert.equal(h.created.length, 1);
    assert.equal(h.announced.length, 0, 'output 1 went out before the restart');
  });

  it('a failed lookup is tried again later, never a blind create', async function () {
    const h = new Harness();
    h.reconcileResult = new Error('network down');
    h.engine.resume([record({})]);
    await settle();
    assert.equal(h.created.length, 0);
    h.reconcileResult = undefined;
    await clock.tickAsync(30_000);
    await settle();
    assert.equal(h.created.length, 1);
  });

  it('resumes each stage: following polls, backoff waits its time, answer waits by polling', async function () {
    const h = new Harness();
    const now = Date.now();
    h.engine.resume([
      record({ stage: 'following', sid: newSid(), simSid: SIM_SID, status: 'queued', announced: true }),
      record({ stage: 'backoff', nextAttemptAt: now + 5_000, announced: true, sid: newSid() }),
      record({ stage: 'answer', sid: newSid(), simSid: SIM_SID, answerTimeoutMs: 60_000, answerDeadline: now + 20_000, createdAt: now - 1000, announced: true }),
    ]);
    assert.equal(h.tracks.length, 1);
    assert.equal(h.tracks[0].mode, 'poll');
    assert.equal(h.waits.length, 1);
    assert.equal(h.waits[0].source, 'poll');
    assert.equal(h.waits[0].timeoutMs, 20_000);
    assert.deepEqual(h.engine.counts, { pending: 3, retrying: 1, waiting: 1 });
    await clock.tickAsync(5_000);
    await settle();
    assert.equal(h.created.length, 1);
    h.waits[0].onAnswer(answer());
    await settle();
    assert.equal(h.answered.length, 1);
    assert.equal(h.answered[0].request.status, 'sent', 'the created command is fetched for msg.request');
    const message = h.answered[0].job.message();
    assert.equal(message.extra, 'kept');
    assert.ok(Buffer.isBuffer(message.buf));
  });

  it('an answer whose time ran out while Node-RED was down ends with "no answer"', function () {
    const h = new Harness();
    h.engine.resume([record({ stage: 'answer', sid: newSid(), simSid: SIM_SID, answerTimeoutMs: 60_000, answerDeadline: Date.now() - 1 })]);
    assert.equal(h.failures[0]?.code, 'no-answer');
  });

  it('close() stops everything and says how many stored messages there were', async function () {
    const h = new Harness();
    h.engine.resume([record({ stage: 'backoff', nextAttemptAt: Date.now() + 5_000, announced: true })]);
    (await h.engine.send(input({ retryForMs: 600_000 }))).follow();
    assert.equal(h.engine.close(), 2);
    await clock.tickAsync(60_000);
    assert.equal(h.created.length, 1);
  });

  it('many attempts being created are looked up together: one lookup for all, each adopts its own', async function () {
    const found = [resource(newSid()), resource(newSid())];
    const calls: PendingAttempt[][] = [];
    const h = new Harness({
      reconcileAll: async (attempts) => {
        calls.push([...attempts]);
        return new Map([[attempts[0].id, found[0]], [attempts[1].id, found[1]]]);
      },
    });
    const records = [0, 1, 2].map((n) => record({ request: { sim: 'thermostat', payload: `ping ${n}`, devicePort: 6655 } }));
    h.engine.resume(records);
    await settle();
    assert.equal(calls.length, 1, 'one lookup for the three');
    assert.equal(calls[0].length, 3);
    assert.equal(h.created.length, 1, 'only the one not found is created');
    // Output 1 had not gone out for any of them: the two adopted and the one created are each announced once.
    assert.equal(h.announced.length, 3);
    for (const adopted of found) assert.ok(h.announced.some((r) => r.sid === adopted.sid));
  });

  it('a first create answered while the node closes is not announced by it, but by the node that resumes it', async function () {
    const h = new Harness();
    let answer: (value: CommandResource) => void = () => undefined;
    h.createPlan.push(() => new Promise<CommandResource>((resolve) => (answer = resolve)));
    const sending = h.engine.send(input({ retryForMs: 600_000 }));
    await settle();
    h.engine.close();
    const created = resource(newSid());
    answer(created);
    const sent = await sending;
    assert.equal(sent.announce, false, 'output 1 would go into a stopped flow');
    const [stored] = [...h.store.values()];
    assert.equal(stored.stage, 'following');
    assert.equal(stored.announced, false);

    const next = new Harness();
    next.engine.resume([JSON.parse(JSON.stringify(stored)) as PendingAttempt]);
    await settle();
    assert.deepEqual(next.announced.map((r) => r.sid), [created.sid], 'output 1 goes out once, from the resuming node');
    assert.equal(next.created.length, 0);
    assert.equal(next.lastTrack.resource.sid, created.sid);
  });

  it('a later attempt the account is too busy to take (queue full) waits and tries again: no attempt lost, none counted', async function () {
    const h = new Harness();
    const { follow } = await h.engine.send(input({ retryForMs: 600_000 }));
    follow();
    h.createPlan.push(() => Promise.reject(new ApiError('queue full', { kind: 'queue-full', operation: 'createIpCommand', method: 'POST', path: '/v1/IpCommands', effect: 'none', attempts: 0 })));
    h.report('failed', true, 32001);
    await clock.tickAsync(30_000);
    await settle();
    assert.equal(h.failures.length, 0, 'a busy client is no reason to give up');
    assert.equal(h.engine.counts.retrying, 1);
    await clock.tickAsync(30_000);
    await settle();
    assert.equal(h.created.length, 3, 'tried again after the backoff');
    h.report('sent');
    await settle();
    assert.deepEqual(h.statuses.map((s) => `${s.attempt}:${s.status}`), ['1:failed', '2:sent']);
  });
});
