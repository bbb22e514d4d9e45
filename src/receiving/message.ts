import type { CommandEvent } from '../callbacks';

/** `msg.command`: the same shape on both outputs, so one Switch or status filter serves both. */
export type CommandSummary = Pick<
  CommandEvent,
  'sid' | 'kind' | 'direction' | 'status' | 'sim' | 'payloadType' | 'errorCode' | 'errorMessage' | 'accountSid'
>;

/** `msg.callback`: what the request carried beyond the command, for flows that need more than the summary. */
export interface CallbackDetails {
  /** Every parameter as received (strings), including fields this package does not map. */
  params: Record<string, string>;
  apiVersion: string | null;
  idempotencyToken: string | null;
  /** false only for a KORE callback accepted without a webhook secret: nothing proved where it came from. */
  verified: boolean;
}

export interface CommandMessage {
  /** Output 1: the device's data, a string for text and a Buffer for binary. Output 2: the status. */
  payload: string | Buffer;
  /** The SIM's unique name, else its SID; absent when the callback named neither. */
  topic?: string;
  command: CommandSummary;
  callback: CallbackDetails;
  /** Downstream nodes add their own properties. */
  [property: string]: unknown;
}

/** 0: from devices (`from_sim`); 1: status of commands sent to devices (`to_sim`). */
export type OutputIndex = 0 | 1;

export interface RoutedMessage {
  output: OutputIndex;
  msg: CommandMessage;
}

export function summaryOf(event: CommandEvent): CommandSummary {
  return {
    sid: event.sid,
    kind: event.kind,
    direction: event.direction,
    status: event.status,
    sim: { ...event.sim },
    payloadType: event.payloadType,
    errorCode: event.errorCode,
    errorMessage: event.errorMessage,
    accountSid: event.accountSid,
  };
}

/** Who a status line or a topic names: the SIM as people call it, else as the API does. */
export function simLabelOf(event: Pick<CommandEvent, 'sim'>): string | undefined {
  return event.sim.uniqueName ?? event.sim.sid ?? undefined;
}

/**
 * The message a callback becomes and the output it leaves by. A device's data is the payload of
 * output 1 (a callback without any gives an empty one of its type, so a flow never meets null); a
 * status callback's payload is its status, the one thing every flow on output 2 switches on.
 */
export function messageOf(event: CommandEvent, verified: boolean): RoutedMessage {
  const fromDevice = event.direction === 'from_sim';
  const data = event.payload ?? (event.payloadType === 'binary' ? Buffer.alloc(0) : '');
  const msg: CommandMessage = {
    payload: fromDevice ? data : event.status,
    command: summaryOf(event),
    callback: { params: { ...event.params }, apiVersion: event.apiVersion, idempotencyToken: event.idempotencyToken, verified },
  };
  const topic = simLabelOf(event);
  if (topic !== undefined) msg.topic = topic;
  return { output: fromDevice ? 0 : 1, msg };
}

/** The array node.send takes for a two-output node. */
export function outputsOf(routed: RoutedMessage): [CommandMessage | null, CommandMessage | null] {
  return routed.output === 0 ? [routed.msg, null] : [null, routed.msg];
}
