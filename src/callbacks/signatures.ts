import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Twilio's X-Twilio-Signature: HMAC-SHA1 keyed with the Auth Token over the full URL the request was
 * made to, followed by each POST parameter's name and value, sorted by name. GET requests sign the URL
 * alone (their parameters are already in it).
 */
export function twilioSignature(authToken: string, url: string, params: Record<string, string | string[]> = {}): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name];
    // Repeated parameters are signed value by value, in sorted order, as Twilio's own validator does.
    const values = Array.isArray(value) ? [...value].sort() : [value];
    for (const v of values) data += name + v;
  }
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/**
 * KORE's kore-signature: hex SHA-256 of the webhook secret, the upper-case method, the URL without
 * its query string and the raw body, concatenated.
 */
export function koreSignature(secret: string, method: string, url: string, rawBody: Buffer | string = ''): string {
  const queryAt = url.indexOf('?');
  const urlWithoutQuery = queryAt === -1 ? url : url.slice(0, queryAt);
  return createHash('sha256')
    .update(secret, 'utf8')
    .update(method.toUpperCase(), 'utf8')
    .update(urlWithoutQuery, 'utf8')
    .update(rawBody)
    .digest('hex');
}

/** Compares two signatures without leaking, through timing, how much of them matched. */
export function signaturesEqual(expected: string, received: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(received, 'utf8');
  if (a.length !== b.length) {
    // Still spend the comparison so a length mismatch costs the same as a content mismatch.
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

export const KORE_SIGNATURE_HEADER = 'kore-signature';
export const KORE_IDEMPOTENCY_HEADER = 'kore-idempotency-token';
export const TWILIO_SIGNATURE_HEADER = 'x-twilio-signature';
export const TWILIO_IDEMPOTENCY_HEADER = 'i-twilio-idempotency-token';
