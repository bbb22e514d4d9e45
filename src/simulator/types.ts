import type { HttpMethod } from '../api';
import type { CommandKind } from '../shared';

export type SimulatorMode = 'kore' | 'twilio';

export interface SimulatorTiming {
  /** queued -> sent (or failed) of an IP Command. */
  ipSentMs?: number;
  /** queued -> sent (or failed) of an SMS or Wireless Command. */
  smsSentMs?: number;
  /** sent -> delivered of an SMS or Wireless Command. */
  smsDeliveredMs?: number;
  /** Pause before each retry of a failed callback. */
  callbackRetryMs?: number;
}

export interface SimulatedFleetOptions {
  uniqueName?: string;
  ipCommandsUrl?: string | null;
  ipCommandsMethod?: HttpMethod;
  smsCommandsUrl?: string | null;
  smsCommandsMethod?: HttpMethod;
}

/**
 * Super SIM statuses, and the Wireless ones (`suspended`… are for Wireless SIMs only; `inactive` of a
 * Wireless SIM becomes `suspended`).
 */
export type SimulatedSimStatus = 'active' | 'ready' | 'inactive' | 'new' | 'scheduled' | 'suspended' | 'deactivated' | 'canceled' | 'updating';

/** Many SIMs at once (generateSims), enough to page through. */
export interface GeneratedSimsOptions {
  /** How many; 1 to 50000. */
  count: number;
  /** Default 'sim-': names sim-0001, sim-0002… (more digits past 9999). */
  prefix?: string;
  /** A fleet's unique name or SID; it must exist (SimulatorOptions.fleets); the default fleet when omitted. */
  fleet?: string;
  /** Default 'supersim'. */
  api?: 'supersim' | 'wireless';
  /** Given out in turn, e.g. ['active', 'active', 'inactive']; default all 'active'. */
  statuses?: readonly SimulatedSimStatus[];
}

export interface SimulatedSimOptions {
  uniqueName: string;
  /** 'supersim' (sid HS…, default) or 'wireless' (Programmable Wireless, sid DE…). */
  api?: 'supersim' | 'wireless';
  /** Default 'active'. Commands to a SIM neither active nor ready are refused with a 400, as the real API does. */
  status?: SimulatedSimStatus;
  /** Default true. Commands to a detached SIM go queued -> failed. */
  attached?: boolean;
  /**
   * A device that sleeps: detached for asleepMs from the start, then attached for awakeMs (default
   * asleepMs), repeating until wake(), attach() or detach() on the device, or close. Overrides `attached`.
   */
  sleep?: { asleepMs: number; awakeMs?: number };
  /** Fleet sid or unique name; the default fleet when omitted. */
  fleet?: string;
  /** Default: a generated 20-digit ICCID starting 89. */
  iccid?: string;
  /** Wireless SIMs: where Commands the device sends (from_sim) are reported; the API's SIM update changes it. */
  commandsCallbackUrl?: string;
  commandsCallbackMethod?: HttpMethod;
}

export interface SimulatorOptions {
  /** Default 'kore'. */
  mode?: SimulatorMode;
  /** Default 0 (an ephemeral port). The host is always 127.0.0.1. */
  port?: number;
  /** KORE client credentials; defaults 'sim-client-id' / 'sim-client-secret'. */
  clientId?: string;
  clientSecret?: string;
  /** Twilio credentials; the account SID is also the account_sid of every resource in both modes. */
  accountSid?: string;
  authToken?: string;
  /**
   * KORE callbacks carry a kore-signature made with this secret when it is not empty; default
   * 'sim-webhook-secret'. A secret created through the webhook-secrets API signs them from then on.
   */
  webhookSecret?: string;
  /** Default 3600. */
  tokenTtlSeconds?: number;
  timing?: SimulatorTiming;
  /** Extra tries of a callback answered non-2xx or failing; default 2. Every try carries the same idempotency token. */
  callbackRetries?: number;
  sims?: SimulatedSimOptions[];
  /** Fleets beside the default one (named 'default'); an entry named 'default' configures that one. */
  fleets?: SimulatedFleetOptions[];
  /** Per kind of command; the oldest are dropped past this (bounded memory under benchmarks). Default 100000. */
  maxStoredCommands?: number;
}

export interface SimulatorCredentials {
  clientId: string;
  clientSecret: string;
  accountSid: string;
  authToken: string;
  webhookSecret: string;
}

export interface SimulatorStats {
  /** Every HTTP request to the APIs and the token endpoint, faulted ones included (not the /simulator/ control routes). */
  requests: number;
  /** POSTs to the token endpoint. */
  tokenRequests: number;
  /** Requests by method and exact path without query, e.g. count('POST', '/supersim/v1/IpCommands'); faulted ones included. */
  count(method: string, path: string): number;
  /** Resources actually created (to_sim) by API requests. */
  created: { ip: number; sms: number; wireless: number };
  /** Callback deliveries (each try) and tries that failed. */
  callbacks: { sent: number; failed: number };
  reset(): void;
}

/**
 * What a matching request meets. Only 'status' and reset 'before' stop the request from being acted
 * on; with the others the API does its work (a create creates, its lifecycle and callbacks run) and
 * the fault decides what the client gets to see of it.
 */
export type FaultKind =
  /** Answered with this error at once, without acting. */
  | { kind: 'status'; status: number; code?: number; message?: string; retryAfter?: string }
  /** The connection drops, before acting or after. */
  | { kind: 'reset'; when: 'before' | 'after' }
  /** The answer (or only its body) comes ms late. */
  | { kind: 'delay'; ms: number; phase?: 'headers' | 'body' }
  /** Never answered, for a client's timeout; the socket is destroyed on close. */
  | { kind: 'hang' }
  /**
   * Answered when the test says so: held (and counted in `faults.held`) until `faults.release()`
   * writes it as it would have been, or close destroys the socket. A create that is "on the wire".
   */
  | { kind: 'hold' };

export type FaultTarget = 'token' | 'ipCommands' | 'smsCommands' | 'wirelessCommands' | 'fleets' | 'sims' | 'wirelessSims' | 'webhookSecrets' | 'any';

export interface FaultRule {
  method?: string;
  /** Matched against the path without query, e.g. '/supersim/v1/IpCommands'. */
  path?: string | RegExp;
  /** A shortcut for the paths of one resource (collection and instances). */
  target?: FaultTarget;
  /** Default 1; Infinity for always. */
  times?: number;
}

/** The kind of command that reached the device. */
export type ReceivedChannel = CommandKind;

export interface ReceivedItem {
  channel: ReceivedChannel;
  devicePort?: number;
  bytes: Buffer;
  text?: string;
  commandSid: string;
  at: number;
}

export interface IpReceiveInfo {
  devicePort: number;
  commandSid: string;
  /** Sends a datagram back to the sender (the carrier), where it becomes a from_sim IP Command. */
  reply(bytes: Buffer | string): Promise<void>;
}
