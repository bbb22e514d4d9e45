/**
 * One lane per message kind (API, SIM, request) for what creates commands and what looks them up
 * after a restart. A lookup adopts a listed command that matches its request and that no other
 * message holds; two lookups at once, or a lookup while a create of the same request is on the wire,
 * would both see a command whose owner does not know its sid yet, and one message would take
 * another's command. So creates may run together, a lookup runs alone, and each waits its turn in
 * the order they came.
 */
interface Waiting {
  readonly exclusive: boolean;
  start(): void;
}

interface Lane {
  shared: number;
  exclusive: boolean;
  readonly queue: Waiting[];
}

export class SimLanes {
  readonly #lanes = new Map<string, Lane>();

  /** Runs `work` beside other shared work of this key, never beside exclusive work. */
  shared<T>(key: string, work: () => Promise<T>): Promise<T> {
    return this.#run(key, false, work);
  }

  /** Runs `work` alone in this key's lane, after what came before it. */
  exclusive<T>(key: string, work: () => Promise<T>): Promise<T> {
    return this.#run(key, true, work);
  }

  async #run<T>(key: string, exclusive: boolean, work: () => Promise<T>): Promise<T> {
    let lane = this.#lanes.get(key);
    if (lane === undefined) {
      lane = { shared: 0, exclusive: false, queue: [] };
      this.#lanes.set(key, lane);
    }
    const held = lane;
    if (held.queue.length > 0 || !this.#canStart(held, exclusive)) {
      await new Promise<void>((resolve) => held.queue.push({ exclusive, start: resolve }));
    } else {
      this.#take(held, exclusive);
    }
    try {
      return await work();
    } finally {
      if (exclusive) held.exclusive = false;
      else held.shared--;
      this.#pump(key, held);
    }
  }

  #canStart(lane: Lane, exclusive: boolean): boolean {
    return !lane.exclusive && (!exclusive || lane.shared === 0);
  }

  #take(lane: Lane, exclusive: boolean): void {
    if (exclusive) lane.exclusive = true;
    else lane.shared++;
  }

  #pump(key: string, lane: Lane): void {
    while (lane.queue.length > 0 && this.#canStart(lane, lane.queue[0].exclusive)) {
      const next = lane.queue.shift() as Waiting;
      this.#take(lane, next.exclusive);
      next.start();
    }
    if (lane.queue.length === 0 && lane.shared === 0 && !lane.exclusive) this.#lanes.delete(key);
  }
}

/**
 * The lane of a message's commands: its API, its SIM as the user named it, and what a lookup matches a
 * listed command by (reconcile.ts); commands that cannot match each other do not wait for each other.
 */
export function laneOf(record: { kind: string; sim: string; request: Record<string, unknown> }): string {
  const { request } = record;
  // Base64 has several spellings of the same bytes; a lookup matches the bytes.
  const bytes = (value: unknown): unknown => (typeof value === 'string' ? Buffer.from(value, 'base64').toString('base64') : value);
  const matched =
    record.kind === 'wireless'
      ? [request.commandMode === 'binary' ? bytes(request.command) : request.command, request.commandMode ?? 'text']
      : record.kind === 'ip'
        ? [request.payloadType === 'binary' ? bytes(request.payload) : request.payload, request.devicePort, request.payloadType ?? 'text']
        : [request.payload];
  return JSON.stringify([record.kind, record.sim, ...matched]);
}
