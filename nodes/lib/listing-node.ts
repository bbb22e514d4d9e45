import { shortReasonOf } from '../../src/listing';
import type { Node, NodeAPI, NodeMessage, NodeStatus } from './red';
import type { ThrottledStatus } from './status';

/**
 * The runtime the SIMs and command lookup nodes share: each message ends with its outcome on the
 * status and done() exactly once, and a close stops listings still paging at their next item (they
 * end their message with an error) before the node is gone.
 */
export function serveListing(
  RED: NodeAPI,
  node: Node,
  type: string,
  status: ThrottledStatus,
  stopping: AbortController,
  handle: (msg: NodeMessage, send: (out: NodeMessage | (NodeMessage | null)[]) => void) => Promise<NodeStatus>,
): void {
  const running = new Set<Promise<void>>();
  node.on('input', (msg, send, done) => {
    const work = handle(msg, (out) => send(out)).then(
      (shown) => {
        status.showNow(shown);
        done();
      },
      (err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        status.showNow({ fill: 'red', shape: 'ring', text: RED._(`${type}.status.failed`, { reason: shortReasonOf(error) }) });
        done(error);
      },
    );
    const entry = work.finally(() => running.delete(entry));
    running.add(entry);
  });

  node.on('close', (_removed, done) => {
    stopping.abort(new Error(RED._(`${type}.errors.stopped`)));
    Promise.allSettled([...running]).then(() => {
      status.close();
      done();
    });
  });
}
