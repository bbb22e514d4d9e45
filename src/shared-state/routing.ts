import { onePer } from '../shared';
import type { SharedRedis } from './connection';

/** What routing needs of an event: its command SID (status events and answers alike). */
export interface RoutableEvent {
  sid: string;
}

/** The account's callback hub, as routing sees it (src/tracking's CallbackHub fits). */
export interface RoutedStatusHub<E extends RoutableEvent> {
  deliverRouted(event: E): boolean;
  setUntrackedHook(hook: ((event: E) => void) | undefined): void;
}

/** The account's answer desk, as routing sees it (src/reaching's AnswerDesk fits). */
export interface RoutedAnswerDesk<E extends RoutableEvent> {
  offerRouted(event: E, claim: () => Promise<boolean>): boolean;
  setUnmatchedHook(hook: ((event: E) => (() => Promise<boolean>) | undefined) | undefined): void;
}

export type RoutingRedis = Pick<SharedRedis, 'instanceId' | 'key' | 'run' | 'subscribe' | 'publish'>;

export interface RouteStats {
  published: number;
  /** Publishes that failed (Redis down): the event stayed local, as without other instances. */
  publishFailures: number;
  received: number;
  claimsWon: number;
  claimsLost: number;
}

/** How long an answer's claim is remembered: far longer than any copy of the answer is kept. */
export const ANSWER_CLAIM_MS = 10 * 60_000;

interface RouteMessage {
  v: 1;
  from: string;
  account: string;
  type: 'status' | 'answer';
  event: RoutableEvent;
}

/** JSON turns a Buffer payload into {type:'Buffer',data}; this turns it back. */
function revive(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return Buffer.from((value as { data: number[] }).data);
  }
  return value;
}

function parse(message: string): RouteMessage | undefined {
  try {
    const parsed = JSON.parse(message, revive) as Partial<RouteMessage> | null;
    if (parsed?.v !== 1 || typeof parsed.from !== 'string' || typeof parsed.account !== 'string') return undefined;
    if ((parsed.type !== 'status' && parsed.type !== 'answer') || typeof parsed.event?.sid !== 'string') return undefined;
    return parsed as RouteMessage;
  } catch {
    return undefined;
  }
}

interface Attached {
  hub: RoutedStatusHub<RoutableEvent>;
  desk: RoutedAnswerDesk<RoutableEvent>;
}

/**
 * Passes status events and answers that reach an instance where nobody waits for them to the other
 * instances on `<prefix>route`, and delivers theirs here; one per SharedRedis (eventRouterOf).
 */
export class EventRouter {
  readonly stats: RouteStats = { published: 0, publishFailures: 0, received: 0, claimsWon: 0, claimsLost: 0 };
  readonly #redis: RoutingRedis;
  readonly #channel: string;
  readonly #claimMs: number;
  readonly #accounts = new Map<string, Attached>();
  #unsubscribe: Promise<(() => Promise<void>) | undefined> | undefined;

  constructor(redis: RoutingRedis, options: { claimMs?: number } = {}) {
    this.#redis = redis;
    this.#channel = redis.key('route');
    this.#claimMs = options.claimMs ?? ANSWER_CLAIM_MS;
  }

  /** Routes the account's events; resolves once routed events can arrive. The returned function ends it. */
  async attach<E extends RoutableEvent>(accountId: string, hub: RoutedStatusHub<E>, desk: RoutedAnswerDesk<E>): Promise<() => Promise<void>> {
    const attached = { hub, desk } as unknown as Attached;
    this.#accounts.set(accountId, attached);
    hub.setUntrackedHook((event) => void this.#publish(accountId, 'status', event));
    desk.setUnmatchedHook((event) => {
      const publishing = this.#publish(accountId, 'answer', event);
      // Nobody else got it when the publish failed; else the instance it reached first wins a tie with Redis down.
      return async () => (await publishing) ? this.#claim(event.sid, true) : true;
    });
    this.#unsubscribe ??= this.#redis.subscribe(this.#channel, (message) => this.#receive(message)).catch(() => undefined);
    await this.#unsubscribe;
    return async () => {
      hub.setUntrackedHook(undefined);
      desk.setUnmatchedHook(undefined);
      if (this.#accounts.get(accountId) === attached) this.#accounts.delete(accountId);
      if (this.#accounts.size > 0 || this.#unsubscribe === undefined) return;
      const unsubscribing = this.#unsubscribe;
      this.#unsubscribe = undefined;
      await (await unsubscribing)?.().catch(() => undefined);
    };
  }

  async #publish(account: string, type: RouteMessage['type'], event: RoutableEvent): Promise<boolean> {
    const message: RouteMessage = { v: 1, from: this.#redis.instanceId, account, type, event };
    try {
      await this.#redis.publish(this.#channel, JSON.stringify(message));
      this.stats.published++;
      return true;
    } catch {
      this.stats.publishFailures++;
      return false;
    }
  }

  #receive(text: string): void {
    const message = parse(text);
    if (message === undefined || message.from === this.#redis.instanceId) return;
    const attached = this.#accounts.get(message.account);
    if (attached === undefined) return;
    this.stats.received++;
    try {
      if (message.type === 'status') attached.hub.deliverRouted(message.event);
      else attached.desk.offerRouted(message.event, () => this.#claim(message.event.sid, false));
    } catch {
      // One bad event must not stop routing for the others.
    }
  }

  /** SET NX: exactly one instance hands an answer over. With Redis unreachable only the instance it reached first may. */
  async #claim(sid: string, arrivedHere: boolean): Promise<boolean> {
    let won: boolean;
    try {
      const reply = await this.#redis.run((client) => client.set(this.#redis.key('answer-claim', sid), this.#redis.instanceId, { condition: 'NX', expiration: { type: 'PX', value: this.#claimMs } }));
      won = reply === 'OK';
    } catch {
      won = arrivedHere;
    }
    if (won) this.stats.claimsWon++;
    else this.stats.claimsLost++;
    return won;
  }
}

/** The one router of a Redis connection: one subscription for every account of the runtime. */
export const eventRouterOf: (redis: RoutingRedis) => EventRouter = onePer((redis: RoutingRedis) => new EventRouter(redis));
