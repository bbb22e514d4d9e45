import assert from 'node:assert/strict';
import { request } from 'undici';
import type { IpCommand } from '../../src/api/types';
import { Simulator } from '../../src/simulator';
import { SimHttp } from '../support/sim-http';

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
});
