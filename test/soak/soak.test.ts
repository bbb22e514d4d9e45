/**
 * A 30-second soak: mixed sends (IP, Super SIM SMS, Wireless), tracking through a status filter,
 * devices answering into supersim-command-in, a node waiting for the device's answers (polling), a
 * node keeping trying a SIM that sleeps every other 2 s (its store resumed at each redeploy), a
 * random API fault every 2 s and a redeploy every 10 s. `npm run soak -- --minutes N` runs the same
 * for longer.
 */
import assert from 'node:assert/strict';
import { runSoak } from '../../scripts/soak';

/**
 * Heap after a full GC, first sample (5 s in, warm: token, pools, tracker and filter state in use)
 * against the end (drained, tracking timed out). What the nodes keep is bounded by count (tracker
 * 1000 per node, filter 1000, idempotency caches), so a working package ends near where it started;
 * 8 MB leaves room for V8's own variation between two samples, and is far below what a leak of even a
 * few hundred bytes per message (thousands of messages here) would add.
 */
const MAX_HEAP_GROWTH_BYTES = 8 * 1024 * 1024;
/** Handles left once the flows are stopped, beyond those open before they started. */
const MAX_EXTRA_HANDLES = 2;

describe('soak (30 s)', function () {
  this.timeout(120_000);

  it('every message ends once, nothing is created unreported, heap and handles come back', async function () {
    const lines: string[] = [];
    const result = await runSoak({
      durationMs: 30_000,
      ratePerSecond: 100,
      reportEveryMs: 5_000,
      faultEveryMs: 2_000,
      redeployEveryMs: 10_000,
      log: (line) => {
        lines.push(line);
        console.log(line);
      },
    });
    console.log(
      `  heap growth ${(result.heapGrowthBytes / 1024 / 1024).toFixed(2)} MB (bound ${MAX_HEAP_GROWTH_BYTES / 1024 / 1024} MB); handles ${result.handlesBefore} before, ${result.handlesAfter} after; ` +
        `${result.sent} sent, ${result.outputs} out, ${result.errors} errors, ${result.created} created, ${result.faultsInjected} faults, ${result.redeploys} redeploys; ` +
        `answers ${result.answered}/${result.answerSent}, kept trying ${result.retriesReached}/${result.retrySent} reached after ${result.failedAttempts} failed attempts`,
    );
    assert.deepEqual(result.problems, []);
    assert.ok(result.sent >= 1_000, `traffic did flow: ${result.sent} sent`);
    assert.ok(result.outputs > result.sent / 2, 'most messages got through the faults');
    assert.ok(result.faultsInjected >= 5 && result.redeploys >= 2, 'faults and redeploys did happen');
    assert.ok(result.fromDevices > 0 && result.trackingUpdates > 0, 'devices answered and tracking reported');
    assert.ok(result.answered > result.answerSent / 2, `answers came back: ${result.answered} of ${result.answerSent}`);
    assert.ok(result.failedAttempts > 0 && result.retriesReached > result.retrySent / 2, `attempts failed and were tried again: ${result.retriesReached} of ${result.retrySent} reached, ${result.failedAttempts} failed`);
    assert.ok(result.heapGrowthBytes < MAX_HEAP_GROWTH_BYTES, `heap grew ${result.heapGrowthBytes} bytes`);
    assert.ok(result.handlesAfter <= result.handlesBefore + MAX_EXTRA_HANDLES, `handles ${result.handlesBefore} before, ${result.handlesAfter} after`);
  });
});
