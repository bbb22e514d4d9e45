/**
 * The claim store of callback idempotency across instances: one per Redis connection, shared by
 * every node of the runtime, so that one outage leaves one backlog of keys to write back.
 */
import { RedisClaimStore } from '../../src/shared-state';
import type { SharedRedis } from '../../src/shared-state';
import type { SharedClaimStore } from '../../src/callbacks';
import { retainSharedRedis, sharedRedisOf } from './shared-state';
import type { Node, NodeAPI } from './red';

const stores = new WeakMap<SharedRedis, RedisClaimStore>();

export function claimStoreFor(redis: SharedRedis): SharedClaimStore {
  let store = stores.get(redis);
  if (store === undefined) {
    store = new RedisClaimStore(redis);
    stores.set(redis, store);
  }
  return store;
}

/** For a node without a Redis status of its own: keeps the connection while `node` runs; undefined without Redis. */
export function sharedClaimsOf(RED: NodeAPI, node: Pick<Node, 'on'>): SharedClaimStore | undefined {
  const redis = sharedRedisOf(RED);
  if (redis === undefined) return undefined;
  retainSharedRedis(RED, node);
  return claimStoreFor(redis);
}
