import { createHash } from 'node:crypto';
import type { ParsedCallback } from './params';
import { headerOf, queryOf } from './request';
import type { CallbackRequest } from './request';
import { KORE_SIGNATURE_HEADER, TWILIO_SIGNATURE_HEADER, koreSignature, signaturesEqual, twilioSignature } from './signatures';
import { signedUrlVariants } from './url';

export type Verification = { ok: true; verified: boolean } | { ok: false; reason: string };

/** Enough of the URL to debug a proxy or base URL mismatch; the query may carry the payload. */
function shown(publicUrl: string): string {
  const path = publicUrl.split('?')[0];
  return path.length > 200 ? `${path.slice(0, 199)}…` : path;
}

function mismatch(header: string, publicUrl: string, secret: string): Verification {
  return {
    ok: false,
    reason: `${header} does not match the request as received at ${shown(publicUrl)}; check the ${secret} and that the callback base URL is the one the provider calls`,
  };
}

/**
 * X-Twilio-Signature. Form bodies are signed as URL + sorted parameters; GET and JSON as the URL alone,
 * and a JSON body is bound to the URL by its SHA-256 in the bodySHA256 query parameter.
 */
export function verifyTwilio(request: CallbackRequest, parsed: ParsedCallback, authToken: string, publicUrl: string): Verification {
  const signature = headerOf(request.headers, TWILIO_SIGNATURE_HEADER);
  if (signature === undefined || signature === '') return { ok: false, reason: 'the X-Twilio-Signature header is missing' };
  if (parsed.encoding === 'json') {
    const bodyHash = new URLSearchParams(queryOf(request.url)).get('bodySHA256');
    if (bodyHash === null) return { ok: false, reason: 'a JSON callback from Twilio carries bodySHA256 in its URL, and this one has none' };
    if (!signaturesEqual(createHash('sha256').update(request.rawBody).digest('hex'), bodyHash)) {
      return { ok: false, reason: 'the body does not match the bodySHA256 of the URL' };
    }
  }
  const signed = parsed.encoding === 'form' ? parsed.values : {};
  for (const url of signedUrlVariants(publicUrl)) {
    if (signaturesEqual(twilioSignature(authToken, url, signed), signature)) return { ok: true, verified: true };
  }
  return mismatch('X-Twilio-Signature', publicUrl, 'Auth Token');
}

/** kore-signature: hex SHA-256 of secret + METHOD + URL without query + raw body. */
export function verifyKore(request: CallbackRequest, secret: string, publicUrl: string): Verification {
  const signature = headerOf(request.headers, KORE_SIGNATURE_HEADER);
  if (signature === undefined || signature === '') return { ok: false, reason: 'the kore-signature header is missing' };
  // Hex is case-insensitive; the comparison is not.
  const received = signature.toLowerCase();
  for (const url of signedUrlVariants(publicUrl)) {
    if (signaturesEqual(koreSignature(secret, request.method, url, request.rawBody), received)) return { ok: true, verified: true };
  }
  return mismatch('kore-signature', publicUrl, 'webhook secret');
}
