/**
 * The messages a listing node sends: one per item with `msg.parts` (`split`), or one with the whole
 * list (`array`). Plain objects in, plain objects out, so the node stays a thin adapter.
 */
import { randomBytes } from 'node:crypto';
import { collectAll, emitSequence } from './parts';
import type { SequenceParts } from './parts';
import type { ListOutput } from './sims';

export type Message = Record<string, unknown>;

export interface SendListedOptions<T> {
  /** The list, a batch at a time (readAhead, or oneByOne). */
  batches: AsyncIterable<readonly T[]>;
  output: ListOutput;
  /** The input message; `array` sends it on with the list as its payload. */
  msg: Message;
  /** A deep copy of a message (RED.util.cloneMessage), so that each one sent is the flow's own. */
  clone: (msg: Message) => Message;
  send: (msg: Message) => void;
  /** Properties beside payload and parts on each message of a `split` (msg.sim, msg.topic). */
  decorate?: (item: T, msg: Message) => void;
  signal?: AbortSignal;
  progress?: (read: number) => void;
}

/** Same shape as the ids core split gives its sequences. */
export function sequenceId(): string {
  return randomBytes(8).toString('hex');
}

/**
 * Whether a shallow copy of the message is already a deep one: an inject's message usually is, and a
 * deep clone per SIM would be most of what the node costs.
 */
function onlyPrimitives(msg: Message): boolean {
  for (const key in msg) {
    const value = msg[key];
    if ((typeof value === 'object' && value !== null) || typeof value === 'function') return false;
  }
  return true;
}

/**
 * Copies property by property into a fresh object: in V8 this is several times faster than a spread
 * (or a deep clone) when many properties are added to each copy afterwards.
 */
function shallowCopier(template: Message): (m: Message) => Message {
  const keys = Object.keys(template);
  return (m) => {
    const out: Message = {};
    for (const key of keys) out[key] = m[key];
    return out;
  };
}

/** Resolves with how many items were listed; nothing is sent for an empty `split`. */
export async function sendListed<T>(options: SendListedOptions<T>): Promise<number> {
  const { msg, clone, send, signal, progress } = options;
  if (options.output === 'array') {
    const all = await collectAll(options.batches, { signal, progress });
    msg.payload = all;
    send(msg);
    return all.length;
  }
  // The copies are made from the input as it came, before anything of a SIM is written on it.
  const template = clone(msg);
  const copy = onlyPrimitives(template) ? shallowCopier(template) : clone;
  return emitSequence(
    options.batches,
    (item: T, parts: SequenceParts) => {
      const out = copy(template);
      out.payload = item;
      options.decorate?.(item, out);
      out.parts = parts;
      send(out);
    },
    { id: sequenceId(), enclosing: msg.parts, signal, progress },
  );
}
