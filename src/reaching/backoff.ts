/** The wait after an attempt's first failure (nodes.md "Keep trying": about 30 s, doubling, at most 15 min). */
export const RETRY_BASE_MS = 30_000;
export const RETRY_MAX_MS = 15 * 60_000;

/** ±20 %: devices that fell off a cell tower together do not all get their commands again in the same second. */
const JITTER = 0.2;

/**
 * How long to wait before the next attempt after `failedAttempts` failed ones (1 after the first failure).
 * `random` returns a number in [0, 1), as Math.random does; tests pass a fixed one.
 */
export function retryDelayMs(failedAttempts: number, random: () => number = Math.random): number {
  const failures = Number.isFinite(failedAttempts) ? Math.max(1, Math.floor(failedAttempts)) : 1;
  // 2 ** 5 × 30 s is already past 15 min: a larger exponent only risks Infinity.
  const unjittered = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(failures - 1, 10));
  const draw = random();
  const unit = Number.isFinite(draw) ? Math.min(1, Math.max(0, draw)) : 0.5;
  const jittered = unjittered * (1 - JITTER + 2 * JITTER * unit);
  return Math.round(Math.min(RETRY_MAX_MS, jittered));
}
