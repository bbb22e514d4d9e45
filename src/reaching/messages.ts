/**
 * The input message of a command that is kept trying, as it is written to disk and read back after a
 * restart: outputs 2 and 3 and Catch errors carry its properties, as they do for a live message.
 */

/** A message bigger than this is kept without its extra properties: one message must not bloat the store. */
export const MAX_STORED_MESSAGE_CHARS = 16 * 1024;

/** Properties that hold live objects (core `http in`'s request and response), never data to keep. */
const LIVE_PROPERTIES = new Set(['req', 'res', '_event', '_linkSource']);

type Message = Record<string, unknown>;

function essentials(msg: Message): Message {
  const kept: Message = {};
  for (const key of ['_msgid', 'topic', 'payload']) if (msg[key] !== undefined) kept[key] = msg[key];
  return kept;
}

function stringify(msg: Message): string {
  return JSON.stringify(msg, function (this: unknown, key, value: unknown) {
    return this === msg && LIVE_PROPERTIES.has(key) ? undefined : value;
  });
}

/**
 * The message as JSON (Buffers as `{type: 'Buffer', data}`, as JSON.stringify writes them); `reduced`
 * tells the caller that only `_msgid`, `topic` and `payload` were kept (too big, or not serialisable).
 */
export function serialiseMessage(msg: Message): { text: string; reduced: boolean } {
  try {
    const text = stringify(msg);
    if (text.length <= MAX_STORED_MESSAGE_CHARS) return { text, reduced: false };
  } catch {
    // circular or otherwise not JSON: fall through to the essentials
  }
  let text: string;
  try {
    text = stringify(essentials(msg));
  } catch {
    text = JSON.stringify({ _msgid: msg._msgid });
  }
  return { text, reduced: true };
}

function isBufferJson(value: unknown): value is { type: 'Buffer'; data: number[] } {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data);
}

/** A fresh message object from what serialiseMessage wrote; Buffers come back as Buffers. */
export function deserialiseMessage(text: string): Message {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, (_key, value: unknown) => (isBufferJson(value) ? Buffer.from(value.data) : value));
  } catch {
    return {};
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Message) : {};
}
