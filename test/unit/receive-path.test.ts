/**
 * One receive path: command-in (a receiver from Account.createReceiver, through receive()) and the
 * account's own status route (Account.handleCallback) answer every request alike.
 */
import assert from 'node:assert/strict';
import { Account } from '../../src/account';
import { FORBIDDEN_ANSWER, receive, twilioSignature } from '../../src/callbacks';
import type { CallbackRequest } from '../../src/callbacks';

const BASE = 'https://nodered.example.com';
const AUTH_TOKEN = 'receive-path-auth-token';
const PATH = '/supersim/status/acc';

function requestOf(body: string, headers: Record<string, string>, method = 'POST'): CallbackRequest {
  return { method, url: PATH, headers: { host: 'nodered.example.com', ...headers }, rawBody: Buffer.from(body), protocol: 'https', host: 'nodered.example.com' };
}

describe('one receive path for command-in and the account route', function () {
  const params = { AccountSid: 'AC00000000000000000000000000000000', CommandSid: `HG${'a'.repeat(32)}`, Status: 'sent', Direction: 'to_sim', ApiVersion: 'v1' };
  const form = new URLSearchParams(params).toString();
  const cases: [string, () => CallbackRequest][] = [
    ['a body that is neither form nor JSON', () => requestOf('hello', { 'content-type': 'text/plain' })],
    ['a forged signature', () => requestOf(form, { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'forged' })],
    ['no signature', () => requestOf(form, { 'content-type': 'application/x-www-form-urlencoded' })],
    ['JSON that does not parse', () => requestOf('{"CommandSid": ', { 'content-type': 'application/json', 'x-twilio-signature': 'x' })],
    ['signed and valid', () => requestOf(form, { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(AUTH_TOKEN, `${BASE}${PATH}`, params), 'i-twilio-idempotency-token': 't1' })],
  ];

  for (const [label, make] of cases) {
    it(label, async function () {
      const settings = { provider: 'twilio', callbackBaseUrl: BASE };
      const credentials = { accountSid: params.AccountSid, authToken: AUTH_TOKEN };
      const forRoute = new Account('acc', settings, credentials);
      const forCommandIn = new Account('acc', settings, credentials);
      const route = await forRoute.handleCallback(make());
      const commandIn = receive(forCommandIn.createReceiver(), make());
      const shape = (r: typeof route) => ({ outcome: r.outcome, status: r.status, answer: r.outcome === 'refused' ? r.answer : undefined });
      assert.deepEqual(shape(route), shape(commandIn));
      if (route.outcome === 'refused') {
        assert.ok(route.status === 400 || route.status === 403, `${route.status}: an unreadable body is malformed (400), not an unsupported type (415)`);
        if (route.status === 403) assert.equal(route.answer, FORBIDDEN_ANSWER, 'a forger learns nothing of what was checked');
      }
      void forRoute.close();
      void forCommandIn.close();
    });
  }
});
