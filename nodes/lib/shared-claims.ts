/**
 * The claim store of callback idempotency across instances: one per Redis connection, shared by
 * every node of the runtime, so that one outage leaves one backlog of keys to write back.
 */
import { RedisClaimStore } from '../../src/shared-state';
import type { SharedRedis } from '../../src/shared-state';
import type { SharedClaimStore } from '../../src/callbacks';
import { onePer } from '../../src/shared';
import { retainSharedRedis, sharedRedisOf } from './shared-state';
import type { Node, NodeAPI } from './red';

export const claimStoreFor: (redis: SharedRedis) => SharedClaimStore = onePer((redis: SharedRedis) => new RedisClaimStore(redis));

/** For a node without a Redis status of its own: keeps the connection while `node` runs; undefined without Redis. */
export function sharedClaimsOf(RED: NodeAPI, node: Pick<Node, 'on'>): SharedClaimStore | undefined {
  const redis = sharedRedisOf(RED);
  if (redis === undefined) return undefined;
  retainSharedRedis(RED, node);
  return claimStoreFor(redis);
}
