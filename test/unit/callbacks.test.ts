import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  CallbackParseError,
  CallbackReceiver,
  DEFAULT_MAX_BODY_BYTES,
  IdempotencyCache,
  KORE_IDEMPOTENCY_HEADER,
  KORE_SIGNATURE_HEADER,
  MAX_PAYLOAD_TEXT_BYTES,
  TWILIO_IDEMPOTENCY_HEADER,
  TWILIO_SIGNATURE_HEADER,
  commandKindOf,
  koreSignature,
  parseCallback,
  parseCallbackParams,
  publicUrlOf,
  signedUrlVariants,
  toCommandEvent,
  twilioSignature,
  verifyKore,
  verifyTwilio,
} from '../../src/callbacks/index.js';
import type { CallbackRequest, ReceiverOptions, ReceiverResult } from '../../src/callbacks/index.js';
import { MAX_URL_CHARS } from '../../src/shared/text.js';

const FORM = 'application/x-www-form-urlencoded';
const sidOf = (prefix: string): string => `${prefix}0123456789abcdef0123456789abcdef`;
const IP_SID = sidOf('HG');
const SMS_SID = sidOf('HC');
const WIRELESS_SID = sidOf('DC');
const SIM_SID = sidOf('HS');
const ACCOUNT_SID = sidOf('AC');
const TOKEN = 'twilio-auth-token';
const SECRET = 'kore-webhook-secret';
const BASE = 'https://nodered.example.com';

/** A to_sim status callback as the vendors document it. */
const STATUS_FIELDS: Record<string, string> = {
  AccountSid: ACCOUNT_SID,
  CommandSid: IP_SID,
  SimSid: SIM_SID,
  SimUniqueName: 'meter-1',
  SimIccid: '89883070000012345678',
  Payload: 'hello',
  PayloadType: 'text',
  Direction: 'to_sim',
  Status: 'sent',
  ApiVersion: 'v1',
};

function formBody(fields: Record<string, string> | [string, string][]): Buffer {
  return Buffer.from(new URLSearchParams(fields).toString(), 'utf8');
}

function postRequest(url: string, body: Buffer | string, headers: CallbackRequest['headers'] = {}, contentType = FORM): CallbackRequest {
  return { method: 'POST', url, headers: { 'content-type': contentType, host: '127.0.0.1:1880', ...headers }, rawBody: Buffer.from(body) };
}

function getRequest(url: string, headers: CallbackRequest['headers'] = {}): CallbackRequest {
  return { method: 'GET', url, headers: { host: '127.0.0.1:1880', ...headers }, rawBody: Buffer.alloc(0) };
}

/** Signs as the sender would, over `signedUrl` (the URL it called): every form value for Twilio, the raw bytes for KORE. */
function signed(provider: 'kore' | 'twilio', request: CallbackRequest, signedUrl: string, key = provider === 'kore' ? SECRET : TOKEN): CallbackRequest {
  let signature: string;
  if (provider === 'kore') {
    signature = koreSignature(key, request.method, signedUrl, request.rawBody);
  } else {
    const isForm = request.method === 'POST' && String(request.headers['content-type']).startsWith(FORM);
    signature = twilioSignature(key, signedUrl, isForm ? parseCallback(request).values : {});
  }
  const header = provider === 'kore' ? KORE_SIGNATURE_HEADER : TWILIO_SIGNATURE_HEADER;
  return { ...request, headers: { ...request.headers, [header]: signature } };
}

function receiver(provider: 'kore' | 'twilio', options: Partial<ReceiverOptions> = {}): CallbackReceiver {
  return new CallbackReceiver({ provider, publicBaseUrl: BASE, ...(provider === 'kore' ? { webhookSecret: SECRET } : { authToken: TOKEN }), ...options });
}

function assertRefused(result: ReceiverResult, status: number, reason?: RegExp): void {
  assert.equal(result.status, status, `expected ${status}, got ${result.status} (${result.reason ?? 'no reason'})`);
  assert.equal(result.event, undefined);
  if (reason !== undefined) assert.match(result.reason ?? '', reason);
}

function accepted(result: ReceiverResult): NonNullable<ReceiverResult['event']> {
  assert.equal(result.status, 200, result.reason);
  assert.ok(result.event);
  return result.event;
}

