import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FilterMemoryResult } from '../../bench/filter-memory.js';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

describe('filter: memory stays bounded however many commands pass', function () {
  this.timeout(120_000);

  it('300 000 commands through a 50 000 cap: size at the cap, and a flat heap from the cap on', async function () {
    // A process of its own: --expose-gc for heaps measured after a full GC, and no test runner's garbage.
    const { stdout } = await run(
      process.execPath,
      ['--expose-gc', '--require', 'tsx/cjs', 'bench/filter-memory.ts', '--commands', '300000', '--max', '50000', '--json'],
      { cwd: ROOT, maxBuffer: 1024 * 1024 },
    );
    const result = JSON.parse(stdout) as FilterMemoryResult;
    const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MB`;
    const report = result.points.map((p) => `${p.commands}: ${mb(p.heapUsedBytes)}`).join(', ');

    assert.equal(result.size, 50_000);
    assert.deepEqual(
      result.points.map((p) => p.commands),
      [0, 50_000, 100_000, 150_000, 300_000],
    );
    // The remembered commands take about 7 MB of a heap of about 11 MB at the cap. Past it, each new
    // command evicts an old one, so the heap must neither grow (a leak: 250 000 more commands would
    // add far more than 10 %) nor have been inflated at the cap (a Map iterator holding on to tables
    // the Map has outgrown shows as a drop of about 15 % after the cap).
    assert.ok(Math.abs(result.growthPastCapRatio) < 0.1, `heap ${report}: ${(result.growthPastCapRatio * 100).toFixed(1)} % past the cap`);
    for (const point of result.points.filter((p) => p.commands > 50_000)) {
      assert.ok(Math.abs(point.heapUsedBytes - result.heapAtCapBytes) < 0.1 * result.heapAtCapBytes, `heap ${report}`);
    }
    // A flat SID string (56 bytes), a Map slot (24 bytes, times the table's spare capacity) and one
    // number (16 bytes): about 150 bytes. An object per entry, or the SID kept twice, would pass 250.
    assert.ok(result.bytesPerCommand < 250, `${result.bytesPerCommand.toFixed(0)} bytes per command`);
  });
});
