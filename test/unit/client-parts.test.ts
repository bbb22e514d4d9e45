import assert from 'node:assert/strict';
import { TokenCache } from '../../src/api/auth';
import { ConcurrencyLimiter, LimiterClosedError, QueueFullError } from '../../src/api/limiter';
import { DEFAULT_RETRY, backoffDelay, parseRetryAfter, retryDelay } from '../../src/api/retry';
import { readErrorBody } from '../../src/api/errors';
import { classifyNetworkError } from '../../src/api/network';

describe('retry timing', function () {
  it('reads Retry-After as seconds or as an HTTP date', function () {
    const now = Date.parse('2026-11-22T10:00:00Z');
    assert.equal(parseRetryAfter('3', now), 3_000);
    assert.equal(parseRetryAfter(['0'], now), 0);
    assert.equal(parseRetryAfter('Sun, 22 Nov 2026 10:00:05 GMT', now), 5_000);
    assert.equal(parseRetryAfter('Sun, 22 Nov 2026 09:59:00 GMT', now), 0, 'a date in the past means now');
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
    assert.equal(parseRetryAfter('', now), undefined);
  });

  it('caps Retry-After and backoff at maxDelayMs', function () {
    assert.equal(retryDelay(1, 3_600_000, DEFAULT_RETRY), DEFAULT_RETRY.maxDelayMs);
    assert.equal(retryDelay(1, 1_500, DEFAULT_RETRY), 1_500);
    assert.equal(backoffDelay(40, DEFAULT_RETRY, () => 1), DEFAULT_RETRY.maxDelayMs);
  });

  it('backs off exponentially with full jitter when the server gave no Retry-After', function () {
    const options = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 10_000 };
    assert.equal(backoffDelay(1, options, () => 1), 100);
    assert.equal(backoffDelay(2, options, () => 1), 200);
    assert.equal(backoffDelay(4, options, () => 1), 800);
    assert.equal(backoffDelay(4, options, () => 0.5), 400);
    assert.equal(backoffDelay(4, options, () => 0), 0);
  });
});

describe('network error classification', function () {
  it('tells failures before the request was written from those after', function () {
    for (const code of ['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EHOSTUNREACH']) {
      assert.equal(classifyNetworkError({ code }).beforeWrite, true, code);
    }
    for (const code of ['ECONNRESET', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'EPIPE']) {
      assert.equal(classifyNetworkError({ code }).beforeWrite, false, code);
    }
    assert.equal(classifyNetworkError(new Error('no code')).networkCode, 'UNKNOWN');
    assert.equal(classifyNetworkError({ code: 'UND_ERR_HEADERS_TIMEOUT' }).timeout, true);
  });

  it('reads partial error bodies', function () {
    assert.deepEqual(readErrorBody({ status: 400, code: '20001', message: 'm', more_info: 'u' }), { status: 400, code: 20001, message: 'm', more_info: 'u' });
    assert.deepEqual(readErrorBody('nope'), {});
    assert.deepEqual(readErrorBody({ code: 'abc' }), {});
  });
});

describe('ConcurrencyLimiter', function () {
  it('holds at most maxInFlight and fails at once past maxQueue', async function () {
    const limiter = new ConcurrencyLimiter(2, 1);
    assert.equal(limiter.acquire(), undefined);
    assert.equal(limiter.acquire(), undefined);
    const queued = limiter.acquire();
    assert.ok(queued instanceof Promise);
    await assert.rejects(limiter.acquire() as Promise<void>, QueueFullError);
    limiter.release();
    await queued;
    assert.equal(limiter.inFlight, 2);
    limiter.release();
    limiter.release();
    assert.equal(limiter.inFlight, 0);
  });

  it('serves waiters in order across a long queue', async function () {
    const limiter = new ConcurrencyLimiter(1, 5_000);
    assert.equal(limiter.acquire(), undefined);
    const order: number[] = [];
    const waits = Array.from({ length: 3_000 }, (_, i) => (limiter.acquire() as Promise<void>).then(() => order.push(i)));
    for (let i = 0; i < 3_000; i++) {
      limiter.release();
      await Promise.resolve();
    }
    await Promise.all(waits);
    assert.deepEqual(order, Array.from({ length: 3_000 }, (_, i) => i));
  });

  it('close() rejects the waiters', async function () {
    const limiter = new ConcurrencyLimiter(1, 5);
    limiter.acquire();
    const waiting = limiter.acquire() as Promise<void>;
    limiter.close();
    await assert.rejects(waiting, LimiterClosedError);
    await assert.rejects(limiter.acquire() as Promise<void>, LimiterClosedError);
  });
});

describe('TokenCache', function () {
  it('shares one fetch between concurrent callers and does not cache a failure', async function () {
    let calls = 0;
    let fail = true;
    const cache = new TokenCache(
      async () => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 10));
        if (fail) throw new Error('token endpoint down');
        return { access_token: `t${calls}`, expires_in: 3600, token_type: 'Bearer' };
      },
      { refreshMarginMs: 60_000 },
    );
    const failures = await Promise.allSettled([cache.authorization(), cache.authorization(), cache.authorization()]);
    assert.equal(calls, 1);
    assert.ok(failures.every((r) => r.status === 'rejected'));
    fail = false;
    const headers = await Promise.all([cache.authorization(), cache.authorization()]);
    assert.equal(calls, 2);
    assert.deepEqual(headers, ['Bearer t2', 'Bearer t2']);
    assert.equal(cache.authorization(), 'Bearer t2', 'a cached token is handed out synchronously');
  });

  it('only the first 401 with a token drops it', async function () {
    let calls = 0;
    const cache = new TokenCache(async () => ({ access_token: `t${++calls}`, expires_in: 3600, token_type: 'Bearer' }), { refreshMarginMs: 0 });
    const first = await cache.authorization();
    cache.invalidate(first);
    const second = await cache.authorization();
    cache.invalidate(first);
    assert.equal(await cache.authorization(), second);
    assert.equal(calls, 2);
  });

  it('gives short-lived tokens a proportionate margin', async function () {
    let now = 0;
    let calls = 0;
    const cache = new TokenCache(async () => ({ access_token: `t${++calls}`, expires_in: 60, token_type: 'Bearer' }), {
      refreshMarginMs: 60_000,
      now: () => now,
    });
    await cache.authorization();
    now = 50_000;
    await cache.authorization();
    assert.equal(calls, 1, 'a 60 s token with a 6 s margin is still good at 50 s');
    now = 55_000;
    await cache.authorization();
    assert.equal(calls, 2);
  });
});
