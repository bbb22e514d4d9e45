/**
 * A node's status and log while Redis is configured: for nodes whose status shows what they last did,
 * such as command-in, which must also show that Redis is down.
 */
import type { SharedRedis } from '../../src/shared-state';
import { useSharedRedis } from './shared-state';
import type { Node, NodeAPI, NodeStatus } from './red';
import type { ThrottledStatus } from './status';

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
