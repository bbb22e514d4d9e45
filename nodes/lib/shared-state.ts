/**
 * Redis for the nodes of one Node-RED runtime: one connection pair, opened by the first node that asks
 * and closed a little after the last one using it closes (so a redeploy does not reconnect).
 * Node-RED hands each node file its own RED object, so the runtime is keyed by its HTTP app, which
 * they all share; node-redis is only loaded when settings name a Redis.
 */
import { connectRedis, redactedRedisUrl, redisSettingsOf } from '../../src/shared-state';
import type { RedisHealth, SharedRedis } from '../../src/shared-state';
import type { Node, NodeAPI } from './red';

const CLOSE_DELAY_MS = 1500;
const SHARED_CATALOGUE = 'node-red-contrib-supersim/supersim-account:supersim-account.redis';

interface Runtime {
  redis: SharedRedis | undefined;
  /** The settings name a Redis in a way that cannot be used: what is wrong, for users. */
  problem: string | undefined;
  holders: Set<object>;
  closeTimer: NodeJS.Timeout | undefined;
}

const runtimes = new WeakMap<object, Runtime>();

type RedLike = Pick<NodeAPI, 'settings' | 'log'> & Partial<Pick<NodeAPI, 'httpNode' | '_'>>;

function keyOf(RED: RedLike): object {
  return (RED.httpNode as object | undefined) ?? RED;
}

function runtimeOf(RED: RedLike): Runtime {
  const key = keyOf(RED);
  let runtime = runtimes.get(key);
  if (runtime !== undefined) return runtime;
  runtime = { redis: undefined, problem: undefined, holders: new Set(), closeTimer: undefined };
  try {
    const settings = redisSettingsOf(RED.settings.supersim);
    if (settings !== undefined) {
      runtime.redis = connectRedis(settings, {
        log: (line) => RED.log.info(`[supersim] ${line}`),
        warn: (line) => RED.log.warn(`[supersim] ${line}`),
      });
    }
  } catch (error) {
    runtime.problem = error instanceof Error ? error.message : String(error);
    RED.log.error(`[supersim] ${runtime.problem}`);
  }
  runtimes.set(key, runtime);
  return runtime;
}

/** The runtime's shared Redis, or undefined when none is configured (or its settings are unusable). */
export function sharedRedisOf(RED: RedLike): SharedRedis | undefined {
  return runtimeOf(RED).redis;
}

/** What is wrong with supersim.redis in settings.js (or SUPERSIM_REDIS_URL), when something is. */
export function redisProblemOf(RED: RedLike): string | undefined {
  return runtimeOf(RED).problem;
}

/**
 * Keeps the connection open while `node` runs; released when the node closes (or by the function
 * returned). The connection closes CLOSE_DELAY_MS after the last release, unless a node retains it again.
 */
export function retainSharedRedis(RED: RedLike, node: object & Partial<Pick<Node, 'on'>>): () => void {
  const runtime = runtimeOf(RED);
  clearTimeout(runtime.closeTimer);
  runtime.closeTimer = undefined;
  runtime.holders.add(node);
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    runtime.holders.delete(node);
    if (runtime.holders.size > 0 || runtime.redis === undefined) return;
    runtime.closeTimer = setTimeout(() => {
      runtime.closeTimer = undefined;
      if (runtime.holders.size > 0) return;
      const redis = runtime.redis;
      if (runtimes.get(keyOf(RED)) === runtime) runtimes.delete(keyOf(RED));
      redis?.close().catch(() => undefined);
    }, CLOSE_DELAY_MS);
    runtime.closeTimer.unref();
  };
  node.on?.('close', () => release());
  return release;
}

/** Follows the runtime's Redis health, e.g. to refresh a node's status; returns the unsubscribe. */
export function onRedisHealth(RED: RedLike, listener: (health: RedisHealth, reason?: string) => void): () => void {
  return sharedRedisOf(RED)?.onHealth(listener) ?? ((): void => undefined);
}

function text(RED: RedLike, key: string, fallback: string): string {
  const full = `${SHARED_CATALOGUE}.${key}`;
  const translated = RED._?.(full);
  return translated === undefined || translated === full ? fallback : translated;
}

/** ' · Redis down' while Redis is configured and unreachable; '' otherwise. Nodes append it to their status. */
export function redisStatusSuffix(RED: RedLike): string {
  const redis = sharedRedisOf(RED);
  if (redis === undefined || redis.health !== 'down') return '';
  return ` · ${text(RED, 'down', 'Redis down')}`;
}

/** The red status text for unusable Redis settings. */
export function redisProblemStatus(RED: RedLike): string {
  return text(RED, 'bad-settings', 'Redis settings invalid: see the log');
}

export interface NodeSharedRedis {
  redis: SharedRedis | undefined;
  problem: string | undefined;
  /** redisStatusSuffix, for this node's status texts. */
  suffix(): string;
}

/**
 * What a node constructor calls: retains the connection for the node's life, calls `refresh` on
 * every change of health, and reports unusable settings once as the node's error.
 */
export function useSharedRedis(RED: RedLike, node: object & Pick<Node, 'on' | 'error'>, refresh: () => void): NodeSharedRedis {
  const redis = sharedRedisOf(RED);
  const problem = redisProblemOf(RED);
  if (problem !== undefined) node.error(problem);
  if (redis !== undefined) {
    retainSharedRedis(RED, node);
    const stop = redis.onHealth(() => refresh());
    node.on('close', () => stop());
  }
  return { redis, problem, suffix: () => redisStatusSuffix(RED) };
}

/** For log lines about the connection: never the password. */
export function shownRedisUrl(redis: SharedRedis): string {
  return redactedRedisUrl(redis.settings.url);
}
