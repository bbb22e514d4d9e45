import type { CommandEvent } from './event.js';
import { toCommandEvent } from './event.js';
import { IdempotencyCache } from './idempotency.js';
import { CallbackParseError, DEFAULT_MAX_BODY_BYTES, parseCallback } from './params.js';
import type { ParsedCallback } from './params.js';
import { headerOf } from './request.js';
import type { CallbackRequest } from './request.js';
import { KORE_IDEMPOTENCY_HEADER, TWILIO_IDEMPOTENCY_HEADER } from './signatures.js';
import { publicUrlOf } from './url.js';
import type { PublicUrlOptions } from './url.js';
import { verifyKore, verifyTwilio } from './verify.js';
import type { Verification } from './verify.js';

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
}

export interface ReceiverResult {
  status: 200 | 400 | 403 | 405 | 413 | 415;
  event?: CommandEvent;
  /** A retry of a callback already answered: the caller emits nothing. */
  duplicate?: boolean;
  /** false only for KORE callbacks accepted without a webhook secret. */
  verified?: boolean;
  reason?: string;
  /** Set on a 403 the sender can do something about. */
  refusal?: RefusalKind;
}

/** 403s with advice of their own. `unsigned-get`: a GET to a KORE account with a webhook secret, which cannot be verified. */
export type RefusalKind = 'unsigned-get';

/**
 * KORE's signature covers neither the query string nor anything else a GET carries, so one signed GET
 * would let whoever saw it send any event to the same path.
 */
export const KORE_GET_REASON = 'KORE does not sign GET callbacks, so this one cannot be verified: set the callback method to POST';

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
      if (error instanceof CallbackParseError) return { status: error.status, reason: error.message };
      // Only a bug gets here; whatever it is, the request is not accepted.
      return { status: 400, reason: 'the request could not be read as a callback' };
    }
  }

  #handle(request: CallbackRequest): ReceiverResult {
    const { provider, authToken } = this.#options;
    if (provider === 'twilio' && (authToken === undefined || authToken === '')) {
      return { status: 403, reason: 'the account has no Auth Token, so no Twilio callback can be verified; set it in the account node' };
    }
    if (provider === 'kore' && this.#verifiesKore && request.method === 'GET') return { status: 403, reason: KORE_GET_REASON, refusal: 'unsigned-get' };
    const parsed = parseCallback(request, this.maxBodyBytes);
    // Before the idempotency check: a forged request must not make the real one look like a duplicate.
    const verification = this.#verify(request, parsed);
    if (!verification.ok) return { status: 403, reason: verification.reason };
    const token = headerOf(request.headers, IDEMPOTENCY_HEADERS[provider]) || null;
    const event = toCommandEvent(parsed.params, token);
    // Both are recorded whatever the other says, so that either alone recognises the next repeat.
    const tokenSeen = token !== null && this.#idempotency.seenBefore(token);
    const eventSeen = this.#idempotency.eventSeenBefore(event);
    const duplicate = tokenSeen || eventSeen;
    return { status: 200, event, duplicate, verified: verification.verified };
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
