/**
 * Where requests go is the account node's business alone: no message property can point a send node
 * (or the delivery tracking it starts) at another host, change the path, or swap the credentials. A
 * callback URL in a message is handed to the API as a parameter; this package never requests it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { collectMessages, helper, sendNodeModules, waitFor } from '../support/flows';
import { sendJson, startTestServer } from '../support/net';
import type { TestServer } from '../support/net';

const CLIENT_ID = 'routing-client';
const CLIENT_SECRET = 'routing-client-secret';
const TOKEN = `routing-token-${randomBytes(8).toString('hex')}`;

const CREATE_PATHS: Record<string, { path: string; prefix: string; simField: string }> = {
  ip: { path: '/api/supersim/v1/IpCommands', prefix: 'HG', simField: 'Sim' },
  sms: { path: '/api/supersim/v1/SmsCommands', prefix: 'HC', simField: 'Sim' },
  wireless: { path: '/api/wireless/v1/Commands', prefix: 'DC', simField: 'Sim' },
};

/** An API that creates whatever it is asked to and reports every command as failed (final) when fetched. */
function startApi(): Promise<TestServer> {
  return startTestServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'POST' && path === '/api/token') {
      sendJson(res, 200, { access_token: TOKEN, expires_in: 3600, token_type: 'Bearer' });
      return;
    }
    const create = Object.values(CREATE_PATHS).find((c) => c.path === path);
    if (req.method === 'POST' && create) {
      const sid = create.prefix + randomBytes(16).toString('hex');
      sendJson(res, 201, { sid, status: 'queued', url: `http://example.invalid${path}/${sid}` });
      return;
    }
    const fetched = Object.values(CREATE_PATHS).find((c) => path.startsWith(`${c.path}/`));
    if (req.method === 'GET' && fetched) {
      sendJson(res, 200, { sid: path.slice(fetched.path.length + 1), status: 'failed' });
      return;
    }
    sendJson(res, 404, { status: 404, code: 20404, message: 'not found' });
  });
}

const KINDS = [
  { label: 'supersim-ip-command', create: 'ip', node: { type: 'supersim-ip-command', devicePort: '6655', payloadType: 'text' } },
  { label: 'supersim-sms-command (Super SIM)', create: 'sms', node: { type: 'supersim-sms-command', api: 'supersim', commandMode: 'text', includeSid: 'none', deliveryReceipt: true } },
  { label: 'supersim-sms-command (Wireless)', create: 'wireless', node: { type: 'supersim-sms-command', api: 'wireless', commandMode: 'text', includeSid: 'none', deliveryReceipt: true } },
];

