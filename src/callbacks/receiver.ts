import type { CommandEvent } from './event';
import { toCommandEvent } from './event';
import { IdempotencyCache } from './idempotency';
import { CallbackParseError, DEFAULT_MAX_BODY_BYTES, parseCallback } from './params';
import type { ParsedCallback } from './params';
import { headerOf } from './request';
import type { CallbackRequest } from './request';
import { KORE_IDEMPOTENCY_HEADER, TWILIO_IDEMPOTENCY_HEADER } from './signatures';
import { publicUrlOf } from './url';
import type { PublicUrlOptions } from './url';
import { verifyKore, verifyTwilio } from './verify';
import type { Verification } from './verify';
import { claimShared } from './shared-claims';
import type { SharedIdempotency } from './shared-claims';

export interface ReceiverOptions extends PublicUrlOptions {
  provider: 'kore' | 'twilio';
  /** Twilio: the Auth Token that keys X-Twilio-Signature. Without it a twilio receiver refuses everything. */
  authToken?: string;
  /** KORE: when set, kore-signature is required and checked; when unset, callbacks are accepted unverified. */
  webhookSecret?: string;
  /** Default DEFAULT_MAX_BODY_BYTES; larger bodies get 413. */
  maxBodyBytes?: number;
  /** Default: a cache of this receiver's own; pass one to share it between receivers of one account. */
  idempotency?: IdempotencyCache;
  /** Several Node-RED instances: a callback the local cache lets through is emitted only if this claims it too. */
  shared?: SharedIdempotency;
}

/** Why a request was refused, as an HTTP status: the receiver's verdict (415 included, see `receive`). */
export type RefusalStatus = 400 | 403 | 405 | 413 | 415;

/**
 * What became of one request, for every webhook of the package (command-in and the account's status
 * route): accepted (emit it), a duplicate (answer 2xx, emit nothing), or refused (answer `status`).
 * Every variant names every field, so a caller may read `event` or `reason` without narrowing first.
 */
export type ReceiverResult =
  | {
      outcome: 'accepted';
      status: 200;
      event: CommandEvent;
      duplicate: false;
      /** false only for KORE callbacks accepted without a webhook secret. */
      verified: boolean;
      reason?: undefined;
      answer?: undefined;
      refusal?: undefined;
    }
  /** A callback already accepted (a retry, or the same event again): answered 2xx so the provider stops, and emitted nothing. */
  | { outcome: 'duplicate'; status: 200; event: CommandEvent; duplicate: true; verified: boolean; reason?: undefined; answer?: undefined; refusal?: undefined }
  | {
      outcome: 'refused';
      status: RefusalStatus;
      /** The whole reason, for the node's log. */
      reason: string;
      /** What the sender is told. */
      answer: string;
      /** Set on a 403 the sender can do something about. */
      refusal?: RefusalKind;
      event?: undefined;
      duplicate?: undefined;
      verified?: undefined;
    };

export type AcceptedCallback = Extract<ReceiverResult, { outcome: 'accepted' }>;

/** 403s with advice of their own. `unsigned-get`: a GET to a KORE account with a webhook secret, which cannot be verified. */
export type RefusalKind = 'unsigned-get';

/**
 * KORE's signature covers neither the query string nor anything else a GET carries, so one signed GET
 * would let whoever saw it send any event to the same path.
 */
export const KORE_GET_REASON = 'KORE does not sign GET callbacks, so this one cannot be verified: set the callback method to POST';

/**
 * A forger learns nothing from why a signature failed (which URL was tried, which secret is missing);
 * the node's warning tells the owner.
 */
export const FORBIDDEN_ANSWER = 'Forbidden: the request is not signed as the account’s provider signs callbacks';

function refused(status: RefusalStatus, reason: string, refusal?: RefusalKind): ReceiverResult {
  // The provider's own configuration is at fault, not a forger's guess: the sender may know what to change.
  if (refusal !== undefined) return { outcome: 'refused', status, reason, answer: `Forbidden: ${reason}`, refusal };
  return { outcome: 'refused', status, reason, answer: status === 403 ? FORBIDDEN_ANSWER : reason };
}

const IDEMPOTENCY_HEADERS = { kore: KORE_IDEMPOTENCY_HEADER, twilio: TWILIO_IDEMPOTENCY_HEADER } as const;

/** Turns received requests into command events, refusing what is malformed or not from the provider. */
export class CallbackReceiver {
  readonly maxBodyBytes: number;
  readonly #options: ReceiverOptions;
  readonly #idempotency: IdempotencyCache;

