/**
 * Secrets never leave through what a user or an admin can see: exported flows, the credentials API,
 * node status, Catch messages, the debug sidebar and the runtime log, even when the API echoes back
 * what it was sent. The simulator never echoes, so a small loopback server plays an API that does.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError, SuperSimClient } from '../../src/api';
import { Simulator } from '../../src/simulator';
import { twilioSignature } from '../../src/callbacks';
import { sendJson, startTestServer } from '../support/net';
import type { TestServer } from '../support/net';
import { deployFlows, startNodeRed } from '../support/node-red-process';
import type { NodeRedInstance } from '../support/node-red-process';
import { leaksIn, listenToComms, secretForms } from './support';
import type { CommsListener } from './support';

const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const CLIENT_ID = 'kore-client-id';
// Characters that URL- and form-encoding leave alone: the forms these secrets take on the wire are the
// secrets themselves. Secrets with other characters are the subject of the pending tests below.
const CLIENT_SECRET = 'koreClientSecret-0123456789abcdef';
const AUTH_TOKEN = 'twilioAuthToken0123456789abcdef0';
const WEBHOOK_SECRET = 'koreWebhookSecret-fedcba9876543210';
const ACCESS_TOKEN = `echoAccessToken-${randomBytes(12).toString('hex')}`;
const BASIC = Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64');

const SECRETS = [...secretForms(CLIENT_SECRET), ...secretForms(AUTH_TOKEN), ...secretForms(WEBHOOK_SECRET), ACCESS_TOKEN, BASIC];

/**
 * An API that repeats everything it was sent in its error answers: the Authorization header (and a
 * Basic header decoded), the raw body and each decoded field, in `message` and in `more_info`.
 */
function startEchoApi(): Promise<TestServer> {
  return startTestServer((req, res, body) => {
    const authorization = req.headers.authorization ?? '';
    const basic = authorization.startsWith('Basic ') ? Buffer.from(authorization.slice(6), 'base64').toString('utf8') : '';
    const fields = JSON.stringify(Object.fromEntries(new URLSearchParams(body)));
    const echo = `authorization=${authorization} basic=${basic} body=${body} fields=${fields}`;
    const path = req.url ?? '';
    if (path.endsWith('/ok/token')) {
      sendJson(res, 200, { access_token: ACCESS_TOKEN, expires_in: 3600, token_type: 'Bearer' });
    } else if (path.endsWith('/token')) {
      sendJson(res, 401, { status: 401, code: 20003, message: `Authentication failed for ${echo}`, more_info: `https://errors.invalid/20003?${echo}` });
    } else {
      sendJson(res, 400, { status: 400, code: 21000, message: `Refused ${echo}`, more_info: `https://errors.invalid/21000?${echo}` });
    }
  });
}

