import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  CallbackReceiver,
  DEFAULT_MAX_BODY_BYTES,
  KORE_IDEMPOTENCY_HEADER,
  KORE_SIGNATURE_HEADER,
  TWILIO_IDEMPOTENCY_HEADER,
  TWILIO_SIGNATURE_HEADER,
  commandKindOf,
  koreSignature,
  twilioSignature,
} from '../../src/callbacks/index.js';
import type { CallbackRequest, ReceiverResult } from '../../src/callbacks/index.js';
import { isCommandStatus, isValidBase64 } from '../../src/commands/index.js';
import { Random, prng } from '../support/random';

/** Change it (FUZZ_SEED=…) to explore; every failure names the seed and the request's index, so it reproduces. */
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_cafe);
const REQUESTS = 10_000;
const TOKEN = 'fuzz-auth-token';
const SECRET = 'fuzz-webhook-secret';
const BASE = 'https://nodered.example.com';
const FORM = 'application/x-www-form-urlencoded';
const STATUSES = new Set([200, 400, 403, 405, 413, 415]);

const TEXT_SPECIALS = ['%', '&', '=', '+', '?', '#', '/', ' ', 'é', '🌍', '\u0000'];

/** The fuzz's choices, with text that stresses URLs, forms and encodings. */
class Gen extends Random {
  /** Printable ASCII with the characters that matter to URLs and forms over-represented. */
  override text(maxLength: number): string {
    return super.text(maxLength, TEXT_SPECIALS);
  }

  sid(): string {
    const prefix = this.pick(['HG', 'HC', 'DC', 'HS', 'DE', 'AC', 'XX', 'hg']);
    let hex = '';
    const length = this.chance(0.9) ? 32 : this.int(40);
    for (let i = 0; i < length; i++) hex += '0123456789abcdefABCDEFxz'[this.int(this.chance(0.95) ? 22 : 24)];
    return prefix + hex;
  }

  /** A valid callback's fields about half the time, else one with a few things wrong. */
  fields(): [string, string][] {
    const sid = `${this.pick(['HG', 'HC', 'DC'])}${this.bytes(16).toString('hex')}`;
    const binary = this.chance(0.4);
    const [payloadField, typeField] = sid.startsWith('DC') ? ['Command', 'CommandMode'] : ['Payload', 'PayloadType'];
    const fields = new Map<string, string>([
      ['AccountSid', `AC${this.bytes(16).toString('hex')}`],
      ['CommandSid', sid],
      ['SimSid', `HS${this.bytes(16).toString('hex')}`],
      ['SimUniqueName', this.text(20)],
      [payloadField, binary ? this.bytes(this.int(64)).toString('base64') : this.text(40)],
      [typeField, binary ? 'binary' : 'text'],
      ['Direction', this.pick(['to_sim', 'from_sim'])],
      ['Status', this.pick(['queued', 'sent', 'delivered', 'received', 'failed'])],
      ['ApiVersion', 'v1'],
    ]);
    const names = [...fields.keys(), 'ErrorCode'];
    for (let mutations = this.chance(0.5) ? 0 : 1 + this.int(3); mutations > 0; mutations--) {
      const name = this.pick(names);
      if (this.chance(0.3)) fields.delete(name);
      else fields.set(name, this.pick([this.sid(), this.text(12), '', 'AP8AA', '!!!!', 'AA==AA', 'lost', 'constructor', '-1', '1e3', 'x'.repeat(9000)]));
    }
    return [...fields];
  }

  json(depth = 0): unknown {
    const kind = this.int(depth > 3 ? 4 : 7);
    if (kind === 0) return this.text(10);
    if (kind === 1) return this.next() * 1e6 - 5e5;
    if (kind === 2) return this.chance(0.5);
    if (kind === 3) return null;
    if (kind === 4) return Array.from({ length: this.int(4) }, () => this.json(depth + 1));
    return Object.fromEntries(Array.from({ length: this.int(5) }, () => [this.text(6), this.json(depth + 1)]));
  }
}

type Signing = 'none' | 'garbage' | 'wrong-key' | 'valid';

interface Case {
  target: 'twilio' | 'kore-signed' | 'kore-open';
  signing: Signing;
  request: CallbackRequest;
}