describe('no message property can send a request anywhere but the account’s API', function () {
  this.timeout(20_000);
  let api: TestServer;
  let canary: TestServer;

  beforeEach(async function () {
    api = await startApi();
    canary = await startTestServer((_req, res) => sendJson(res, 200, { ok: true }));
  });

  afterEach(async function () {
    await helper.unload();
    await api?.close();
    await canary?.close();
  });

  for (const kind of KINDS) {
    it(`${kind.label}: URLs, headers and SIMs in msg reach only the API, as parameters`, async function () {
      const flow = [
        { id: 'tab', type: 'tab', label: 'routing' },
        {
          id: 'account',
          type: 'supersim-account',
          name: 'routing account',
          provider: 'kore',
          supersimUrl: `${api.url}/api/supersim`,
          wirelessUrl: `${api.url}/api/wireless`,
          tokenUrl: `${api.url}/api/token`,
          callbackBaseUrl: '',
        },
        // Blank SIM and callback fields, so the message's own are used; tracking on, so the fetches it makes are checked too.
        { z: 'tab', x: 100, y: 100, id: 'send', account: 'account', sim: '', callbackUrl: '', callbackMethod: '', track: true, trackTimeout: 2, ...kind.node, wires: [['out'], ['updates']] },
        { z: 'tab', x: 100, y: 100, id: 'out', type: 'helper' },
        { z: 'tab', x: 100, y: 100, id: 'updates', type: 'helper' },
        { z: 'tab', x: 100, y: 100, id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { z: 'tab', x: 100, y: 100, id: 'caught', type: 'helper' },
      ];
      await helper.load(sendNodeModules, flow, { account: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } });
      const outputs = collectMessages('out');
      const updates = collectMessages('updates');
      const caught = collectMessages('caught');
      const send = helper.getNode('send');

      const canaryHost = `127.0.0.1:${canary.port}`;
      const hostile = {
        supersimUrl: `${canary.url}/supersim`,
        wirelessUrl: `${canary.url}/wireless`,
        tokenUrl: `${canary.url}/token`,
        url: `${canary.url}/url`,
        baseUrl: canary.url,
        host: canaryHost,
        hostname: '127.0.0.1',
        port: canary.port,
        path: '/steal',
        method: 'GET',
        proxy: canary.url,
        account: 'another-account',
        headers: { host: canaryHost, authorization: 'Basic c3RvbGVuOmNyZWRz', 'x-forwarded-host': canaryHost, location: canary.url },
        callbackUrl: `${canary.url}/callback`,
        callbackMethod: 'GET',
      };
      // Sent as parameters, so harmless: names without a '/', however odd.
      const acceptedSims = ['thermostat', '..', '%2e%2e%2fFleets', 'thermostat?Sim=other#x'];
      // Refused before any request: a '/' cannot be in a SID or a unique name.
      const refusedSims = ['../Fleets/default', '../../api-services/v1/auth/token', `${canary.url}/x`, '//127.0.0.1/x', './thermostat'];
      for (const sim of acceptedSims) send.receive({ payload: 'hello', ...hostile, sim, tag: sim });
      for (const sim of refusedSims) send.receive({ payload: 'hello', ...hostile, sim, tag: sim });

      const total = acceptedSims.length + refusedSims.length;
      await waitFor(() => outputs.length + caught.length >= total, 8_000, 'every message to end');
      // Tracking polls once per created command and stops at the final status the API reports.
      await waitFor(() => updates.length >= acceptedSims.length, 8_000, 'tracking to reach the final status');
      await new Promise((resolve) => setTimeout(resolve, 100));

      assert.deepEqual(outputs.map((m) => m.tag).sort(), [...acceptedSims].sort());
      assert.deepEqual(caught.map((m) => m.tag).sort(), [...refusedSims].sort());
      for (const msg of caught) assert.match(String((msg.error as { message: string }).message), /sim/i);

      assert.deepEqual(canary.requests, [], 'the other host was never called');

      const create = CREATE_PATHS[kind.create];
      const apiHost = `127.0.0.1:${api.port}`;
      const creates = api.requests.filter((r) => r.method === 'POST' && r.url === create.path);
      const tokens = api.requests.filter((r) => r.url === '/api/token');
      const fetches = api.requests.filter((r) => r.method === 'GET' && r.url.startsWith(`${create.path}/${create.prefix}`));
      assert.equal(tokens.length, 1, 'one token request, to the account’s token URL');
      assert.equal(creates.length, acceptedSims.length, 'one create per accepted message, at the API path');
      assert.equal(creates.length + tokens.length + fetches.length, api.requests.length, `nothing else: ${api.requests.map((r) => `${r.method} ${r.url}`).join(', ')}`);
      for (const request of api.requests) {
        assert.equal(request.headers.host, apiHost, 'the Host header is the API’s');
        assert.equal(request.headers['x-forwarded-host'], undefined);
        if (request.url !== '/api/token') assert.equal(request.headers.authorization, `Bearer ${TOKEN}`, 'the account’s credentials, not the message’s');
      }
      const sims = creates.map((r) => new URLSearchParams(r.body).get(create.simField)).sort();
      assert.deepEqual(sims, [...acceptedSims].sort(), 'each SIM went as a parameter, verbatim');
      for (const request of creates) {
        const params = new URLSearchParams(request.body);
        assert.equal(params.get('CallbackUrl'), hostile.callbackUrl, 'msg.callbackUrl is given to the API as a parameter');
        assert.equal(params.get('CallbackMethod'), 'GET');
      }
    });
  }
});
