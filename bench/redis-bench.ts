/**
 * B8: callbacks into supersim-command-in when Redis keeps its idempotency keys (claimed with one
 * script per callback, so that a callback is emitted once across instances) beside the in-memory
 * cache alone, in the same run: two real Node-REDs (the built dist/) with the same flow, one with
 * `supersim.redis` pointing at a redis-server started here on 127.0.0.1, one without. The load is
 * B2's: every request another signed status callback under its own idempotency token.
 */
import { createClient } from 'redis';
import { deployFlows, startNodeRed } from '../test/support/node-red-process';
import type { NodeRedInstance } from '../test/support/node-red-process';
import { redisAvailable, startRedisServer } from '../test/support/redis-server';
import type { RedisServer } from '../test/support/redis-server';
import { cannon, combinedFigures, receiveFigures, signedCallbacks } from './node-red-bench';
import type { ReceiveFigures, RequestFor } from './node-red-bench';
import { B2_ACCOUNT_SID, B2_AUTH_TOKEN, B2_PATHS } from './node-red-flows';

export interface RedisBenchOptions {
  seconds: number;
  connections: number;
  log(line: string): void;
}

export type RedisBenchResult = { memory: ReceiveFigures; redis: ReceiveFigures } | { skipped: string };

type Variant = 'memory' | 'redis';

function flows(nodeRedUrl: string): { flows: object[]; credentials: Record<string, object> } {
  return {
    flows: [
      { id: 'b8-tab', type: 'tab', label: 'B8' },
      { id: 'b8-account', type: 'supersim-account', name: 'bench b8', provider: 'twilio', supersimUrl: '', wirelessUrl: '', tokenUrl: '', callbackBaseUrl: nodeRedUrl },
      { id: 'b8-in', type: 'supersim-command-in', z: 'b8-tab', x: 200, y: 100, name: '', account: 'b8-account', url: B2_PATHS.node, wires: [[], []] },
    ],
    credentials: { 'b8-account': { accountSid: B2_ACCOUNT_SID, authToken: B2_AUTH_TOKEN } },
  };
}

async function keysIn(url: string): Promise<number> {
  const client = createClient({ url });
  await client.connect();
  try {
    return await client.dbSize();
  } finally {
    await client.close();
  }
}

export async function runRedisBench(options: RedisBenchOptions): Promise<RedisBenchResult> {
  const { log } = options;
  const availability = redisAvailable();
  if (!availability.ok) return { skipped: `${availability.reason} (sudo bash scripts/install-redis.sh)` };
  let redis: RedisServer | undefined;
  const instances: Partial<Record<Variant, NodeRedInstance>> = {};
  try {
    redis = await startRedisServer();
    // Info: the launcher waits for Node-RED's "Started flows" line.
    const logging = { console: { level: 'info', metrics: false, audit: false } };
    [instances.memory, instances.redis] = await Promise.all([
      startNodeRed({ settings: { logging } }),
      startNodeRed({ settings: { logging, supersim: { redis: { url: redis.url } } } }),
    ]);
    const urls = {} as Record<Variant, string>;
    const requests = {} as Record<Variant, RequestFor>;
    for (const variant of ['memory', 'redis'] as const) {
      const nodeRed = instances[variant] as NodeRedInstance;
      const { flows: nodes, credentials } = flows(nodeRed.url);
      await deployFlows(nodeRed, nodes, credentials);
      urls[variant] = new URL(B2_PATHS.node.slice(1), nodeRed.nodeUrl).toString();
      requests[variant] = signedCallbacks(urls[variant], urls[variant]);
    }

    log(`B8: autocannon ${options.seconds} s at ${options.connections} connections, command-in in memory and with Redis`);
    // Warm both (JIT, Redis's script cache); then each for half the time, twice: memory, redis, redis, memory.
    for (const variant of ['memory', 'redis'] as const) await cannon(urls[variant], 2, options.connections, requests[variant]);
    const half = options.seconds / 2;
    const halves: Record<Variant, ReceiveFigures[]> = { memory: [], redis: [] };
    for (const variant of ['memory', 'redis', 'redis', 'memory'] as const) {
      const run = receiveFigures(variant, await cannon(urls[variant], half, options.connections, requests[variant]));
      log(`  ${variant.padEnd(6)} ${Math.round(run.requestsPerSecond)}/s  p99 ${run.p99Ms} ms  (${run.requests} requests, ${run.non2xx} non-2xx, ${run.errors} errors)`);
      if (run.non2xx > 0 || run.errors > 0) throw new Error(`B8 ${variant}: ${run.non2xx} non-2xx answers and ${run.errors} errors`);
      halves[variant].push(run);
    }
    const result = { memory: combinedFigures('memory', halves.memory, options.seconds), redis: combinedFigures('redis', halves.redis, options.seconds) };
    // Each emitted callback leaves its token's key and its event's: fewer keys than callbacks would mean the figure is not Redis's.
    const keys = await keysIn(redis.url);
    if (keys < result.redis.requests) throw new Error(`B8: Redis holds ${keys} keys after ${result.redis.requests} callbacks: command-in did not claim them there`);
    log(`  Redis holds ${keys} keys`);
    return result;
  } catch (err) {
    const logs = Object.entries(instances).map(([variant, nodeRed]) => `Node-RED (${variant}):\n${nodeRed.logs().slice(-3000)}`);
    if (err instanceof Error && logs.length > 0) throw new Error(`${err.message}\n${logs.join('\n')}`, { cause: err });
    throw err;
  } finally {
    await Promise.all(Object.values(instances).map((nodeRed) => nodeRed.stop()));
    await redis?.stop();
  }
}
