/**
 * The claim store of callback idempotency across instances: one per Redis connection, shared by
 * every node of the runtime, so that one outage leaves one backlog of keys to write back.
 */
import { RedisClaimStore } from '../../src/shared-state';
import type { SharedRedis } from '../../src/shared-state';
import type { SharedClaimStore } from '../../src/callbacks';
import { retainSharedRedis, sharedRedisOf, useSharedRedis } from './shared-state';
import type { Node, NodeAPI, NodeStatus } from './red';
import type { ThrottledStatus } from './status';

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

export interface RedisAwareStatus {
  redis: SharedRedis | undefined;
  /** ThrottledStatus.show, with the outage appended while Redis is down. */
  show(render: () => NodeStatus): void;
  /** For a status shown before anything happened (`{}`): the outage alone while Redis is down. */
  initial(): NodeStatus;
}

/**
 * A node's status and log for Redis outages: the status it shows carries the outage (or says it alone
 * when the node shows nothing), refreshed as health changes; one warning when Redis goes, one log
 * line when it is back. Keys: `<type>.status.redis-down`, `<type>.errors.redis-down`, `<type>.errors.redis-back`.
 */
export function redisAwareStatus(RED: NodeAPI, node: Node, shown: ThrottledStatus, type: string): RedisAwareStatus {
  let last: () => NodeStatus = () => ({});
  let down = false;
  const decorated = (status: NodeStatus): NodeStatus => {
    const suffix = shared.suffix();
    if (suffix === '') return status;
    if (status.text === undefined) return { fill: 'yellow', shape: 'ring', text: RED._(`${type}.status.redis-down`) };
    return { ...status, text: `${String(status.text)}${suffix}` };
  };
  const shared = useSharedRedis(RED, node, () => {
    const now = shared.redis?.health === 'down';
    // The connection reports every change of health ('connecting' too); only going and coming back are news.
    if (now && !down) node.warn(RED._(`${type}.errors.redis-down`));
    else if (!now && down) node.log(RED._(`${type}.errors.redis-back`));
    down = now;
    shown.showNow(decorated(last()));
  });
  return {
    redis: shared.redis,
    show: (render) => {
      last = render;
      shown.show(() => decorated(render()));
    },
    initial: () => decorated({}),
  };
}
