import { ApiError } from '../api';
import type { SuperSimClient } from '../api';
import type { CommandKind as TrackedKind, CommandStatus } from '../shared';
import { classifyTransition, isCommandStatus, isTrackingDone } from '../commands';
import type { CallbackHub, StatusEventLike } from './hub';

/**
 * A command resource as the API returns it. Typed by the two fields tracking reads rather than as
 * `Record<string, unknown>`, which the client's resource interfaces (IpCommand, …) cannot be assigned to.
 */
export interface TrackedResource {
  sid: string;
  status: CommandStatus;
}

export interface StatusUpdate {
  sid: string;
  status: CommandStatus;
  /** The latest known resource with this status: what a flow gets as `msg.payload`. */
  resource: Record<string, unknown>;
  /** Tracking ends with this update. */
  final: boolean;
  source: 'callback' | 'poll';
}

/** `closed`: the tracker was closed (redeploy, shutdown); `error`: polling gave up, or onUpdate threw. */
export type TrackingEnd = 'final' | 'timeout' | 'closed' | 'error';

export interface TrackOptions {
  kind: TrackedKind;
  /** The created resource, as the create request answered. */
  resource: TrackedResource;
  mode: 'callback' | 'poll';
  timeoutMs: number;
  /** Wireless Commands only: whether a delivery receipt was requested (unknown counts as yes). */
  deliveryReceipt?: boolean;
  onUpdate(update: StatusUpdate): void;
  onEnd(reason: TrackingEnd, error?: Error): void;
}

export type FetchCommand = (kind: TrackedKind, sid: string) => Promise<TrackedResource>;

export interface PollOptions {
  /** Delay before the first fetch; default 1000. */
  initialMs?: number;
  /** Each later delay is the previous one times this; default 2. */
  factor?: number;
  /** Delays stop growing here; default 30 000. */
  maxMs?: number;
  /** Polling gives up after this many failed fetches in a row; default 5. */
  maxConsecutiveErrors?: number;
}

/** What the tracker uses of a hub; any CallbackHub<E> fits, whatever its richer event type. */
export type StatusEventSource = Pick<CallbackHub, 'subscribe'>;

export interface DeliveryTrackerOptions {
  fetch: FetchCommand;
  /** Required for mode 'callback'. */
  hub?: StatusEventSource;
  /** Default 1000. */
  maxTracked?: number;
  poll?: PollOptions;
}

/** The longest delay setTimeout honours; a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Fetches a command of any kind with the account's client; `signal` gives up polls still waiting to go out. */
export function clientFetcher(
  client: Pick<SuperSimClient, 'fetchIpCommand' | 'fetchSmsCommand' | 'fetchWirelessCommand'>,
  signal?: AbortSignal,
): FetchCommand {
  const options = { signal };
  return (kind, sid) => {
    switch (kind) {
      case 'ip':
        return client.fetchIpCommand(sid, options);
      case 'sms':
        return client.fetchSmsCommand(sid, options);
      case 'wireless':
        return client.fetchWirelessCommand(sid, options);
    }
  };
}

function atLeast(name: string, value: number, min: number): number {
  if (!(value >= min) || !Number.isFinite(value)) throw new RangeError(`${name} must be a finite number >= ${min}, got ${value}`);
  return value;
}

