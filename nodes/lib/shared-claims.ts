/**
 * The claim store of callback idempotency across instances: one per Redis connection, shared by
 * every node of the runtime, so that one outage leaves one backlog of keys to write back.
 */
import { RedisClaimStore } from '../../src/shared-state';
import type { SharedRedis } from '../../src/shared-state';
import type { SharedClaimStore } from '../../src/callbacks';
import { onePer } from '../../src/shared';

export const claimStoreFor: (redis: SharedRedis) => SharedClaimStore = onePer((redis: SharedRedis) => new RedisClaimStore(redis));
