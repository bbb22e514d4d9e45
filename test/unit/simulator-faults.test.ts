import assert from 'node:assert/strict';
import { request } from 'undici';
import type { IpCommand } from '../../src/api/types';
import { Simulator } from '../../src/simulator';
import { SimHttp } from '../support/sim-http';
import { CallbackReceiver } from '../support/sim-receiver';

describe('simulator faults', () => {
  let sim: Simulator;
  let http: SimHttp;
  let createUrl: string;
  const form = { Sim: 'thermostat', Payload: 'x', DevicePort: 1 };

  beforeEach(async () => {
    sim = await Simulator.start({ timing: { ipSentMs: 60_000 }, sims: [{ uniqueName: 'thermostat' }] });
    http = new SimHttp(sim);
    createUrl = `${sim.supersimUrl}/v1/IpCommands`;
    await http.authorization();
  });

  afterEach(() => sim.close());

  it('status: answers 429 with Retry-After without acting, then lets the next request through', async () => {
    sim.faults.add({ target: 'ipCommands', method: 'POST' }, { kind: 'status', status: 429, retryAfter: '2' });
    assert.equal(sim.faults.pending, 1);
    const limited = await http.post(createUrl, form);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '2');
    assert.equal(limited.body.code, 20429);
    assert.equal(limited.body.more_info, 'https://docs.korewireless.com/errors/20429');
    assert.equal(sim.stats.created.ip, 0);
    assert.equal(sim.faults.pending, 0);
    assert.equal((await http.post(createUrl, form)).status, 201);
    assert.equal(sim.stats.count('POST', '/supersim/v1/IpCommands'), 2, 'faulted requests are counted');
  });

  it('status: 500 with a chosen code and message, for a given number of times', async () => {
    sim.faults.add({ path: '/supersim/v1/IpCommands', times: 2 }, { kind: 'status', status: 500, message: 'boom' });
    for (let i = 0; i < 2; i++) {
      const failed = await http.post(createUrl, form);
      assert.equal(failed.status, 500);
      assert.deepEqual([failed.body.code, failed.body.message], [20500, 'boom']);
    }
    assert.equal((await http.post(createUrl, form)).status, 201);
    assert.equal(sim.stats.created.ip, 1);
  });

  it('matches rules by method, RegExp path and target, in order', async () => {
    sim.faults.add({ method: 'GET', path: /^\/supersim\/v1\/IpCommands\/HG/ }, { kind: 'status', status: 503 });
    sim.faults.add({ target: 'token' }, { kind: 'status', status: 500 });
    sim.faults.add({ target: 'any', times: Infinity }, { kind: 'status', status: 418 });
    sim.faults.clear();
    assert.equal(sim.faults.pending, 0);
    sim.faults.add({ method: 'GET', path: /^\/supersim\/v1\/IpCommands\/HG/ }, { kind: 'status', status: 503 });
    const created = await http.post<IpCommand>(createUrl, form);
    assert.equal(created.status, 201, 'POST does not match a GET rule');
    assert.equal((await http.get(created.body.url)).status, 503);
    assert.equal((await http.get(created.body.url)).status, 200);
    sim.faults.add({ target: 'token', times: Infinity }, { kind: 'status', status: 503 });
    const token = await http.token({ grant_type: 'client_credentials', client_id: 'sim-client-id', client_secret: 'sim-client-secret' });
    assert.equal(token.status, 503);
    assert.equal((await http.get(createUrl)).status, 200, 'the token rule leaves the API alone');
    assert.equal(sim.faults.pending, 1);
    assert.throws(() => sim.faults.add({}, { kind: 'delay', ms: -1 }), RangeError);
  });

  it('reset before: the connection drops and nothing is created', async () => {
    sim.faults.add({ target: 'ipCommands' }, { kind: 'reset', when: 'before' });
    await assert.rejects(http.post(createUrl, form), TypeError);
    assert.equal(sim.stats.created.ip, 0);
    assert.deepEqual(sim.ipCommands(), []);
    assert.equal(sim.stats.count('POST', '/supersim/v1/IpCommands'), 1);
  });

  it('reset after: the command is created, then the connection drops without an answer', async () => {
    sim.faults.add({ target: 'ipCommands' }, { kind: 'reset', when: 'after' });
    await assert.rejects(http.post(createUrl, form), TypeError);
    assert.equal(sim.stats.created.ip, 1);
    assert.equal(sim.ipCommands().length, 1);
  });

  it('delay (headers): acts at once, answers after ms', async () => {
    sim.faults.add({ target: 'ipCommands' }, { kind: 'delay', ms: 150 });
    const started = Date.now();
    const answer = await http.post(createUrl, form);
    assert.equal(answer.status, 201);
    assert.ok(Date.now() - started >= 140, `answered after ${Date.now() - started} ms`);
  });

  it('delay (body): headers at once, the body after ms', async () => {
    sim.faults.add({ target: 'ipCommands' }, { kind: 'delay', ms: 150, phase: 'body' });
    const authorization = await http.authorization();
    const started = Date.now();
    const response = await request(createUrl, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ Sim: 'thermostat', Payload: 'x', DevicePort: '1' }).toString(),
    });
    const headersAfter = Date.now() - started;
    assert.equal(response.statusCode, 201);
    const body = (await response.body.json()) as IpCommand;
    const bodyAfter = Date.now() - started;
    // The wait sits between the headers and the body, whatever the machine's load adds before the headers.
    assert.ok(bodyAfter - headersAfter >= 140, `headers after ${headersAfter} ms, body after ${bodyAfter} ms`);
    assert.match(body.sid, /^HG/);
  });

  it('hang: acts and never answers; close() still returns promptly', async () => {
    sim.faults.add({ target: 'ipCommands' }, { kind: 'hang' });
    await assert.rejects(
      http.raw('POST', createUrl, {
        body: 'Sim=thermostat&Payload=x&DevicePort=1',
        headers: { authorization: await http.authorization(), 'content-type': 'application/x-www-form-urlencoded' },
        signal: AbortSignal.timeout(100),
      }),
      /aborted|timeout/i,
    );
    assert.equal(sim.stats.created.ip, 1);
    const started = Date.now();
    await sim.close();
    assert.ok(Date.now() - started < 500);
  });

  it('a hung request is cut off by close() rather than keeping the process alive', async () => {
    sim.faults.add({ target: 'any' }, { kind: 'hang' });
    const pending = http.get(createUrl);
    while (sim.stats.count('GET', '/supersim/v1/IpCommands') === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await sim.close();
    await assert.rejects(pending, TypeError);
  });

  describe('hold', () => {
    async function until(condition: () => boolean, what: string): Promise<void> {
      for (let i = 0; i < 400 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.ok(condition(), what);
    }

    it('creates the command and runs its lifecycle (callbacks included) while the answer waits for release()', async () => {
      await sim.close();
      const receiver = await CallbackReceiver.start();
      try {
        sim = await Simulator.start({ timing: { ipSentMs: 1 }, sims: [{ uniqueName: 'thermostat' }] });
        http = new SimHttp(sim);
        sim.faults.add({ target: 'ipCommands', method: 'POST' }, { kind: 'hold' });
        let answered = false;
        const answer = http.post<IpCommand>(`${sim.supersimUrl}/v1/IpCommands`, { ...form, CallbackUrl: `${receiver.url}/status` }).finally(() => {
          answered = true;
        });
        await until(() => sim.faults.held === 1, 'the answer is held');
        const [created] = sim.ipCommands();
        assert.equal(created.payload, 'x', 'the create happened while its answer is on the wire');
        const callback = await receiver.next();
        assert.deepEqual([callback.params.CommandSid, callback.params.Status], [created.sid, 'sent']);
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(answered, false, 'still no answer');
        assert.equal(sim.faults.pending, 0, 'the rule was used up');

        assert.equal(sim.faults.release(), 1);
        const released = await answer;
        assert.equal(released.status, 201);
        assert.equal(released.body.sid, created.sid);
        assert.equal(released.body.status, 'queued', 'answered as it would have been at the time');
        assert.equal(sim.faults.held, 0);
        assert.equal(sim.createdCount('ip'), 1, 'created once');
      } finally {
        await receiver.close();
      }
    });

    it('release(n) answers the oldest first; a client that goes away is no longer held', async () => {
      sim.faults.add({ target: 'ipCommands', method: 'POST', times: 3 }, { kind: 'hold' });
      const first = http.post<IpCommand>(createUrl, { ...form, Payload: 'first' });
      await until(() => sim.faults.held === 1, 'first held');
      const second = http.post<IpCommand>(createUrl, { ...form, Payload: 'second' });
      await until(() => sim.faults.held === 2, 'second held');
      const abort = new AbortController();
      const gone = http.raw('POST', createUrl, {
        body: 'Sim=thermostat&Payload=gone&DevicePort=1',
        headers: { authorization: await http.authorization(), 'content-type': 'application/x-www-form-urlencoded' },
        signal: abort.signal,
      });
      await until(() => sim.faults.held === 3, 'third held');
      abort.abort();
      await assert.rejects(gone, /abort/i);
      await until(() => sim.faults.held === 2, 'the aborted one was forgotten');
      assert.deepEqual(sim.ipCommands().map((c) => c.payload), ['first', 'second', 'gone'], 'all three were created');

      assert.equal(sim.faults.release(1), 1);
      assert.equal((await first).body.payload, 'first');
      assert.equal(sim.faults.held, 1);
      assert.equal(sim.faults.release(5), 1);
      assert.equal((await second).body.payload, 'second');
      assert.equal(sim.faults.release(), 0);
      assert.throws(() => sim.faults.release(-1), RangeError);
    });

    it('close() destroys a held answer’s socket', async () => {
      sim.faults.add({ target: 'ipCommands' }, { kind: 'hold' });
      const held = http.post(createUrl, form);
      await until(() => sim.faults.held === 1, 'held');
      const started = Date.now();
      await sim.close();
      assert.ok(Date.now() - started < 500);
      await assert.rejects(held, TypeError);
      assert.equal(sim.faults.held, 0);
      assert.equal(sim.faults.release(), 0, 'nothing left to answer');
    });

    it('hang differs from hold: never answered, not counted in held, and release() does not answer it', async () => {
      sim.faults.add({ target: 'ipCommands' }, { kind: 'hang' });
      let answered = false;
      const hung = http.post(createUrl, form).then(
        () => (answered = true),
        () => undefined,
      );
      await until(() => sim.ipCommands().length === 1, 'the hung create was acted on');
      assert.equal(sim.faults.held, 0);
      assert.equal(sim.faults.release(), 0);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(answered, false);
      await sim.close();
      await hung;
    });
  });

  it('leaves the /simulator control routes alone: no faults, no stats', async () => {
    sim.faults.add({ target: 'any', times: Infinity }, { kind: 'status', status: 500 });
    const requestsBefore = sim.stats.requests;
    const answer = await fetch(`${sim.controlUrl}/sims/thermostat/detach`, { method: 'POST' });
    assert.equal(answer.status, 200);
    assert.deepEqual(await answer.json(), { sim: 'thermostat', sid: sim.sim('thermostat').sid, attached: false });
    assert.equal(sim.stats.requests, requestsBefore);
    assert.equal(sim.faults.pending, 1);
    assert.equal((await http.get(createUrl)).status, 500, 'the API is still faulted');
  });
});