/** The parameters as a sender would sign them; a map keeps names such as __proto__ as parameters. */
function formValues(body: Buffer): Record<string, string[]> {
  const values = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(body.toString('utf8'))) values.set(name, [...(values.get(name) ?? []), value]);
  return Object.fromEntries(values);
}

function generate(g: Gen): Case {
  const method = g.chance(0.9) ? g.pick(['GET', 'POST', 'POST']) : g.pick(['PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'get', 'post', '', g.text(8)]);
  let contentType: string | undefined = g.chance(0.85)
    ? g.pick([FORM, `${FORM}; charset=utf-8`, 'application/json', 'application/json; charset=UTF-8'])
    : g.pick([undefined, '', 'text/plain', `${FORM}; charset=latin1`, 'multipart/form-data; boundary=x', 'APPLICATION/JSON', ';;;', `${FORM};charset`, g.text(30)]);

  const fields = g.fields();
  let body: Buffer;
  const shape = g.int(10);
  if (shape === 0) body = g.bytes(g.int(2000));
  else if (shape === 1) body = Buffer.alloc(0);
  else if (shape === 2) body = Buffer.alloc(DEFAULT_MAX_BODY_BYTES + 1 + g.int(100), 0x61);
  else if (shape === 3) {
    // Truncated somewhere, maybe inside an escape.
    const whole = new URLSearchParams(fields).toString();
    body = Buffer.from(whole.slice(0, g.int(whole.length + 1)));
  } else if (shape === 4) {
    // Invalid UTF-8, raw or escaped.
    const whole = Buffer.from(new URLSearchParams(fields).toString());
    body = Buffer.concat([whole.subarray(0, g.int(whole.length + 1)), g.pick([Buffer.from([0xff]), Buffer.from([0xc3, 0x28]), Buffer.from('%FF'), Buffer.from('%ED%A0%80')])]);
  } else if (shape === 5) {
    body = Buffer.from(JSON.stringify(g.json()) ?? 'undefined');
    if (g.chance(0.5)) contentType = 'application/json';
  } else if (shape === 6) {
    body = Buffer.from(JSON.stringify(Object.fromEntries(fields.map(([k, v]) => [k, g.chance(0.9) ? v : g.json(2)]))));
    if (g.chance(0.7)) contentType = 'application/json';
  } else {
    body = Buffer.from(new URLSearchParams(fields).toString());
    if (g.chance(0.7)) contentType = FORM;
  }

  let url = g.pick(['/hooks/in', '/', '/hooks/in/', '*', 'http://absolute.example/x', '']);
  if (method === 'GET' || g.chance(0.3)) url += `?${new URLSearchParams(fields).toString()}`;
  if (g.chance(0.05)) url += `&${g.text(10)}=%zz`;
  if (g.chance(0.01)) url += `&long=${'x'.repeat(20_000 + g.int(80_000))}`;
  if (g.chance(0.05)) url += g.text(30);
  if (method === 'GET') body = g.chance(0.9) ? Buffer.alloc(0) : g.bytes(g.int(50));

  const target = g.pick(['twilio', 'kore-signed', 'kore-open'] as const);
  const signing = g.pick(['none', 'garbage', 'wrong-key', 'valid', 'valid'] as const);
  const isJson = contentType?.toLowerCase().startsWith('application/json') === true;
  if (target === 'twilio' && isJson && method === 'POST' && (signing === 'valid' || g.chance(0.3))) {
    const hash = g.chance(0.9) ? createHash('sha256').update(body).digest('hex') : g.text(64);
    url += `${url.includes('?') ? '&' : '?'}bodySHA256=${hash}`;
  }

  const headers: CallbackRequest['headers'] = {};
  if (contentType !== undefined) headers['content-type'] = contentType;
  if (g.chance(0.7)) headers.host = g.pick(['127.0.0.1:1880', 'nodered.example.com', g.text(20)]);
  if (g.chance(0.2)) headers['x-forwarded-proto'] = g.pick(['https', 'http', 'HTTPS', 'gopher', 'https, http', g.text(10)]);
  if (g.chance(0.2)) headers['x-forwarded-host'] = g.pick(['nodered.example.com', 'a, b', '', g.text(20)]);
  if (g.chance(0.05)) headers['content-length'] = g.pick(['0', '1', String(DEFAULT_MAX_BODY_BYTES * 2), 'abc', '-1', '']);
  if (g.chance(0.6)) headers[g.pick([KORE_IDEMPOTENCY_HEADER, TWILIO_IDEMPOTENCY_HEADER])] = g.pick(['t1', 't2', 't3', g.text(20), 'y'.repeat(300)]);

  const request: CallbackRequest = { method, url, headers, rawBody: body };
  const signedUrl = BASE + url;
  const sign = (provider: 'kore' | 'twilio', key: string): string =>
    provider === 'kore'
      ? koreSignature(key, method, signedUrl, body)
      : twilioSignature(key, signedUrl, method === 'POST' && contentType?.toLowerCase().startsWith(FORM) ? formValues(body) : {});
  const provider = target === 'twilio' ? 'twilio' : 'kore';
  const key = provider === 'twilio' ? TOKEN : SECRET;
  const header = provider === 'twilio' ? TWILIO_SIGNATURE_HEADER : KORE_SIGNATURE_HEADER;
  if (signing === 'garbage') headers[header] = g.pick(['', g.text(28), g.bytes(20).toString('base64'), g.bytes(32).toString('hex'), [g.text(5)]]);
  else if (signing === 'wrong-key') headers[header] = sign(provider, `${key}!`);
  else if (signing === 'valid') headers[header] = sign(provider, key);
  return { target, signing, request };
}

function checkInvariants(result: ReceiverResult, { target, signing, request }: Case): void {
  assert.ok(STATUSES.has(result.status), `status ${result.status}`);
  assert.equal(result.event !== undefined, result.status === 200, 'an event exactly with 200');
  if (result.status !== 200) {
    assert.equal(typeof result.reason, 'string');
    return;
  }
  assert.ok(request.method === 'GET' || request.method === 'POST', `200 for ${request.method}`);
  if (target !== 'kore-open') assert.equal(signing, 'valid', `an event from a request ${signing === 'none' ? 'without signature' : `with a ${signing} signature`}`);
  assert.equal(result.verified, target !== 'kore-open');
  const event = result.event as NonNullable<ReceiverResult['event']>;
  assert.equal(event.kind, commandKindOf(event.sid));
  assert.ok(isCommandStatus(event.status));
  assert.ok(event.direction === 'to_sim' || event.direction === 'from_sim');
  if (event.payloadType === 'binary' && event.rawPayload !== null) {
    assert.ok(isValidBase64(event.rawPayload) || event.rawPayload === '', 'binary payloads are strict Base64');
    assert.deepEqual(event.payload, Buffer.from(event.rawPayload, 'base64'));
  } else {
    assert.equal(event.payload, event.rawPayload);
  }
}

describe('callbacks fuzz', () => {
  it(`${REQUESTS} random and malformed requests: never a throw, only known statuses, no event without a valid signature (seed ${SEED})`, function () {
    this.timeout(10_000);
    const g = new Gen(prng(SEED));
    const receivers = {
      twilio: new CallbackReceiver({ provider: 'twilio', authToken: TOKEN, publicBaseUrl: BASE }),
      'kore-signed': new CallbackReceiver({ provider: 'kore', webhookSecret: SECRET, publicBaseUrl: BASE }),
      'kore-open': new CallbackReceiver({ provider: 'kore' }),
    };
    const seen = new Map<string, number>();
    for (let i = 0; i < REQUESTS; i++) {
      const testCase = generate(g);
      let result: ReceiverResult;
      try {
        result = receivers[testCase.target].handle(testCase.request);
        checkInvariants(result, testCase);
      } catch (error) {
        assert.fail(`seed ${SEED}, request #${i} (${testCase.target}, ${testCase.signing} signature): ${(error as Error).message}`);
      }
      const key = `${testCase.target} ${result.status}${result.duplicate ? ' duplicate' : ''}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    // The generator must reach every answer for each receiver, or the invariants above prove little.
    for (const target of Object.keys(receivers)) {
      for (const status of STATUSES) {
        if (status === 403 && target === 'kore-open') continue;
        assert.ok((seen.get(`${target} ${status}`) ?? 0) > 0, `no ${status} from ${target}: ${JSON.stringify([...seen])}`);
      }
      assert.ok((seen.get(`${target} 200 duplicate`) ?? 0) > 0, `no duplicate from ${target}: ${JSON.stringify([...seen])}`);
    }
  });
});
