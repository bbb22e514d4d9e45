import type { FilterDecision, StatusFilterState } from './state';

/** The message properties the status filter reads; anything else on the message is left alone. */
export interface FilterMessage {
  command?: unknown;
  payload?: unknown;
  reset?: unknown;
}

export type ResetRequest = { all: true } | { all: false; sid: string };

/** What a message did: 'reset', or the filter's decision; `changed` when the state has news to save. */
export interface MessageOutcome {
  decision: FilterDecision | 'reset';
  changed: boolean;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** `{sid, status}` from msg.command (supersim-command-in), else from msg.payload (a send node's resource). */
export function commandOf(msg: FilterMessage): { sid: unknown; status: unknown } | undefined {
  for (const source of [msg.command, msg.payload]) {
    if (isObject(source) && !Buffer.isBuffer(source) && 'sid' in source) return { sid: source.sid, status: source.status };
  }
  return undefined;
}

/**
 * Only `true` and a SID string count as a reset: any other value is an ordinary property, so that a
 * stray `reset: 0` or `reset: {}` from upstream cannot wipe what the filter knows.
 */
export function resetOf(msg: FilterMessage, command: { sid: unknown } | undefined): ResetRequest | undefined {
  const reset = msg.reset;
  if (typeof reset === 'string' && reset !== '') return { all: false, sid: reset };
  if (reset !== true) return undefined;
  return typeof command?.sid === 'string' && command.sid !== '' ? { all: false, sid: command.sid } : { all: true };
}

/** Applies one message to the state: a reset, or a status to judge. */
export function applyMessage(state: StatusFilterState, msg: FilterMessage): MessageOutcome {
  const command = commandOf(msg);
  const reset = resetOf(msg, command);
  if (reset !== undefined) {
    if (reset.all) {
      state.clear();
      return { decision: 'reset', changed: true };
    }
    return { decision: 'reset', changed: state.reset(reset.sid) };
  }
  const decision = state.decide(command?.sid, command?.status);
  // A status that moves the command forward is recorded even when not selected.
  return { decision, changed: decision === 'pass' || decision === 'not-selected' };
}
