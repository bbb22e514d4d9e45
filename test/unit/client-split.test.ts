import assert from 'node:assert/strict';
import { MockAgent } from 'undici';
import { ApiError, SuperSimClient } from '../../src/api';
import { DEFAULT_RETRY, decideRetry } from '../../src/api/retry';
import type { RetryQuestion } from '../../src/api/retry';

const SUPERSIM = 'https://supersim.example.test';

describe('the client with a dispatcher of the caller', function () {
  let agent: MockAgent;

  beforeEach(function () {
    agent = new MockAgent();
    agent.disableNetConnect();
  });

  afterEach(async function () {
    await agent.close();
  });

  it('sends a create through a MockAgent, which sees method, path, form and Authorization, and gets the resource back', async function () {
    const seen: { method?: string; path?: string; body?: string; authorization?: string } = {};
    agent
      .get(SUPERSIM)
      .intercept({ path: '/v1/IpCommands', method: 'POST' })
      .reply(201, (options) => {
        const headers = options.headers as Record<string, string>;
        Object.assign(seen, { method: options.method, path: options.path, body: String(options.body), authorization: headers.authorization });
        return { sid: 'HG00000000000000000000000000000001', sim: 'HS1', status: 'queued', payload: 'hello' };
      });
    const client = new SuperSimClient({ provider: 'twilio', accountSid: 'ACtest', authToken: 'token-secret', supersimUrl: SUPERSIM, dispatcher: agent });

    const command = await client.createIpCommand({ sim: 'HS1', payload: 'hello', devicePort: 6655 });

    assert.equal(command.sid, 'HG00000000000000000000000000000001');
    assert.equal(command.status, 'queued');
    assert.equal(seen.method, 'POST');
    assert.equal(seen.path, '/v1/IpCommands');
    assert.deepEqual(Object.fromEntries(new URLSearchParams(seen.body)), { Sim: 'HS1', Payload: 'hello', DevicePort: '6655' });
    assert.equal(seen.authorization, `Basic ${Buffer.from('ACtest:token-secret').toString('base64')}`);
    agent.assertNoPendingInterceptors();
    await client.close();
  });

  it('leaves the dispatcher open when it is closed: the caller owns it', async function () {
    agent.get(SUPERSIM).intercept({ path: '/v1/Fleets/HF1', method: 'GET' }).reply(200, { sid: 'HF1' }).times(2);
    const client = new SuperSimClient({ provider: 'twilio', accountSid: 'ACtest', authToken: 'token-secret', supersimUrl: SUPERSIM, dispatcher: agent });
    await client.fetchFleet('HF1');
    await client.close();
    const other = new SuperSimClient({ provider: 'twilio', accountSid: 'ACtest', authToken: 'token-secret', supersimUrl: SUPERSIM, dispatcher: agent });
    assert.equal((await other.fetchFleet('HF1')).sid, 'HF1');
    await other.close();
  });

  it('keeps undici\'s error as cause, out of the message and the JSON', async function () {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    agent.get(SUPERSIM).intercept({ path: '/v1/Fleets/HF1', method: 'GET' }).replyWithError(refused).times(4);
    const client = new SuperSimClient({ provider: 'twilio', accountSid: 'ACtest', authToken: 'token-secret', supersimUrl: SUPERSIM, dispatcher: agent, retry: { baseDelayMs: 0 } });
    const err = await client.fetchFleet('HF1').then(() => assert.fail('resolved'), (e: unknown) => e);
    assert.ok(err instanceof ApiError);
    assert.equal(err.networkCode, 'ECONNREFUSED');
    assert.equal(err.cause, refused);
    assert.ok(!err.message.includes('connect ECONNREFUSED 127.0.0.1:9'));
    assert.ok(!JSON.stringify(err).includes('127.0.0.1:9'));
    assert.equal('cause' in err.toJSON(), false);
    await client.close();
  });

  it('puts retryAfterMs into toJSON', async function () {
    agent.get(SUPERSIM).intercept({ path: '/v1/IpCommands', method: 'POST' }).reply(429, { code: 20429, message: 'Too many requests' }, { headers: { 'retry-after': '7' } });
    const client = new SuperSimClient({ provider: 'twilio', accountSid: 'ACtest', authToken: 'token-secret', supersimUrl: SUPERSIM, dispatcher: agent, retry: { maxAttempts: 1 } });
    const err = await client.createIpCommand({ sim: 'HS1', payload: 'x', devicePort: 1 }).then(() => assert.fail('resolved'), (e: unknown) => e);
    assert.ok(err instanceof ApiError);
    assert.equal(err.retryAfterMs, 7000);
    assert.equal(err.toJSON().retryAfterMs, 7000);
    assert.equal(err.cause, undefined);
    await client.close();
  });
});

describe('decideRetry (the retry table)', function () {
  const options = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
  const half = (): number => 0.5;
  const ask = (question: Partial<RetryQuestion>): ReturnType<typeof decideRetry> =>
    decideRetry({ idempotent: false, phase: 'answered', attempt: 1, random: half, now: 0, ...question }, options);

  const table: [string, Partial<RetryQuestion>, false | number][] = [
    ['a create that failed before it was written', { phase: 'before-write' }, 50],
    ['a read that failed before it was written', { phase: 'before-write', idempotent: true }, 50],
    ['a create that broke after it was written', { phase: 'after-write' }, false],
    ['a read that broke after it was written', { phase: 'after-write', idempotent: true }, 50],
    ['a create answered 429', { status: 429 }, 50],
    ['a create answered 429 with Retry-After 2', { status: 429, retryAfter: '2' }, 1000],
    ['a create answered 429 with Retry-After 0', { status: 429, retryAfter: ['0'] }, 0],
    ['a read answered 429 with an HTTP date', { status: 429, idempotent: true, retryAfter: new Date(300).toUTCString() }, 0],
    ['a create answered 500', { status: 500 }, false],
    ['a read answered 503', { status: 503, idempotent: true }, 50],
    ['a read answered 503 with Retry-After (only a 429\'s is honoured)', { status: 503, idempotent: true, retryAfter: '9' }, 50],
    ['a read answered 404', { status: 404, idempotent: true }, false],
    ['a create answered 400', { status: 400 }, false],
    ['a read answered 401', { status: 401, idempotent: true }, false],
    ['a third attempt backs off longer', { phase: 'before-write', attempt: 3 }, 200],
    ['full jitter reaches the step\'s ceiling', { phase: 'before-write', attempt: 3, random: () => 1 }, 400],
    ['the last attempt is never retried', { phase: 'before-write', attempt: 4 }, false],
    ['nor a 429 on the last attempt', { status: 429, attempt: 4 }, false],
  ];
  for (const [name, question, expected] of table) {
    it(`${name}: ${expected === false ? 'no retry' : `retry after ${expected} ms`}`, function () {
      assert.deepEqual(ask(question), expected === false ? { retry: false } : { retry: true, delayMs: expected });
    });
  }

  it('caps a long Retry-After at maxDelayMs', function () {
    assert.deepEqual(ask({ status: 429, retryAfter: '3600' }), { retry: true, delayMs: 1000 });
  });
});
