/**
 * 10 000 random and malformed requests over real HTTP (keep-alive, bounded concurrency) to two
 * command-in nodes, a Twilio one and a KORE one with a webhook secret: every answer is one the node
 * documents, only the correctly signed callbacks are emitted (each once), and the nodes still work.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { KORE_IDEMPOTENCY_HEADER, KORE_SIGNATURE_HEADER, TWILIO_IDEMPOTENCY_HEADER, TWILIO_SIGNATURE_HEADER, koreSignature, twilioSignature } from '../../src/callbacks';
import { collectMessages, commandInModules, helper, serveHttpNode, waitFor } from '../support/flows';
import { Random, prng } from '../support/random';

/** Change it (FUZZ_SEED=…) to explore; a failure names the seed and the request, so it reproduces. */
const SEED = Number(process.env.FUZZ_SEED ?? 0xc0ffee);
const REQUESTS = 10_000;
const CONCURRENCY = 32;
const TIME_LIMIT_MS = 30_000;
const AUTH_TOKEN = 'fuzz-auth-token';
const WEBHOOK_SECRET = 'fuzz-webhook-secret';
const ACCOUNT_SID = `AC${'ab'.repeat(16)}`;
const FORM = 'application/x-www-form-urlencoded';
const ROUTES = { twilio: '/fuzz/twilio', kore: '/fuzz/kore' } as const;
/** 2xx (200, and 204 for a CORS preflight OPTIONS), 400, 403, 405 for other methods, 413. */
const ANSWERS = new Set([200, 204, 400, 403, 405, 413]);

type Provider = keyof typeof ROUTES;
const TOKEN_HEADERS: Readonly<Record<Provider, string>> = { kore: KORE_IDEMPOTENCY_HEADER, twilio: TWILIO_IDEMPOTENCY_HEADER };

const FORM_SPECIALS = [...'%&=+?#/ \\"\'<>{}[]'];

/** The fuzz's choices, with text that stresses URLs and forms. */
class FuzzRandom extends Random {
  hex(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += '0123456789abcdef'[this.int(16)];
    return out;
  }

  override text(maxLength: number): string {
    return super.text(maxLength, FORM_SPECIALS);
  }
}

interface FuzzRequest {
  provider: Provider;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer | string;
  /** Send the body in these pieces, chunked (no Content-Length): the size limit must hold mid-stream too. */
  chunked?: number;
  /** Set on a correctly signed callback: it must be answered 200 and emitted once per token. */
  token?: string;
  /** The only answer allowed: a KORE GET, signed as KORE would sign it, is still refused (KORE signs nothing a GET carries). */
  mustBe?: number;
}

function callbackParams(r: FuzzRandom): Record<string, string> {
  const kind = r.pick(['HG', 'HC', 'DC']);
  const fromSim = r.chance(0.5);
  const binary = kind !== 'HC' && r.chance(0.5);
  const data = binary ? r.bytes(r.int(40)).toString('base64') : r.text(60);
  const params: Record<string, string> = {
    AccountSid: ACCOUNT_SID,
    CommandSid: kind + r.hex(32),
    SimSid: `HS${r.hex(32)}`,
    SimUniqueName: r.chance(0.8) ? `sim-${r.int(100)}` : '',
    Direction: fromSim ? 'from_sim' : 'to_sim',
    Status: fromSim ? 'received' : r.pick(['queued', 'sent', 'delivered', 'failed']),
    ApiVersion: 'v1',
  };
  if (kind === 'DC') {
    params.Command = data;
    params.CommandMode = binary ? 'binary' : 'text';
  } else {
    params.Payload = data;
    params.PayloadType = binary ? 'binary' : 'text';
  }
  if (params.Status === 'failed') {
    params.ErrorCode = String(r.int(99999));
    params.ErrorMessage = r.text(30);
  }
  return params;
}

const query = (params: Record<string, string>) => new URLSearchParams(params).toString();

