import { strict as assert } from 'node:assert';
import { RETRY_BASE_MS, RETRY_MAX_MS, retryDelayMs } from '../../src/reaching/backoff';

const middle = (): number => 0.5;
const lowest = (): number => 0;
const highest = (): number => 0.999999;

describe('retryDelayMs: the wait before trying a failed command again', function () {
  it('is 30 s after the first failure and doubles after each one, without jitter in the middle of the range', function () {
    assert.equal(RETRY_BASE_MS, 30_000);
    assert.equal(retryDelayMs(1, middle), 30_000);
    assert.equal(retryDelayMs(2, middle), 60_000);
    assert.equal(retryDelayMs(3, middle), 120_000);
    assert.equal(retryDelayMs(4, middle), 240_000);
    assert.equal(retryDelayMs(5, middle), 480_000);
  });

  it('is at most 15 min, however many attempts failed', function () {
    assert.equal(RETRY_MAX_MS, 900_000);
    for (const failures of [6, 7, 20, 1000, 1e9, Number.MAX_SAFE_INTEGER]) {
      assert.equal(retryDelayMs(failures, middle), RETRY_MAX_MS, String(failures));
      assert.ok(retryDelayMs(failures, highest) <= RETRY_MAX_MS, String(failures));
      assert.ok(Number.isFinite(retryDelayMs(failures)), String(failures));
    }
  });

  it('jitters by ±20 %, and the jitter never goes past 15 min', function () {
    assert.equal(retryDelayMs(1, lowest), 24_000);
    assert.equal(retryDelayMs(1, highest), 36_000);
    assert.equal(retryDelayMs(3, lowest), 96_000);
    assert.equal(retryDelayMs(3, highest), 144_000);
    assert.equal(retryDelayMs(5, highest), 576_000);
    // 480 s doubled is 960 s, capped to 900 s; its jitter downward stays, upward stops at the cap.
    assert.equal(retryDelayMs(6, lowest), 720_000);
    assert.equal(retryDelayMs(6, highest), RETRY_MAX_MS);
  });

  it('spreads real random draws over the whole range', function () {
    const draws = Array.from({ length: 2000 }, () => retryDelayMs(2));
    assert.ok(draws.every((ms) => ms >= 48_000 && ms <= 72_000));
    assert.ok(Math.min(...draws) < 50_000 && Math.max(...draws) > 70_000);
  });

  it('treats a count below 1, a fraction or NaN as the first failure, and an odd random draw as the middle', function () {
    for (const failures of [0, -3, 0.5, Number.NaN]) assert.equal(retryDelayMs(failures, middle), 30_000, String(failures));
    assert.equal(retryDelayMs(2.9, middle), 60_000);
    assert.equal(retryDelayMs(1, () => Number.NaN), 30_000);
    assert.equal(retryDelayMs(1, () => 7), 36_000);
  });
});
