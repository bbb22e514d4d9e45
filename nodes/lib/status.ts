import type { Node, NodeStatus } from './red';

/**
 * `status` with ` · suffix` appended (a passing condition such as Redis being away); with nothing else
 * to show, the suffix alone, as a yellow ring.
 */
export function withSuffix(status: NodeStatus, suffix: string): NodeStatus {
  if (suffix === '') return status;
  if (status.text === undefined || status.text === '') return { fill: 'yellow', shape: 'ring', text: suffix };
  return { ...status, text: `${String(status.text)} · ${suffix}` };
}

/** How often a node's status may change at most: every change is a message to every open editor. */
export const STATUS_INTERVAL_MS = 250;

/**
 * A node status that follows a flood of events at a few updates a second: a change shows at once
 * when the last one is old enough, else the latest one shows when the interval is over.
 */
export class ThrottledStatus {
  readonly #node: Pick<Node, 'status'>;
  readonly #intervalMs: number;
  #shownAt = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  #pending: (() => NodeStatus) | undefined;
  #closed = false;

  constructor(node: Pick<Node, 'status'>, intervalMs = STATUS_INTERVAL_MS) {
    this.#node = node;
    this.#intervalMs = intervalMs;
  }

  /** A function is only called when the status is really shown, so costly texts are built once per interval. */
  show(status: NodeStatus | (() => NodeStatus)): void {
    if (this.#closed) return;
    const render = typeof status === 'function' ? status : () => status;
    const wait = this.#shownAt + this.#intervalMs - Date.now();
    if (wait <= 0 && this.#timer === undefined) {
      this.#render(render);
      return;
    }
    this.#pending = render;
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      const pending = this.#pending;
      this.#pending = undefined;
      if (pending) this.#render(pending);
    }, Math.max(0, wait));
  }

  /** For a change of state the user must see now (loaded, broken): drops any pending update. */
  showNow(status: NodeStatus): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = undefined;
    this.#render(() => status);
  }

  /** Stops pending updates and clears the status, as a node does when it closes. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = undefined;
    this.#node.status({});
  }

  #render(render: () => NodeStatus): void {
    this.#shownAt = Date.now();
    this.#node.status(render());
  }
}