function sign(provider: Provider, base: string, method: string, target: string, body: string, params: Record<string, string>, form: boolean): Record<string, string> {
  if (provider === 'kore') return { [KORE_SIGNATURE_HEADER]: koreSignature(WEBHOOK_SECRET, method, base + target, body) };
  return { [TWILIO_SIGNATURE_HEADER]: twilioSignature(AUTH_TOKEN, base + target, form ? params : {}) };
}

/** A callback signed as the provider would: POST form, GET query or (KORE) JSON. */
function genuine(r: FuzzRandom, base: string, index: number): FuzzRequest {
  const provider: Provider = r.chance(0.5) ? 'twilio' : 'kore';
  const params = callbackParams(r);
  const token = `genuine-${index}`;
  const tokenHeader = TOKEN_HEADERS[provider];
  const style = r.pick(provider === 'kore' ? ['form', 'get', 'json'] : ['form', 'get']);
  const path = ROUTES[provider];
  if (style === 'get') {
    const target = `${path}?${query(params)}`;
    const headers = { ...sign(provider, base, 'GET', target, '', params, false), [tokenHeader]: token };
    return provider === 'kore' ? { provider, method: 'GET', path: target, headers, mustBe: 403 } : { provider, method: 'GET', path: target, headers, token };
  }
  const body = style === 'json' ? JSON.stringify(params) : query(params);
  const contentType = style === 'json' ? 'application/json' : FORM;
  return { provider, method: 'POST', path, body, headers: { 'content-type': contentType, ...sign(provider, base, 'POST', path, body, params, true), [tokenHeader]: token }, token };
}

const CONTENT_TYPES = [
  FORM,
  'application/json',
  'text/plain',
  'multipart/form-data; boundary=xyz',
  `${FORM}; charset=utf-16`,
  'application/json; charset=latin1',
  `${FORM}; charset="UTF-8"`,
  'garbage/$$;;==',
  '',
];

function garbageBody(r: FuzzRandom): Buffer | string {
  const params = callbackParams(r);
  switch (r.int(12)) {
    case 0:
      return query({ ...params, Payload: r.text(20) + '!!', PayloadType: 'binary' });
    case 1:
      return query({ ...params, ErrorMessage: 'x'.repeat(2_000 + r.int(20_000)) });
    case 2:
      return query({ ...params, Payload: 'A'.repeat(60_000 + r.int(20_000)) });
    case 3:
      return query(params).replace(/=/, '=%E0%A4%A');
    case 4:
      return Buffer.concat([Buffer.from(query(params)), Buffer.from([0xc3, 0x28, 0xff])]);
    case 5: {
      const full = query(params);
      return full.slice(0, r.int(full.length));
    }
    case 6: {
      const json = JSON.stringify(params);
      return r.chance(0.5) ? json.slice(0, r.int(json.length)) : json;
    }
    case 7:
      return r.pick(['[]', 'null', '"x"', '{"CommandSid":{"a":1}}', '{"__proto__":{"x":1},"CommandSid":"HG"}', '1e999', '{"Status":[1,2]}']);
    case 8:
      return r.bytes(r.int(2_000));
    case 9:
      return '';
    case 10:
      return query({ ...params, CommandSid: r.pick(['', 'HG', `XX${r.hex(32)}`, `HG${r.hex(31)}g`]), Status: r.pick(['lost', '', 'sent']) });
    default:
      return r.text(300);
  }
}

function garbageSignature(r: FuzzRandom, provider: Provider, base: string, path: string): Record<string, string> {
  const name = r.chance(0.8) ? (provider === 'kore' ? KORE_SIGNATURE_HEADER : TWILIO_SIGNATURE_HEADER) : r.pick([KORE_SIGNATURE_HEADER, TWILIO_SIGNATURE_HEADER]);
  switch (r.int(6)) {
    case 0:
      return {};
    case 1:
      return { [name]: r.text(40) };
    case 2:
      return { [name]: r.bytes(20).toString('base64') };
    case 3:
      return { [name]: r.hex(64) };
    case 4:
      // Right for some other callback: a replay onto this one.
      return sign(provider, base, 'POST', path, query(callbackParams(r)), callbackParams(r), true);
    default:
      return { [name]: 'x'.repeat(r.int(4_000)) };
  }
}