/** Errors after which no number of retries can help: the client is gone, or the command does not exist. */
function isPermanent(error: unknown): boolean {
  return error instanceof ApiError && (error.kind === 'closed' || error.kind === 'cancelled' || (error.kind === 'api' && error.status === 404));
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

interface Tracking {
  readonly options: TrackOptions;
  readonly sid: string;
  status: CommandStatus;
  resource: Record<string, unknown>;
  readonly timeout: ReturnType<typeof setTimeout>;
  pollTimer?: ReturnType<typeof setTimeout>;
  pollDelayMs: number;
  consecutiveErrors: number;
  unsubscribe?: () => void;
  ended: boolean;
}

/**
 * Follows the commands a send node created, one message per status change, until each is done or its
 * timeout runs out. Callbacks and polls can both repeat a status or bring them out of order; only
 * forward moves in the lifecycle are reported, so a flow sees every status once and in order.
 */
export class DeliveryTracker {
  readonly #fetch: FetchCommand;
  readonly #hub: StatusEventSource | undefined;
  readonly #maxTracked: number;
  readonly #initialMs: number;
  readonly #factor: number;
  readonly #maxMs: number;
  readonly #maxConsecutiveErrors: number;
  readonly #tracked = new Set<Tracking>();

  constructor(options: DeliveryTrackerOptions) {
    if (typeof options.fetch !== 'function') throw new TypeError('fetch must be a function');
    this.#fetch = options.fetch;
    this.#hub = options.hub;
    this.#maxTracked = atLeast('maxTracked', options.maxTracked ?? 1000, 1);
    const poll = options.poll ?? {};
    this.#initialMs = atLeast('poll.initialMs', poll.initialMs ?? 1000, 1);
    this.#factor = atLeast('poll.factor', poll.factor ?? 2, 1);
    this.#maxMs = atLeast('poll.maxMs', poll.maxMs ?? 30_000, this.#initialMs);
    this.#maxConsecutiveErrors = atLeast('poll.maxConsecutiveErrors', poll.maxConsecutiveErrors ?? 5, 1);
  }

  /** Commands being tracked now. */
  get size(): number {
    return this.#tracked.size;
  }

  /**
   * Starts tracking. False, and nothing started, when `maxTracked` commands are tracked already, so
   * the caller can say that tracking was skipped. A resource that is already done ends at once with
   * onEnd('final') (before this returns) and takes no place.
   */
  track(options: TrackOptions): boolean {
    const { kind, resource, mode, timeoutMs } = options;
    if (kind !== 'ip' && kind !== 'sms' && kind !== 'wireless') throw new TypeError(`kind must be 'ip', 'sms' or 'wireless', got ${String(kind)}`);
    if (typeof resource?.sid !== 'string' || resource.sid === '') throw new TypeError('resource.sid must be a non-empty string');
    if (!isCommandStatus(resource.status)) throw new TypeError(`resource.status is not a command status: ${String(resource.status)}`);
    if (!(timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)) throw new RangeError(`timeoutMs must be > 0 and <= ${MAX_TIMER_MS}, got ${timeoutMs}`);
    if (mode !== 'callback' && mode !== 'poll') throw new TypeError(`mode must be 'callback' or 'poll', got ${String(mode)}`);
    const hub = this.#hub;
    if (mode === 'callback' && hub === undefined) throw new TypeError("mode 'callback' needs the tracker's hub");

    if (isTrackingDone(kind, resource.status, options)) {
      safely(() => options.onEnd('final'));
      return true;
    }
    if (this.#tracked.size >= this.#maxTracked) return false;

    const tracking: Tracking = {
      options,
      sid: resource.sid,
      status: resource.status,
      resource: { ...resource },
      timeout: setTimeout(() => this.#end(tracking, 'timeout'), timeoutMs),
      pollDelayMs: this.#initialMs,
      consecutiveErrors: 0,
      ended: false,
    };
    this.#tracked.add(tracking);
    if (hub !== undefined && mode === 'callback') {
      // Kept early events are replayed inside subscribe(), and may end the tracking before it returns.
      const unsubscribe = hub.subscribe(tracking.sid, (event) => this.#onCallback(tracking, event));
      if (tracking.ended) unsubscribe();
      else tracking.unsubscribe = unsubscribe;
    } else {
      this.#schedulePoll(tracking);
    }
    return true;
  }

  /** Ends every tracking with onEnd('closed') and leaves no timer or subscription behind. */
  close(): void {
    for (const tracking of [...this.#tracked]) this.#end(tracking, 'closed');
  }

  #onCallback(tracking: Tracking, event: StatusEventLike): void {
    const resource: Record<string, unknown> = { ...tracking.resource, status: event.status };
    if (event.errorCode !== null && event.errorCode !== undefined) resource.error_code = event.errorCode;
    if (event.errorMessage !== null && event.errorMessage !== undefined) resource.error_message = event.errorMessage;
    // A callback carries no timestamp of its own; it is news now.
    resource.date_updated = new Date().toISOString();
    this.#advance(tracking, event.status, resource, 'callback');
  }

  #advance(tracking: Tracking, status: CommandStatus, resource: Record<string, unknown>, source: StatusUpdate['source']): void {
    if (tracking.ended || classifyTransition(tracking.status, status) !== 'forward') return;
    tracking.status = status;
    tracking.resource = resource;
    const { options } = tracking;
    const final = isTrackingDone(options.kind, status, options);
    try {
      options.onUpdate({ sid: tracking.sid, status, resource, final, source });
    } catch (error) {
      this.#end(tracking, 'error', asError(error));
      return;
    }
    if (final) this.#end(tracking, 'final');
  }

  /** No poll runs past the timeout: the end of tracking clears the poll's timer. */
  #schedulePoll(tracking: Tracking): void {
    tracking.pollTimer = setTimeout(() => this.#poll(tracking), tracking.pollDelayMs);
  }

  #poll(tracking: Tracking): void {
    tracking.pollTimer = undefined;
    // A fetch that throws instead of rejecting, or answers no promise, is still one fetch that failed or answered.
    new Promise<TrackedResource>((resolve) => resolve(this.#fetch(tracking.options.kind, tracking.sid)))
      .then(
        (resource) => {
          if (tracking.ended) return;
          tracking.consecutiveErrors = 0;
          this.#advance(tracking, resource.status, { ...resource }, 'poll');
        },
        (error: unknown) => {
          if (tracking.ended) return;
          tracking.consecutiveErrors++;
          if (tracking.consecutiveErrors >= this.#maxConsecutiveErrors || isPermanent(error)) this.#end(tracking, 'error', asError(error));
        },
      )
      .then(() => {
        if (tracking.ended) return;
        tracking.pollDelayMs = Math.min(tracking.pollDelayMs * this.#factor, this.#maxMs);
        this.#schedulePoll(tracking);
      })
      // Only a bug could land here; a rejection nobody handles would take the process down.
      .catch((error: unknown) => this.#end(tracking, 'error', asError(error)));
  }

  #end(tracking: Tracking, reason: TrackingEnd, error?: Error): void {
    if (tracking.ended) return;
    tracking.ended = true;
    clearTimeout(tracking.timeout);
    if (tracking.pollTimer !== undefined) clearTimeout(tracking.pollTimer);
    tracking.pollTimer = undefined;
    tracking.unsubscribe?.();
    tracking.unsubscribe = undefined;
    this.#tracked.delete(tracking);
    safely(() => (error === undefined ? tracking.options.onEnd(reason) : tracking.options.onEnd(reason, error)));
  }
}

/**
 * onEnd is the caller's last word on a tracking and runs in timers and promise callbacks, where a
 * throw would be an uncaught exception that stops Node-RED; there is nobody left to tell, so it is dropped.
 */
function safely(call: () => void): void {
  try {
    call();
  } catch {
    // see above
  }
}