describe('secrets stay secret', function () {
  this.timeout(60_000);
  let echo: TestServer;

  before(async function () {
    echo = await startEchoApi();
  });

  after(async function () {
    await echo?.close();
  });

  describe('API client errors, against an API that echoes', function () {
    async function failure(client: SuperSimClient, call: (c: SuperSimClient) => Promise<unknown>): Promise<ApiError> {
      try {
        await call(client);
      } catch (err) {
        assert.ok(err instanceof ApiError, String(err));
        return err;
      } finally {
        await client.close();
      }
      throw new Error('the call did not fail');
    }

    const cases: [string, () => SuperSimClient, (c: SuperSimClient) => Promise<unknown>][] = [
      [
        'KORE, token refused',
        () => new SuperSimClient({ provider: 'kore', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, tokenUrl: `${echo.url}/refuse/token`, supersimUrl: `${echo.url}/kore/supersim` }),
        (c) => c.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 6655, payloadType: 'text' }),
      ],
      [
        'KORE, API refuses with the token echoed',
        () => new SuperSimClient({ provider: 'kore', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, tokenUrl: `${echo.url}/ok/token`, supersimUrl: `${echo.url}/kore/supersim` }),
        (c) => c.createSmsCommand({ sim: 'thermostat', payload: 'x' }),
      ],
      [
        'Twilio, API refuses with the Basic header echoed',
        () => new SuperSimClient({ provider: 'twilio', accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, supersimUrl: `${echo.url}/tw/supersim`, wirelessUrl: `${echo.url}/tw/wireless` }),
        (c) => c.createWirelessCommand({ sim: 'meter', command: 'x' }),
      ],
    ];
    for (const [label, make, call] of cases) {
      it(`${label}: message, stack and apiMessage carry none`, async function () {
        const err = await failure(make(), call);
        assert.match(err.message, /\[redacted\]/, 'the API did echo, and it was redacted');
        const seen = [err.message, String(err.stack), err.apiMessage ?? '', String(err)].join('\n');
        assert.deepEqual(leaksIn(seen, SECRETS), []);
      });
    }

    // A function node that logs `err` itself shows all of it, not only the message and stack that
    // Node-RED's Catch message and log take.
    it('moreInfo is redacted too, so JSON and inspect of the error carry none', async function () {
      const [, make, call] = cases[0];
      const err = await failure(make(), call);
      assert.deepEqual(leaksIn(`${JSON.stringify(err)}\n${inspect(err)}`, SECRETS), []);
    });

    // An API quoting `client_secret=…` quotes it form-encoded, which changes + / = & (common in
    // generated secrets).
    it('a client secret form-encoded on its own is redacted', async function () {
      const secret = 'kore/Secret+with=special&chars-42';
      const err = await failure(
        new SuperSimClient({ provider: 'kore', clientId: CLIENT_ID, clientSecret: secret, tokenUrl: `${echo.url}/refuse/token`, supersimUrl: `${echo.url}/kore/supersim` }),
        (c) => c.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 6655, payloadType: 'text' }),
      );
      assert.deepEqual(leaksIn(`${err.message}\n${err.stack}`, secretForms(secret)), []);
    });
  });

  describe('in a real Node-RED', function () {
    let nodeRed: NodeRedInstance;
    let comms: CommsListener;
    let testAnswer = '';
    const refusedCallbacks: number[] = [];

    before(async function () {
      // Debug level: whatever the package logs below warnings is searched too.
      nodeRed = await startNodeRed({ settings: { logging: { console: { level: 'debug', metrics: false, audit: false } } } });
      comms = await listenToComms(nodeRed, ['debug', 'status/#', 'notification/#']);
      const account = (id: string, provider: string, base: string, token = ''): Record<string, unknown> => ({
        id,
        type: 'supersim-account',
        // Not the id: Node-RED reads a config node's property equal to a node id as a dependency on it.
        name: `${id} account`,
        provider,
        supersimUrl: `${echo.url}/${base}/supersim`,
        wirelessUrl: `${echo.url}/${base}/wireless`,
        tokenUrl: token ? `${echo.url}/${token}` : '',
        callbackBaseUrl: nodeRed.url,
      });
      const send = (id: string, accountId: string, extra: Record<string, unknown>): Record<string, unknown> => ({
        id,
        z: 'tab',
        x: 300,
        y: 100,
        name: `send ${id}`,
        account: accountId,
        sim: 'thermostat',
        callbackUrl: '',
        callbackMethod: '',
        track: false,
        trackTimeout: 5,
        wires: [['dbgOut'], []],
        ...extra,
      });
      const ip = { type: 'supersim-ip-command', devicePort: '6655', payloadType: 'auto' };
      const sms = { type: 'supersim-sms-command', api: 'supersim', commandMode: 'text', includeSid: 'none', deliveryReceipt: true };
      const wireless = { ...sms, api: 'wireless', sim: 'meter' };
      const debug = (id: string): Record<string, unknown> => ({ id, z: 'tab', x: 500, y: 100, type: 'debug', active: true, tosidebar: true, console: true, tostatus: false, complete: 'true', targetType: 'full', wires: [] });
      const flows = [
        { id: 'tab', type: 'tab', label: 'secrets' },
        account('koreRefused', 'kore', 'kore', 'refuse/token'),
        account('koreEcho', 'kore', 'kore', 'ok/token'),
        account('twilioEcho', 'twilio', 'tw'),
        { id: 'go', z: 'tab', x: 100, y: 100, type: 'http in', url: '/secrets/go', method: 'post', wires: [['fan', 'answer']] },
        { id: 'answer', z: 'tab', x: 300, y: 200, type: 'http response', statusCode: '204', wires: [] },
        { id: 'fan', z: 'tab', x: 200, y: 100, type: 'function', func: "return { payload: 'hello', topic: 'secrets' };", outputs: 1, wires: [['s1', 's2', 's3', 's4', 's5']] },
        send('s1', 'koreRefused', ip),
        send('s2', 'koreEcho', ip),
        send('s3', 'twilioEcho', sms),
        send('s4', 'twilioEcho', wireless),
        send('s5', 'koreEcho', wireless),
        { id: 'catchAll', z: 'tab', x: 100, y: 300, type: 'catch', scope: null, uncaught: false, wires: [['dbgCatch']] },
        { id: 'statusAll', z: 'tab', x: 100, y: 400, type: 'status', scope: null, wires: [['dbgStatus']] },
        debug('dbgCatch'),
        debug('dbgStatus'),
        debug('dbgOut'),
      ];
      await deployFlows(nodeRed, flows, {
        koreRefused: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, webhookSecret: WEBHOOK_SECRET },
        koreEcho: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, webhookSecret: WEBHOOK_SECRET },
        twilioEcho: { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN },
      });

      const go = await fetch(new URL('secrets/go', nodeRed.nodeUrl), { method: 'POST', body: 'go' });
      await go.arrayBuffer();
      const deadline = Date.now() + 15_000;
      const caught = (): number => comms.events.join('\n').split('"id":"dbgCatch"').length - 1;
      while (caught() < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(caught(), 5, `a Catch message from each send node reached the debug sidebar:\n${nodeRed.logs()}`);

      // Forged status callbacks: refused, and the refusal is logged, without the secrets it was checked with.
      for (const [id, headers] of [
        ['koreRefused', { 'kore-signature': 'f'.repeat(64) }],
        ['twilioEcho', { 'x-twilio-signature': twilioSignature('not-the-auth-token', `${nodeRed.url}/supersim/status/twilioEcho`, { CommandSid: 'HG00' }) }],
      ] as const) {
        const response = await fetch(new URL(`supersim/status/${id}`, nodeRed.nodeUrl), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
          body: 'CommandSid=HG00',
        });
        refusedCallbacks.push(response.status);
        await response.arrayBuffer();
      }

      // Test connection with the refused credentials: its answer goes back to the browser.
      const test = await fetch(new URL('supersim-account/test', nodeRed.adminUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ provider: 'kore', tokenUrl: `${echo.url}/refuse/token`, supersimUrl: `${echo.url}/kore/supersim`, credentials: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } }),
      });
      testAnswer = await test.text();
      // Lets the last log lines and status events arrive.
      await new Promise((resolve) => setTimeout(resolve, 300));
    });

    after(async function () {
      comms?.close();
      await nodeRed?.stop();
    });

    it('GET /flows (what Export gives) carries no credential values', async function () {
      const response = await fetch(new URL('flows', nodeRed.adminUrl), { headers: { 'Node-RED-API-Version': 'v2' } });
      const text = await response.text();
      assert.equal(response.status, 200);
      assert.match(text, /koreRefused/);
      assert.deepEqual(leaksIn(text, SECRETS), []);
      for (const field of ['clientSecret', 'authToken', 'webhookSecret']) assert.doesNotMatch(text, new RegExp(`"${field}"\\s*:`), `${field} is not exported`);
    });

    it('the credentials API answers has_… for passwords, never their values', async function () {
      for (const id of ['koreRefused', 'koreEcho', 'twilioEcho']) {
        const response = await fetch(new URL(`credentials/supersim-account/${id}`, nodeRed.adminUrl));
        const text = await response.text();
        assert.equal(response.status, 200);
        assert.deepEqual(leaksIn(text, SECRETS), [], text);
      }
      const kore = (await (await fetch(new URL('credentials/supersim-account/koreEcho', nodeRed.adminUrl))).json()) as Record<string, unknown>;
      assert.equal(kore.clientId, CLIENT_ID, 'text credentials do come back');
      assert.equal(kore.has_clientSecret, true);
      assert.equal(kore.clientSecret, undefined);
    });

    it('Catch messages, node status and the debug sidebar carry none, though the API echoed them', function () {
      const sidebar = comms.events.join('\n');
      assert.match(sidebar, /\[redacted\]/, `the echo did reach the Catch messages, redacted:\n${sidebar.slice(0, 3000)}`);
      assert.match(sidebar, /"topic":"status\//, 'status events were seen');
      assert.deepEqual(leaksIn(sidebar, SECRETS), []);
    });

    it('the runtime log carries none', function () {
      const log = nodeRed.logs();
      assert.match(log, /\[redacted\]/, `the debug nodes did log the Catch messages:\n${log.slice(0, 4000)}`);
      assert.deepEqual(leaksIn(log, SECRETS), []);
    });

    it('refused status callbacks are logged without the secrets they were checked with', function () {
      assert.deepEqual(refusedCallbacks, [403, 403]);
      assert.match(nodeRed.logs(), /\[warn\] \[supersim-account:koreRefused account\]/, 'the refusal was logged');
      assert.deepEqual(leaksIn(nodeRed.logs(), SECRETS), []);
    });

    it('Test connection answers why it failed, without the secret', function () {
      assert.match(testAnswer, /401/);
      assert.deepEqual(leaksIn(testAnswer, SECRETS), []);
    });
  });

  describe('in the pending store of a node that keeps trying', function () {
    let nodeRed: NodeRedInstance;
    let simulator: Simulator;
    let stored = '';

    before(async function () {
      simulator = await Simulator.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, webhookSecret: WEBHOOK_SECRET, sims: [{ uniqueName: 'thermostat', attached: false }] });
      nodeRed = await startNodeRed({ settings: { supersim: { keepTrying: { firstRetryMs: 60_000, maxRetryMs: 60_000 } } } });
      await deployFlows(
        nodeRed,
        [
          { id: 'tab', type: 'tab', label: 'pending' },
          { id: 'acc', type: 'supersim-account', name: 'simulator', provider: 'kore', supersimUrl: simulator.supersimUrl, wirelessUrl: simulator.wirelessUrl, tokenUrl: simulator.tokenUrl, callbackBaseUrl: nodeRed.url },
          // An http in message carries the live request and response: the store must keep neither.
          { id: 'go', z: 'tab', x: 100, y: 100, type: 'http in', url: '/pending/go', method: 'post', wires: [['keep', 'answer']] },
          { id: 'answer', z: 'tab', x: 300, y: 200, type: 'http response', statusCode: '204', wires: [] },
          { id: 'keep', z: 'tab', x: 300, y: 100, type: 'supersim-ip-command', name: 'keep trying', account: 'acc', sim: 'thermostat', devicePort: '6655', payloadType: 'text', callbackUrl: '', callbackMethod: '', track: false, trackTimeout: 60, retryFor: 600, waitAnswer: true, answerTimeout: 60, outputs: 3, wires: [[], [], []] },
        ],
        { acc: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, webhookSecret: WEBHOOK_SECRET } },
      );
      const go = await fetch(new URL('pending/go', nodeRed.nodeUrl), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'wake up' });
      await go.arrayBuffer();
      const dir = join(nodeRed.userDir, 'supersim', 'pending');
      const deadline = Date.now() + 15_000;
      for (;;) {
        const file = (() => {
          try {
            return readdirSync(dir).find((name) => name.endsWith('.json'));
          } catch {
            return undefined;
          }
        })();
        stored = file === undefined ? '' : readFileSync(join(dir, file), 'utf8');
        if (/"stage":\s*"backoff"/.test(stored) || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });

    after(async function () {
      await nodeRed?.stop();
      await simulator?.close();
    });

    it('holds the attempt, its message and request, and no credential, token or live request', function () {
      assert.match(stored, /"stage":\s*"backoff"/, `the attempt failed and waits for its retry:\n${stored}\n${nodeRed.logs()}`);
      assert.match(stored, /wake up/);
      assert.deepEqual(leaksIn(stored, SECRETS), []);
      const { records } = JSON.parse(stored) as { records: { message: string }[] };
      const message = JSON.parse(records[0].message) as Record<string, unknown>;
      assert.equal(message.req, undefined);
      assert.equal(message.res, undefined);
      assert.equal(message.payload, 'wake up');
    });
  });
});