function malformed(r: FuzzRandom, base: string): FuzzRequest {
  const provider: Provider = r.chance(0.5) ? 'twilio' : 'kore';
  const method = r.chance(0.8) ? r.pick(['POST', 'POST', 'GET']) : r.pick(['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']);
  let path: string = ROUTES[provider];
  if (r.chance(0.1)) path += '/';
  if (r.chance(0.05)) path = `/${path}`;
  if (method === 'GET' || r.chance(0.2)) {
    const params = callbackParams(r);
    if (r.chance(0.3)) params.Payload = r.text(50);
    if (r.chance(0.1)) params.ErrorMessage = 'y'.repeat(r.int(9_000));
    let q = query(params);
    if (r.chance(0.2)) q += r.pick(['&%zz=1', '&a=%C3', '&=&&=', '&Payload=%FF%FE']);
    path += `?${r.chance(0.1) ? encodeURI(r.text(80)) : q}`;
  }
  const headers: Record<string, string> = { ...garbageSignature(r, provider, base, path) };
  if (r.chance(0.3)) headers[r.chance(0.5) ? KORE_IDEMPOTENCY_HEADER : TWILIO_IDEMPOTENCY_HEADER] = r.chance(0.5) ? 'same-token' : r.text(300);
  let body: Buffer | string | undefined;
  if (method !== 'GET' && method !== 'HEAD' && r.chance(0.9)) {
    body = garbageBody(r);
    const type = r.pick(CONTENT_TYPES);
    if (type !== '') headers['content-type'] = type;
  }
  const chunked = body !== undefined && r.chance(0.1) ? 1 + r.int(8) : undefined;
  if (r.chance(0.05)) headers['x-forwarded-host'] = r.text(30).replace(/[^\x21-\x7e]/g, 'h');
  return { provider, method, path, headers, body, chunked };
}

/** The body as a stream of `pieces` parts, which undici sends with Transfer-Encoding: chunked. */
function inPieces(body: Buffer | string, pieces: number): Readable {
  const bytes = Buffer.from(body);
  const size = Math.ceil(bytes.length / pieces) || 1;
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) parts.push(bytes.subarray(at, at + size));
  return Readable.from(parts, { objectMode: false });
}

