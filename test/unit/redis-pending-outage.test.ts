/**
 * RedisPendingStore when Redis goes away while a change waits for its batched write: the change is
 * acknowledged once the local file holds it, not when Redis comes back (a keep-trying node awaits that
 * acknowledgement before its next step, so it would stall for the whole outage).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisPendingStore } from '../../src/reaching';
import type { StoredRecord } from '../../src/reaching';
import type { SharedRedis } from '../../src/shared-state';
import { redisFixture, waitFor } from '../support/redis-server';

describe('RedisPendingStore: Redis lost while a change waits for its write', function () {
  this.timeout(20_000);
  const fixture = redisFixture({ keyPrefix: 'supersim:', leaseMs: 60_000 }, { maxReconnectDelayMs: 200 });
  let redis: SharedRedis;
  let dir: string;

  beforeEach(async function () {
    dir = mkdtempSync(join(tmpdir(), 'supersim-redis-outage-'));
    redis = await fixture.connect();
  });
  afterEach(async function () {
    await fixture.reset();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the waiting change is acknowledged once the local file has it, long before Redis is back', async function () {
    const file = join(dir, 'node.json');
    const { store } = await RedisPendingStore.open<StoredRecord & { n: number }>({ redis, nodeId: 'node', leaseMs: 60_000, maxRecords: 10, file, timers: false, minIntervalMs: 10_000 });
    await store.put({ id: 'r1', n: 1 });
    // The next write may start only 10 s after the first: r2 waits for it.
    let acknowledged = false;
    const waiting = store.put({ id: 'r2', n: 2 }).then(() => {
      acknowledged = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(acknowledged, false, 'r2 waits for the next write');

    await fixture.server.kill();
    await waitFor(() => acknowledged, 'r2 acknowledged with Redis away', 3_000);
    await waiting;
    assert.equal(store.mode, 'local');
    assert.ok(existsSync(file));
    const records = (JSON.parse(readFileSync(file, 'utf8')) as { records: Array<{ id: string }> }).records.map((r) => r.id).sort();
    assert.deepEqual(records, ['r1', 'r2'], 'the file holds both');
    await store.close();
  });
});
