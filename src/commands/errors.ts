/** Longest bad value an error repeats back: enough to recognise it, never a whole payload in a log. */
const ACTUAL_MAX_CHARS = 40;

/**
 * A command failed a local check, so nothing was sent. `field` names the node property or msg
 * property at fault, so a flow (Catch node) can tell which input to fix without parsing the message.
 */
export class CommandValidationError extends Error {
  override readonly name = 'CommandValidationError';
  readonly field: string;
  readonly limit?: number | string;
  readonly actual?: number | string;

  constructor(field: string, message: string, details: { limit?: number | string; actual?: number | string } = {}) {
    super(message);
    this.field = field;
    this.limit = details.limit;
    this.actual = typeof details.actual === 'string' ? truncate(details.actual) : details.actual;
  }
}

export function truncate(text: string): string {
  return text.length > ACTUAL_MAX_CHARS ? `${text.slice(0, ACTUAL_MAX_CHARS - 1)}…` : text;
}

/** How a value reads inside an error message: strings quoted (and shortened), other things by kind. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(truncate(value));
  if (value === null || value === undefined) return String(value);
  if (value instanceof Uint8Array) return `a Buffer of ${value.length} bytes`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  return String(value);
}

/** The send nodes' fields by their editor labels; msg properties ("msg.sim") are named as they are. */
const FIELD_LABELS: Readonly<Record<string, string>> = {
  sim: 'SIM',
  devicePort: 'Device port',
  payloadType: 'Payload type',
  callbackUrl: 'Callback URL',
  callbackMethod: 'Callback method',
  commandMode: 'Command mode',
  includeSid: 'Include SID',
  api: 'API',
};

/** How a message names a field: users see labels in the editor, never the property names behind them. */
export function fieldLabel(field: string): string {
  return FIELD_LABELS[field] ?? field;
}