describe('supersim-command-in under 10 000 random and malformed requests', function () {
  this.timeout(90_000);
  let server: { url: string; close(): Promise<void> };

  before(async function () {
    server = await serveHttpNode();
  });

  after(async function () {
    await helper.unload();
    await server.close();
  });

  it('answers each with 2xx, 400, 403, 405 or 413, emits exactly the genuine callbacks once, and still works', async function () {
    const account = (id: string, provider: Provider) => ({
      id,
      type: 'supersim-account',
      name: '',
      provider,
      supersimUrl: '',
      wirelessUrl: '',
      tokenUrl: '',
      callbackBaseUrl: server.url,
    });
    const flow = [
      { id: 'tab', type: 'tab', label: 'fuzz' },
      account('twilioAccount', 'twilio'),
      account('koreAccount', 'kore'),
      { z: 'tab', x: 100, y: 100, id: 'twilioIn', type: 'supersim-command-in', name: '', account: 'twilioAccount', url: ROUTES.twilio, wires: [['twilioOut'], ['twilioOut']] },
      { z: 'tab', x: 100, y: 100, id: 'koreIn', type: 'supersim-command-in', name: '', account: 'koreAccount', url: ROUTES.kore, wires: [['koreOut'], ['koreOut']] },
      { z: 'tab', x: 100, y: 100, id: 'twilioOut', type: 'helper' },
      { z: 'tab', x: 100, y: 100, id: 'koreOut', type: 'helper' },
    ];
    await helper.load(commandInModules, flow, {
      twilioAccount: { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN },
      koreAccount: { clientId: 'fuzz-client', clientSecret: 'fuzz-client-secret', webhookSecret: WEBHOOK_SECRET },
    });
    const emitted = { twilio: collectMessages('twilioOut'), kore: collectMessages('koreOut') };

    const r = new FuzzRandom(prng(SEED));
    const requests: FuzzRequest[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      if (r.chance(0.12)) {
        const callback = genuine(r, server.url, i);
        requests.push(callback);
        // A provider's retry: the same request again, to be answered 200 and not emitted twice.
        if (r.chance(0.2) && i + 1 < REQUESTS) {
          requests.push({ ...callback });
          i++;
        }
      } else {
        requests.push(malformed(r, server.url));
      }
    }

    const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 10_000, headersTimeout: 10_000, bodyTimeout: 10_000 });
    const answers = new Map<number, number>();
    const accepted = { twilio: new Set<string>(), kore: new Set<string>() };
    const problems: string[] = [];
    const started = Date.now();
    let nextIndex = 0;
    const worker = async (): Promise<void> => {
      while (nextIndex < requests.length) {
        const index = nextIndex++;
        const req = requests[index];
        try {
          const body = req.chunked !== undefined && req.body !== undefined ? inPieces(req.body, req.chunked) : req.body;
          const response = await request(server.url + req.path, { method: req.method, headers: req.headers, body, dispatcher: agent });
          await response.body.dump();
          answers.set(response.statusCode, (answers.get(response.statusCode) ?? 0) + 1);
          if (!ANSWERS.has(response.statusCode)) problems.push(`#${index} ${req.method} ${req.path.slice(0, 80)}: HTTP ${response.statusCode}`);
          if (req.mustBe !== undefined && response.statusCode !== req.mustBe) problems.push(`#${index} signed KORE GET answered ${response.statusCode}`);
          if (req.token !== undefined) {
            if (response.statusCode !== 200) problems.push(`#${index} genuine ${req.provider} ${req.method} answered ${response.statusCode}`);
            else accepted[req.provider].add(req.token);
          }
        } catch (err) {
          problems.push(`#${index} ${req.method} ${req.path.slice(0, 80)}: ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsed = Date.now() - started;
    await agent.close();

    // Bodies cut off mid-stream by the sender, which no HTTP client library will send.
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve) => {
        const socket = connect(Number(new URL(server.url).port), '127.0.0.1', () => {
          socket.end(`POST ${ROUTES[i % 2 ? 'kore' : 'twilio']} HTTP/1.1\r\nHost: x\r\nContent-Type: ${FORM}\r\nContent-Length: 500\r\n\r\nCommandSid=HG`);
        });
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.resume();
      });
    }

    const summary = `seed ${SEED}, answers ${JSON.stringify(Object.fromEntries(answers))}`;
    assert.deepEqual(problems.slice(0, 20), [], summary);
    assert.ok(elapsed < TIME_LIMIT_MS, `${REQUESTS} requests took ${elapsed} ms (${summary})`);
    for (const status of [200, 400, 403, 405, 413]) assert.ok((answers.get(status) ?? 0) > 0, `no ${status} answer at all: the fuzz misses a path (${summary})`);

    for (const provider of ['twilio', 'kore'] as Provider[]) {
      await waitFor(() => emitted[provider].length >= accepted[provider].size, 5_000, `${provider} emissions`);
      const tokens = emitted[provider].map((m) => String((m.callback as Record<string, unknown>).idempotencyToken));
      assert.equal(tokens.length, accepted[provider].size, `${provider}: one message per genuine callback`);
      assert.deepEqual(new Set(tokens), accepted[provider], `${provider}: only genuine callbacks were emitted`);
      assert.ok(emitted[provider].every((m) => (m.callback as Record<string, unknown>).verified === true));
    }

    // Still listening and checking, on both nodes.
    for (const provider of ['twilio', 'kore'] as Provider[]) {
      const before = emitted[provider].length;
      const params = callbackParams(new FuzzRandom(prng(SEED + 1)));
      const body = query(params);
      const path = ROUTES[provider];
      const headers = { 'content-type': FORM, ...sign(provider, server.url, 'POST', path, body, params, true), [TOKEN_HEADERS[provider]]: `after-${provider}` };
      const response = await request(server.url + path, { method: 'POST', headers, body });
      await response.body.dump();
      assert.equal(response.statusCode, 200);
      await waitFor(() => emitted[provider].length === before + 1, 3_000, `${provider} after the fuzz`);
    }
  });
});