  constructor(options: ReceiverOptions) {
    if (options.provider !== 'kore' && options.provider !== 'twilio') throw new TypeError(`provider must be 'kore' or 'twilio', got ${String(options.provider)}`);
    const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) throw new RangeError(`maxBodyBytes must be an integer >= 1, got ${maxBodyBytes}`);
    const base = options.publicBaseUrl;
    if (base !== undefined && base !== '' && !/^https?:\/\/[^/?#]/i.test(base)) {
      throw new TypeError(`publicBaseUrl must be an http(s) URL such as https://nodered.example.com, got ${JSON.stringify(base)}`);
    }
    this.maxBodyBytes = maxBodyBytes;
    this.#options = { ...options };
    this.#idempotency = options.idempotency ?? new IdempotencyCache();
  }

  /**
   * Never throws: every input gets a status. 200 with an event (duplicate:true for a repeated
   * idempotency token or event: emit nothing); 400 malformed; 403 failed verification, or a GET to a
   * KORE account with a webhook secret; 405 a method other than GET/POST; 413 too large; 415 a POST
   * neither form nor JSON.
   */
  handle(request: CallbackRequest): ReceiverResult {
    try {
      return this.#handle(request);
    } catch (error) {
      if (error instanceof CallbackParseError) return refused(error.status, error.message);
      // Only a bug gets here; whatever it is, the request is not accepted.
      return refused(400, 'the request could not be read as a callback');
    }
  }

  #handle(request: CallbackRequest): ReceiverResult {
    const { provider, authToken } = this.#options;
    if (provider === 'twilio' && (authToken === undefined || authToken === '')) {
      return refused(403, 'the account has no Auth Token, so no Twilio callback can be verified; set it in the account node');
    }
    if (provider === 'kore' && this.#verifiesKore && request.method === 'GET') return refused(403, KORE_GET_REASON, 'unsigned-get');
    const parsed = parseCallback(request, this.maxBodyBytes);
    // Before the idempotency check: a forged request must not make the real one look like a duplicate.
    const verification = this.#verify(request, parsed);
    if (!verification.ok) return refused(403, verification.reason);
    const token = headerOf(request.headers, IDEMPOTENCY_HEADERS[provider]) || null;
    const event = toCommandEvent(parsed.params, token);
    // Both are recorded whatever the other says, so that either alone recognises the next repeat.
    const tokenSeen = token !== null && this.#idempotency.seenBefore(token);
    const eventSeen = this.#idempotency.eventSeenBefore(event);
    if (tokenSeen || eventSeen) return { outcome: 'duplicate', status: 200, event, duplicate: true, verified: verification.verified };
    return { outcome: 'accepted', status: 200, event, duplicate: false, verified: verification.verified };
  }

  /** Whether `claim` may turn an accepted callback into a duplicate (a shared store is set). */
  get sharesIdempotency(): boolean {
    return this.#options.shared !== undefined;
  }

  /**
   * The second, shared line after `handle`: an accepted callback stays accepted only if the shared
   * store claims it (another instance may have emitted it). Never rejects; without a store, or for a
   * result that is not accepted, the result as it is.
   */
  async claim(result: ReceiverResult): Promise<ReceiverResult> {
    const shared = this.#options.shared;
    if (shared === undefined || result.outcome !== 'accepted') return result;
    try {
      return (await claimShared(shared, result, this.#idempotency.ttlMs)).result;
    } catch {
      // Only a bug gets here (claimShared catches the store's failures): the local verdict stands.
      return result;
    }
  }

  get #verifiesKore(): boolean {
    return this.#options.webhookSecret !== undefined && this.#options.webhookSecret !== '';
  }

  #verify(request: CallbackRequest, parsed: ParsedCallback): Verification {
    const { provider, authToken, webhookSecret } = this.#options;
    if (provider === 'kore' && !this.#verifiesKore) return { ok: true, verified: false };
    const publicUrl = publicUrlOf(request, this.#options);
    return provider === 'twilio' ? verifyTwilio(request, parsed, authToken as string, publicUrl) : verifyKore(request, webhookSecret as string, publicUrl);
  }
}

/**
 * The one receive path of every webhook: the receiver's verdict as senders are answered. A POST that is
 * neither a form nor JSON (415 to the receiver) is answered 400, like any other body that is no
 * callback, so senders meet only 2xx, 400, 403, 405 and 413.
 */
export function receive(receiver: CallbackReceiver, request: CallbackRequest): ReceiverResult {
  const result = receiver.handle(request);
  return result.status === 415 ? { ...result, status: 400 } : result;
}

/**
 * `receive`, then the shared claim when the receiver has a shared store: what a webhook answers with
 * several Node-RED instances. Synchronous (the same object `receive` gives) when there is no store, so
 * one Node-RED alone pays nothing for it.
 */
export function receiveOnce(receiver: CallbackReceiver, request: CallbackRequest): ReceiverResult | Promise<ReceiverResult> {
  const result = receive(receiver, request);
  return receiver.sharesIdempotency && result.outcome === 'accepted' ? receiver.claim(result) : result;
}