describe('callbacks', () => {
  describe('published vectors, through the verification path', () => {
    const twilioParams = { CallSid: 'CA1234567890ABCDE', Caller: '+14158675309', Digits: '1234', From: '+14158675309', To: '+18005551212' };
    const twilioVector = (signature: string): CallbackRequest =>
      postRequest('/myapp.php?foo=1&bar=2', formBody(twilioParams), { [TWILIO_SIGNATURE_HEADER]: signature });

    it('accepts Twilio’s documented signature (a voice callback, so it is then refused as no command)', () => {
      const options = { provider: 'twilio', authToken: '12345', publicBaseUrl: 'https://mycompany.com' } as const;
      const request = twilioVector('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
      assert.deepEqual(verifyTwilio(request, parseCallback(request), '12345', publicUrlOf(request, options)), { ok: true, verified: true });
      assertRefused(new CallbackReceiver(options).handle(request), 400, /CommandSid is missing/);
      assertRefused(new CallbackReceiver(options).handle(twilioVector('RSOYDt4T1cUTdK1PDd93/VVr8B8x')), 403, /X-Twilio-Signature does not match/);
      assertRefused(new CallbackReceiver({ ...options, authToken: '12346' }).handle(request), 403);
    });

    it('checks a JSON body against Twilio’s documented bodySHA256', () => {
      const body = '{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030"}';
      const url = '/myapp?bodySHA256=5ccde7145dfb8f56479710896586cb9d5911809d83afbe34627818790db0aec9';
      const options = { publicBaseUrl: 'https://example.com' };
      const request = signed('twilio', postRequest(url, body, {}, 'application/json'), `https://example.com${url}`, '12345');
      assert.deepEqual(verifyTwilio(request, parseCallback(request), '12345', publicUrlOf(request, options)), { ok: true, verified: true });
      const changed = { ...request, rawBody: Buffer.from(body.replace('3030', '3031')) };
      const verdict = verifyTwilio(changed, parseCallback(changed), '12345', publicUrlOf(changed, options));
      assert.deepEqual(verdict, { ok: false, reason: 'the body does not match the bodySHA256 of the URL' });
    });

    it('accepts KORE’s documented signature (f562d395…) and refuses it with one digit changed', () => {
      const body = 'field1=value1&field2=value2';
      const signature = koreSignature('12345', 'POST', 'https://testendpoint.com', body);
      assert.ok(signature.startsWith('f562d395'));
      const options = { provider: 'kore', webhookSecret: '12345', publicBaseUrl: 'https://testendpoint.com' } as const;
      // The server sees '/': KORE signed the URL as configured, without it.
      const request = postRequest('/', body, { [KORE_SIGNATURE_HEADER]: signature });
      assert.deepEqual(verifyKore(request, '12345', publicUrlOf(request, options)), { ok: true, verified: true });
      assertRefused(new CallbackReceiver(options).handle(request), 400, /CommandSid is missing/);
      const forged = { ...request, headers: { ...request.headers, [KORE_SIGNATURE_HEADER]: `f562d396${signature.slice(8)}` } };
      assertRefused(new CallbackReceiver(options).handle(forged), 403, /kore-signature does not match/);
    });
  });

  describe('verification', () => {
    for (const provider of ['kore', 'twilio'] as const) {
      describe(provider, () => {
        const url = '/hooks/in?node=1';
        const valid = (): CallbackRequest => signed(provider, postRequest(url, formBody(STATUS_FIELDS)), BASE + url);

        it('accepts a signed POST and reports it verified', () => {
          const result = receiver(provider).handle(valid());
          assert.equal(accepted(result).sid, IP_SID);
          assert.equal(result.verified, true);
        });

        if (provider === 'twilio') {
          it('accepts a signed GET', () => {
            const getUrl = `/hooks/in?${new URLSearchParams(STATUS_FIELDS).toString()}`;
            const event = accepted(receiver(provider).handle(signed(provider, getRequest(getUrl), BASE + getUrl)));
            assert.equal(event.payload, 'hello');
          });
        }

        const tamperings: [string, (request: CallbackRequest) => CallbackRequest][] = [
          ['a changed body', (r) => ({ ...r, rawBody: formBody({ ...STATUS_FIELDS, Payload: 'hellO' }) })],
          ['an added parameter', (r) => ({ ...r, rawBody: formBody({ ...STATUS_FIELDS, Extra: '1' }) })],
          ['another path', (r) => ({ ...r, url: '/hooks/other?node=1' })],
          ['another host', (r) => ({ ...r, url: '/hooks/in?node=1' })],
          ['another key', (r) => signed(provider, r, BASE + url, 'not-the-key')],
          ['no signature', (r) => ({ ...r, headers: { 'content-type': FORM, host: 'x' } })],
          ['a garbage signature', (r) => ({ ...r, headers: { ...r.headers, [KORE_SIGNATURE_HEADER]: 'garbage', [TWILIO_SIGNATURE_HEADER]: 'garbage' } })],
        ];
        for (const [what, tamper] of tamperings) {
          it(`refuses ${what} with 403 and no event, without echoing the key or the expected signature`, () => {
            const options = what === 'another host' ? { publicBaseUrl: 'https://attacker.example.com' } : {};
            const result = receiver(provider, options).handle(tamper(valid()));
            assertRefused(result, 403);
            const key = provider === 'kore' ? SECRET : TOKEN;
            assert.ok(!result.reason?.includes(key));
            const expected = String(valid().headers[provider === 'kore' ? KORE_SIGNATURE_HEADER : TWILIO_SIGNATURE_HEADER]);
            assert.ok(!result.reason?.includes(expected));
          });
        }

        it('refuses a GET whose query was changed', () => {
          const getUrl = `/hooks/in?${new URLSearchParams(STATUS_FIELDS).toString()}`;
          const request = signed(provider, getRequest(getUrl), BASE + getUrl);
          const changed = { ...request, url: getUrl.replace('Status=sent', 'Status=failed') };
          assertRefused(receiver(provider).handle(changed), 403);
        });
      });
    }

    it('kore with a webhook secret refuses every GET, saying to use POST: KORE signs neither its query nor its parameters', () => {
      const getUrl = `/hooks/in?${new URLSearchParams(STATUS_FIELDS).toString()}`;
      const request = signed('kore', getRequest(getUrl), BASE + getUrl);
      for (const get of [request, { ...request, url: getUrl.replace('Status=sent', 'Status=failed') }, getRequest('/hooks/in?junk')]) {
        const result = receiver('kore').handle(get);
        assertRefused(result, 403, /KORE does not sign GET callbacks.*set the callback method to POST/);
        assert.equal(result.refusal, 'unsigned-get');
      }
      // The same callback as a signed POST is accepted.
      const post = signed('kore', postRequest('/hooks/in', formBody(STATUS_FIELDS)), `${BASE}/hooks/in`);
      assert.equal(accepted(receiver('kore').handle(post)).status, 'sent');
      // Without a secret nothing is verified, GET or POST, and command-in warns about it at deploy.
      const unverified = new CallbackReceiver({ provider: 'kore' }).handle(getRequest(getUrl));
      assert.deepEqual([unverified.status, unverified.verified, unverified.refusal], [200, false, undefined]);
    });

    it('a twilio receiver without an Auth Token refuses everything, saying why', () => {
      const request = signed('twilio', postRequest('/in', formBody(STATUS_FIELDS)), `${BASE}/in`);
      for (const authToken of [undefined, '']) {
        assertRefused(new CallbackReceiver({ provider: 'twilio', authToken, publicBaseUrl: BASE }).handle(request), 403, /Auth Token/);
      }
    });

    it('a kore receiver without a webhook secret accepts callbacks unverified, and with one requires the signature', () => {
      const request = postRequest('/in', formBody(STATUS_FIELDS));
      const result = new CallbackReceiver({ provider: 'kore' }).handle(request);
      assert.equal(accepted(result).sid, IP_SID);
      assert.equal(result.verified, false);
      assertRefused(receiver('kore').handle(request), 403, /kore-signature header is missing/);
    });

    it('twilio JSON callbacks need bodySHA256 in the URL and a body that matches it', () => {
      const body = JSON.stringify(STATUS_FIELDS);
      const hash = createHash('sha256').update(body).digest('hex');
      const url = `/in?bodySHA256=${hash}`;
      const request = signed('twilio', postRequest(url, body, {}, 'application/json'), BASE + url);
      assert.equal(accepted(receiver('twilio').handle(request)).payload, 'hello');
      const changed = { ...request, rawBody: Buffer.from(body.replace('hello', 'hellO')) };
      assertRefused(receiver('twilio').handle(changed), 403, /bodySHA256/);
      const unhashed = signed('twilio', postRequest('/in', body, {}, 'application/json'), `${BASE}/in`);
      assertRefused(receiver('twilio').handle(unhashed), 403, /bodySHA256/);
    });

    it('twilio signs every value of a repeated form parameter; the event takes the last', () => {
      const fields: [string, string][] = [...Object.entries(STATUS_FIELDS), ['Tag', 'b'], ['Tag', 'a']];
      const request = signed('twilio', postRequest('/in', formBody(fields)), `${BASE}/in`);
      assert.equal(accepted(receiver('twilio').handle(request)).params.Tag, 'a');
      const lastOnly = twilioSignature(TOKEN, `${BASE}/in`, { ...STATUS_FIELDS, Tag: 'a' });
      assertRefused(receiver('twilio').handle({ ...request, headers: { ...request.headers, [TWILIO_SIGNATURE_HEADER]: lastOnly } }), 403);
    });
  });

  describe('public URL', () => {
    const body = formBody(STATUS_FIELDS);

    for (const provider of ['kore', 'twilio'] as const) {
      it(`${provider}: accepts the default port added or removed, never another port`, () => {
        const cases: [base: string, signedUrl: string, ok: boolean][] = [
          ['https://example.com', 'https://example.com:443/in', true],
          ['https://example.com:443', 'https://example.com/in', true],
          ['http://example.com', 'http://example.com:80/in', true],
          ['http://example.com:80', 'http://example.com/in', true],
          ['https://example.com', 'https://example.com:8443/in', false],
          ['https://example.com:8443', 'https://example.com/in', false],
          ['https://example.com', 'https://example.com:80/in', false],
          ['http://example.com', 'https://example.com/in', false],
        ];
        for (const [base, signedUrl, ok] of cases) {
          const result = receiver(provider, { publicBaseUrl: base }).handle(signed(provider, postRequest('/in', body), signedUrl));
          assert.equal(result.status, ok ? 200 : 403, `${base} signed as ${signedUrl}`);
        }
      });
    }

    it('lists the spellings a sender may have signed', () => {
      assert.deepEqual(signedUrlVariants('https://h.example/a?b=1'), ['https://h.example/a?b=1', 'https://h.example:443/a?b=1']);
      assert.deepEqual(signedUrlVariants('http://h.example:80/a'), ['http://h.example:80/a', 'http://h.example/a']);
      assert.deepEqual(signedUrlVariants('http://[::1]:8080/a'), ['http://[::1]:8080/a']);
      assert.deepEqual(signedUrlVariants('http://[::1]/'), ['http://[::1]/', 'http://[::1]', 'http://[::1]:80/', 'http://[::1]:80']);
      assert.deepEqual(signedUrlVariants('ftp://h/a'), ['ftp://h/a']);
    });

    it('trusts X-Forwarded-Proto and X-Forwarded-Host (first hop of a list) only from a trusted proxy, or when told to', () => {
      const request = postRequest('/in?x=1', body, { host: '127.0.0.1:1880', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'nodered.example.com, proxy.internal' });
      const viaProxy = { ...request, viaTrustedProxy: true };
      assert.equal(publicUrlOf(request, {}), 'http://127.0.0.1:1880/in?x=1', 'anyone can send these headers');
      assert.equal(publicUrlOf(viaProxy, {}), 'https://nodered.example.com/in?x=1');
      assert.equal(publicUrlOf(request, { trustForwardedHeaders: true }), 'https://nodered.example.com/in?x=1');
      assert.equal(publicUrlOf(viaProxy, { trustForwardedHeaders: false }), 'http://127.0.0.1:1880/in?x=1');
      assert.equal(publicUrlOf({ ...request, protocol: 'https', host: 'local.example:8443' }, {}), 'https://local.example:8443/in?x=1');

      for (const provider of ['kore', 'twilio'] as const) {
        const forwarded = signed(provider, request, 'https://nodered.example.com/in?x=1');
        assertRefused(receiver(provider, { publicBaseUrl: undefined }).handle(forwarded), 403);
        assert.equal(receiver(provider, { publicBaseUrl: undefined }).handle({ ...forwarded, viaTrustedProxy: true }).status, 200);
        const local = signed(provider, request, 'http://127.0.0.1:1880/in?x=1');
        assert.equal(receiver(provider, { publicBaseUrl: undefined }).handle(local).status, 200);
        assertRefused(receiver(provider, { publicBaseUrl: undefined }).handle({ ...local, viaTrustedProxy: true }), 403);
      }
    });

    it('answers 400 to a Host or trusted X-Forwarded-Host that is no host name, IP address or [IPv6] literal with a port', () => {
      const good = ['nodered.example.com', 'nodered.example.com:1880', '127.0.0.1', '127.0.0.1:1', '[::1]', '[::1]:1880', '[2001:db8::7]:443', 'my_host-1.local~'];
      const junk = ['a b', 'a/b', 'a@b', 'a:b:c', 'a:', 'a:123456', '[::1', '::1', '[zz::1]', 'ex\u00e9mple.com', 'a\tb', "a'b", 'x'.repeat(254), '[::1]:80:80'];
      for (const host of good) assert.equal(publicUrlOf(postRequest('/in', body, { host }), {}), `http://${host}/in`);
      for (const host of junk) {
        for (const request of [postRequest('/in', body, { host }), { ...postRequest('/in', body, { 'x-forwarded-host': host }), viaTrustedProxy: true }]) {
          assert.throws(
            () => publicUrlOf(request, {}),
            (error: unknown) => error instanceof CallbackParseError && error.status === 400 && /Host header is not a host name/.test(error.message),
            JSON.stringify(host),
          );
        }
        assertRefused(receiver('twilio', { publicBaseUrl: undefined }).handle(signed('twilio', postRequest('/in', body, { host }), `http://${host}/in`)), 400, /Host/);
      }
      // With a Public URL the Host is not used, so it is not judged either.
      assert.equal(publicUrlOf(postRequest('/in', body, { host: 'a b' }), { publicBaseUrl: BASE }), `${BASE}/in`);
    });

    it('answers 400 to a request path over the URL length limit, and trims a Public URL of any length in linear time', () => {
      const path = `/${'a'.repeat(MAX_URL_CHARS)}`;
      assert.throws(() => publicUrlOf(postRequest(path, body), { publicBaseUrl: BASE }), (error: unknown) => error instanceof CallbackParseError && error.status === 400);
      assertRefused(receiver('kore').handle(postRequest(path, body)), 400, /at most 2048/);
      // The query is not the path: Twilio puts a GET callback's fields there.
      assert.equal(publicUrlOf(postRequest(`/in?${'q'.repeat(MAX_URL_CHARS)}`, body), { publicBaseUrl: BASE }).length, BASE.length + 4 + MAX_URL_CHARS);
      // A quadratic trim took seconds over this many slashes; a linear one does not notice them.
      assert.equal(publicUrlOf(postRequest('/in', body), { publicBaseUrl: `${BASE}${'/'.repeat(40_000)}` }), `${BASE}/in`);
    });

    it('prefers publicBaseUrl (with a path prefix and a trailing slash) over forwarded headers', () => {
      const request = postRequest('/red/in', body, { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'proxy.example.com' });
      const options = { publicBaseUrl: 'https://public.example.com/base/' };
      assert.equal(publicUrlOf(request, options), 'https://public.example.com/base/red/in');
      for (const provider of ['kore', 'twilio'] as const) {
        assert.equal(receiver(provider, options).handle(signed(provider, request, 'https://public.example.com/base/red/in')).status, 200);
        assertRefused(receiver(provider, options).handle(signed(provider, request, 'https://proxy.example.com/red/in')), 403);
      }
    });

    it('answers 400 when nothing says which host the request was for', () => {
      const request = { ...postRequest('/in', body), headers: { 'content-type': FORM, [TWILIO_SIGNATURE_HEADER]: 'x' } };
      assert.throws(() => publicUrlOf(request, {}), (error: unknown) => error instanceof CallbackParseError && error.status === 400);
      assertRefused(receiver('twilio', { publicBaseUrl: undefined }).handle(request), 400, /Host/);
    });

    it('refuses a publicBaseUrl that is no http(s) URL when the receiver is made', () => {
      assert.throws(() => receiver('kore', { publicBaseUrl: 'nodered.example.com' }), TypeError);
    });
  });

  describe('parameters', () => {
    const kore = (): CallbackReceiver => new CallbackReceiver({ provider: 'kore' });

    it('reads GET from the query, POST from a form body (charset allowed) or a JSON object', () => {
      assert.deepEqual(parseCallbackParams(getRequest('/in?a=1&b=x+y%2Bz&c')), { a: '1', b: 'x y+z', c: '' });
      assert.deepEqual(parseCallbackParams(postRequest('/in?q=1', 'a=%C3%A9&b=2', {}, 'Application/X-WWW-Form-Urlencoded; charset="UTF-8"')), { a: 'é', b: '2' });
      const json = '{"a":"x","n":12.5,"t":true,"f":false,"z":null}';
      assert.deepEqual(parseCallbackParams(postRequest('/in', json, {}, 'application/json; charset=utf-8')), { a: 'x', n: '12.5', t: 'true', f: 'false' });
    });

    it('keeps parameters named like Object.prototype members as plain parameters', () => {
      const params = parseCallbackParams(postRequest('/in', '__proto__=x&constructor=y'));
      assert.equal(Object.getPrototypeOf(params), Object.prototype);
      assert.deepEqual(Object.entries(params), [['__proto__', 'x'], ['constructor', 'y']]);
    });

    const malformed: [string, CallbackRequest, number, RegExp][] = [
      ['an empty POST', postRequest('/in', ''), 400, /empty/],
      ['invalid UTF-8 in the body', postRequest('/in', Buffer.from([0x61, 0x3d, 0xc3, 0x28])), 400, /UTF-8/],
      ['an escape of bytes that are not UTF-8', postRequest('/in', 'a=%FF'), 400, /UTF-8/],
      ['a truncated %-escape', postRequest('/in', 'CommandSid=HG%2'), 400, /%-escape/],
      ['a broken %-escape in a GET query', getRequest('/in?a=%zz'), 400, /query string/],
      ['invalid JSON', postRequest('/in', '{"a":', {}, 'application/json'), 400, /not valid JSON/],
      ['a JSON array', postRequest('/in', '[1]', {}, 'application/json'), 400, /an array/],
      ['a JSON string', postRequest('/in', '"x"', {}, 'application/json'), 400, /object of parameters/],
      ['a nested JSON object', postRequest('/in', '{"a":{"b":1}}', {}, 'application/json'), 400, /"a" is an object/],
      ['a JSON array value', postRequest('/in', '{"a":[1]}', {}, 'application/json'), 400, /"a" is an array/],
      ['text/plain', postRequest('/in', 'a=1', {}, 'text/plain'), 415, /text\/plain/],
      ['no content type', { ...postRequest('/in', 'a=1'), headers: {} }, 415, /content type/],
      ['a latin-1 form', postRequest('/in', 'a=1', {}, `${FORM}; charset=iso-8859-1`), 415, /iso-8859-1/],
      ['PUT', { ...postRequest('/in', 'a=1'), method: 'PUT' }, 405, /PUT/],
      ['get in lower case', { ...getRequest('/in?a=1'), method: 'get' }, 405, /get/],
      ['a body over the limit', postRequest('/in', Buffer.alloc(DEFAULT_MAX_BODY_BYTES + 1, 0x61)), 413, /65537 bytes/],
      ['a Content-Length over the limit', postRequest('/in', 'a=1', { 'content-length': String(DEFAULT_MAX_BODY_BYTES + 1) }), 413, /65537/],
    ];
    for (const [what, request, status, reason] of malformed) {
      it(`answers ${status} to ${what}`, () => {
        assertRefused(kore().handle(request), status, reason);
        assert.throws(() => parseCallbackParams(request), (error: unknown) => error instanceof CallbackParseError && error.status === status);
      });
    }

    it('applies its own maxBodyBytes', () => {
      const small = new CallbackReceiver({ provider: 'kore', maxBodyBytes: 100 });
      assert.equal(small.maxBodyBytes, 100);
      assertRefused(small.handle(postRequest('/in', formBody({ ...STATUS_FIELDS, Pad: 'x'.repeat(100) }))), 413);
      assert.equal(small.handle(postRequest('/in', formBody({ CommandSid: IP_SID, Status: 'sent' }))).status, 200);
      assert.throws(() => new CallbackReceiver({ provider: 'kore', maxBodyBytes: 0 }), RangeError);
    });
  });

  describe('events', () => {
    it('knows the command kinds by SID', () => {
      assert.equal(commandKindOf(IP_SID), 'ip');
      assert.equal(commandKindOf(SMS_SID), 'sms');
      assert.equal(commandKindOf(WIRELESS_SID), 'wireless');
      for (const sid of [SIM_SID, `${IP_SID}0`, IP_SID.slice(0, -1), `hg${IP_SID.slice(2)}`, `${IP_SID.slice(0, -1)}g`, '']) assert.equal(commandKindOf(sid), undefined, sid);
    });

    it('describes a to_sim status callback with every field', () => {
      assert.deepEqual(toCommandEvent(STATUS_FIELDS, 'token-1'), {
        sid: IP_SID,
        kind: 'ip',
        direction: 'to_sim',
        status: 'sent',
        sim: { sid: SIM_SID, uniqueName: 'meter-1', iccid: '89883070000012345678' },
        payloadType: 'text',
        payload: 'hello',
        rawPayload: 'hello',
        errorCode: null,
        errorMessage: null,
        accountSid: ACCOUNT_SID,
        apiVersion: 'v1',
        idempotencyToken: 'token-1',
        params: STATUS_FIELDS,
      });
    });

    it('decodes a binary payload to its exact bytes', () => {
      const bytes = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7f, 0x0a]);
      const event = toCommandEvent({ CommandSid: IP_SID, Status: 'received', Payload: bytes.toString('base64'), PayloadType: 'binary' }, null);
      assert.deepEqual(event.payload, bytes);
      assert.equal(event.rawPayload, bytes.toString('base64'));
      assert.equal(event.direction, 'from_sim');
      assert.deepEqual(toCommandEvent({ CommandSid: IP_SID, Status: 'received', Payload: '', PayloadType: 'binary' }, null).payload, Buffer.alloc(0));
    });

    it('reads Command and CommandMode for Wireless, Payload for SMS', () => {
      const wireless = toCommandEvent({ CommandSid: WIRELESS_SID, Status: 'received', Command: 'AAE=', CommandMode: 'binary', Payload: 'ignored' }, null);
      assert.deepEqual([wireless.kind, wireless.payloadType, wireless.payload], ['wireless', 'binary', Buffer.from([0, 1])]);
      const sms = toCommandEvent({ CommandSid: SMS_SID, Status: 'delivered', Payload: 'reboot', Command: 'ignored' }, null);
      assert.deepEqual([sms.kind, sms.direction, sms.payloadType, sms.payload], ['sms', 'to_sim', null, 'reboot']);
    });

    it('reads a failure’s error fields, ErrorCode as a number', () => {
      const event = toCommandEvent({ ...STATUS_FIELDS, Status: 'failed', ErrorCode: '32001', ErrorMessage: 'Device not attached' }, null);
      assert.deepEqual([event.status, event.errorCode, event.errorMessage], ['failed', 32001, 'Device not attached']);
      assert.equal(toCommandEvent({ ...STATUS_FIELDS, ErrorCode: '' }, null).errorCode, null);
    });

    const invalid: [string, Record<string, string>, RegExp][] = [
      ['no CommandSid', { Status: 'sent' }, /CommandSid is missing/],
      ['a SIM SID as CommandSid', { CommandSid: SIM_SID, Status: 'sent' }, /not the SID of an IP/],
      ['a short CommandSid', { CommandSid: 'HG123', Status: 'sent' }, /not the SID/],
      ['no Status', { CommandSid: IP_SID }, /Status is missing/],
      ['an unknown Status', { CommandSid: IP_SID, Status: 'constructor' }, /not a command status/],
      ['an unknown Direction', { CommandSid: IP_SID, Status: 'sent', Direction: 'sideways' }, /Direction/],
      ['an unknown PayloadType', { CommandSid: IP_SID, Status: 'sent', PayloadType: 'hex' }, /PayloadType/],
      ['an unknown CommandMode', { CommandSid: WIRELESS_SID, Status: 'sent', CommandMode: 'pdu' }, /CommandMode/],
      ['invalid Base64', { CommandSid: IP_SID, Status: 'received', Payload: 'AP8AA', PayloadType: 'binary' }, /Base64/],
      ['Base64 with spaces', { CommandSid: WIRELESS_SID, Status: 'received', Command: 'AA E=', CommandMode: 'binary' }, /Base64/],
      ['a payload over 8 KiB', { CommandSid: IP_SID, Status: 'sent', Payload: 'é'.repeat(MAX_PAYLOAD_TEXT_BYTES / 2 + 1) }, /over 8192 bytes/],
      ['a non-numeric ErrorCode', { CommandSid: IP_SID, Status: 'failed', ErrorCode: '12a' }, /ErrorCode/],
      ['a malformed SimSid', { CommandSid: IP_SID, Status: 'sent', SimSid: 'meter' }, /SimSid/],
      ['an AccountSid that is not AC…', { CommandSid: IP_SID, Status: 'sent', AccountSid: SIM_SID }, /AccountSid/],
      ['a huge SimUniqueName', { CommandSid: IP_SID, Status: 'sent', SimUniqueName: 'x'.repeat(1025) }, /SimUniqueName is 1025/],
    ];
    for (const [what, params, reason] of invalid) {
      it(`refuses ${what} with 400 and a short reason`, () => {
        assert.throws(
          () => toCommandEvent(params, null),
          (error: unknown) => error instanceof CallbackParseError && error.status === 400 && reason.test(error.message) && error.message.length < 200,
        );
        assertRefused(new CallbackReceiver({ provider: 'kore' }).handle(postRequest('/in', formBody(params))), 400, reason);
      });
    }

    it('accepts a payload of exactly 8 KiB', () => {
      assert.equal(toCommandEvent({ CommandSid: IP_SID, Status: 'sent', Payload: 'x'.repeat(MAX_PAYLOAD_TEXT_BYTES) }, null).rawPayload?.length, MAX_PAYLOAD_TEXT_BYTES);
    });
  });

  describe('idempotency', () => {
    for (const provider of ['kore', 'twilio'] as const) {
      const header = provider === 'kore' ? KORE_IDEMPOTENCY_HEADER : TWILIO_IDEMPOTENCY_HEADER;
      const delivery = (token: string, fields = STATUS_FIELDS): CallbackRequest =>
        signed(provider, postRequest('/in', formBody(fields), { [header]: token }), `${BASE}/in`);

      it(`${provider}: a retried delivery with the same token is a duplicate, with its event`, () => {
        const r = receiver(provider);
        const first = r.handle(delivery('tok-1'));
        assert.equal(first.duplicate, false);
        assert.equal(accepted(first).idempotencyToken, 'tok-1');
        const retry = r.handle(delivery('tok-1'));
        assert.equal(retry.duplicate, true);
        assert.deepEqual(accepted(retry), first.event);
        assert.equal(r.handle(delivery('tok-2', { ...STATUS_FIELDS, Status: 'delivered' })).duplicate, false);
      });

      it(`${provider}: the same event delivered again under another token is a duplicate; another status, direction or command is not`, () => {
        const r = receiver(provider);
        assert.equal(r.handle(delivery('tok-1')).duplicate, false);
        const again = r.handle(delivery('tok-2'));
        assert.equal(again.duplicate, true);
        assert.equal(accepted(again).idempotencyToken, 'tok-2');
        assert.equal(r.handle(delivery('tok-3', { ...STATUS_FIELDS, Status: 'failed' })).duplicate, false);
        assert.equal(r.handle(delivery('tok-4', { ...STATUS_FIELDS, Direction: 'from_sim', Status: 'received' })).duplicate, false);
        assert.equal(r.handle(delivery('tok-5', { ...STATUS_FIELDS, CommandSid: sidOf('HC') })).duplicate, false);
        // Each of those is now remembered too, under a token of its own.
        assert.equal(r.handle(delivery('tok-6', { ...STATUS_FIELDS, Status: 'failed' })).duplicate, true);
        // A retry of the first delivery is still one, by its token and its event.
        assert.equal(r.handle(delivery('tok-1')).duplicate, true);
      });

      it(`${provider}: a forged copy of an event under a new token does not hold back the real one`, () => {
        const r = receiver(provider);
        const forged = signed(provider, postRequest('/in', formBody(STATUS_FIELDS), { [header]: 'forged' }), `${BASE}/in`, 'wrong key');
        assertRefused(r.handle(forged), 403);
        assert.equal(r.handle(delivery('real')).duplicate, false);
      });

      it(`${provider}: a forged request does not poison the cache`, () => {
        const r = receiver(provider);
        const forged = signed(provider, postRequest('/in', formBody(STATUS_FIELDS), { [header]: 'tok-1' }), `${BASE}/in`, 'wrong key');
        assertRefused(r.handle(forged), 403);
        assert.equal(r.handle(delivery('tok-1')).duplicate, false);
      });
    }

    it('without a token, each new event is new and the same event again is a duplicate', () => {
      const r = new CallbackReceiver({ provider: 'kore' });
      assert.equal(r.handle(postRequest('/in', formBody(STATUS_FIELDS))).duplicate, false);
      assert.equal(r.handle(postRequest('/in', formBody({ ...STATUS_FIELDS, Status: 'delivered' }))).duplicate, false);
      assert.equal(r.handle(postRequest('/in', formBody(STATUS_FIELDS))).duplicate, true);
    });

    it('remembers events with the same bounds as tokens: the count, then the TTL from the first sighting', () => {
      let now = 0;
      const cache = new IdempotencyCache({ maxEntries: 3, ttlMs: 100, now: () => now });
      const event = (sid: string, status: 'sent' | 'delivered' = 'sent') => ({ sid: sidOf(sid), status, direction: 'to_sim' as const });
      for (const sid of ['HG', 'HC', 'DC']) assert.equal(cache.eventSeenBefore(event(sid)), false);
      assert.equal(cache.eventSeenBefore(event('HG', 'delivered')), false, 'a fourth event pushes out the first');
      assert.equal(cache.eventCount, 3);
      assert.equal(cache.eventSeenBefore(event('HC')), true);
      assert.equal(cache.eventSeenBefore(event('HG')), false, 'the first was forgotten');
      assert.equal(cache.size, 0, 'events and tokens are counted apart');
      now = 99;
      assert.equal(cache.eventSeenBefore(event('HG', 'delivered')), true);
      now = 100;
      assert.equal(cache.eventSeenBefore(event('HG', 'delivered')), false, 'expired 100 ms after it was first seen');
      // By default, as many as tokens: 10 000.
      const defaults = new IdempotencyCache({ now: () => now });
      for (let i = 0; i <= 10_000; i++) defaults.eventSeenBefore({ sid: `HG${i.toString(16).padStart(32, '0')}`, status: 'sent', direction: 'to_sim' });
      assert.equal(defaults.eventCount, 10_000);
    });

    it('receivers sharing a cache share what they have seen', () => {
      const idempotency = new IdempotencyCache();
      const request = postRequest('/in', formBody(STATUS_FIELDS), { [KORE_IDEMPOTENCY_HEADER]: 'shared' });
      assert.equal(new CallbackReceiver({ provider: 'kore', idempotency }).handle(request).duplicate, false);
      assert.equal(new CallbackReceiver({ provider: 'kore', idempotency }).handle(request).duplicate, true);
    });

    it('forgets the oldest token past maxEntries', () => {
      const cache = new IdempotencyCache({ maxEntries: 3 });
      for (const token of ['a', 'b', 'c', 'd']) assert.equal(cache.seenBefore(token), false);
      assert.equal(cache.size, 3);
      assert.equal(cache.seenBefore('d'), true);
      assert.equal(cache.seenBefore('b'), true);
      assert.equal(cache.seenBefore('a'), false, 'a was evicted');
      assert.equal(cache.size, 3);
    });

    it('forgets a token once its TTL, counted from the first sighting, has passed', () => {
      let now = 1_000;
      const cache = new IdempotencyCache({ ttlMs: 100, now: () => now });
      assert.equal(cache.seenBefore('a'), false);
      now += 50;
      assert.equal(cache.seenBefore('b'), false);
      now += 49;
      assert.equal(cache.seenBefore('a'), true);
      now += 1;
      assert.equal(cache.size, 1, 'a expired at 100 ms, b has not');
      assert.equal(cache.seenBefore('a'), false);
      now += 60;
      assert.equal(cache.seenBefore('b'), false, 'b expired too');
      assert.equal(cache.size, 2);
    });

    it('defaults to 24 hours and keeps long tokens distinct at a bounded size', () => {
      let now = 0;
      const cache = new IdempotencyCache({ now: () => now });
      const long = 'x'.repeat(10_000);
      assert.equal(cache.seenBefore(long), false);
      assert.equal(cache.seenBefore(`${long}y`), false);
      assert.equal(cache.seenBefore(long), true);
      now = 24 * 60 * 60 * 1000 - 1;
      assert.equal(cache.seenBefore(long), true);
      now += 1;
      assert.equal(cache.seenBefore(long), false);
    });

    it('stays fast and bounded under a flood of tokens', () => {
      const cache = new IdempotencyCache({ maxEntries: 1000 });
      const started = process.hrtime.bigint();
      for (let i = 0; i < 50_000; i++) cache.seenBefore(`token-${i}`);
      assert.equal(cache.size, 1000);
      assert.ok(process.hrtime.bigint() - started < 1_000_000_000n, 'under a second');
    });

    it('refuses nonsensical options', () => {
      assert.throws(() => new IdempotencyCache({ maxEntries: 0 }), RangeError);
      assert.throws(() => new IdempotencyCache({ ttlMs: 0 }), RangeError);
    });
  });
});
