/**
 * The account dialog's "Create webhook secret": what a request to create one may ask. The secret
 * itself is created by the deployed account's client and kept in the runtime's credentials; only
 * its id and name go back to the editor.
 */

/** Longer names are refused rather than cut, so KORE's console shows what the user typed. */
export const MAX_SECRET_NAME_CHARS = 64;

export type SecretRequest = { ok: true; name: string | undefined } | { ok: false; status: 400 | 415; message: string };

export function readSecretRequest(request: { isJson: boolean; body: unknown }): SecretRequest {
  if (!request.isJson) return { ok: false, status: 415, message: 'Creating a webhook secret takes a JSON body (Content-Type: application/json); nothing was created.' };
  const body = request.body;
  if (body === undefined || body === null) return { ok: true, name: undefined };
  if (typeof body !== 'object' || Array.isArray(body)) return { ok: false, status: 400, message: 'The request must be a JSON object; nothing was created.' };
  const name = (body as Record<string, unknown>).name;
  if (name === undefined || name === null || (typeof name === 'string' && name.trim() === '')) return { ok: true, name: undefined };
  // eslint-disable-next-line no-control-regex
  if (typeof name !== 'string' || name.trim().length > MAX_SECRET_NAME_CHARS || /[\u0000-\u001f\u007f]/.test(name)) {
    return { ok: false, status: 400, message: `The secret's name must be text of at most ${MAX_SECRET_NAME_CHARS} characters; nothing was created.` };
  }
  return { ok: true, name: name.trim() };
}
