/**
 * Test connection never sends a stored secret to a host the request names: a second listener on
 * 127.0.0.1 plays the attacker's host and must receive nothing, while the deployed account's URLs
 * (the simulator) are used instead.
 */
import assert from 'node:assert/strict';
import { Simulator } from '../../src/simulator';
import type { SimulatorMode } from '../../src/simulator';
import { accountFor, helper, sendNodeModules } from '../support/flows';
import { sendJson, startTestServer } from '../support/net';
import type { TestServer } from '../support/net';
import { startNodeRed } from '../support/node-red-process';
import type { NodeRedInstance } from '../support/node-red-process';

interface Answer {
  status: number;
  body: { result?: string; message?: string; tested?: string; formIgnored?: boolean; testedUrl?: string };
}

async function postJson(body: unknown): Promise<Answer> {
  const res = await helper.request().post('/supersim-account/test').set('content-type', 'application/json').send(JSON.stringify(body));
  return { status: res.status, body: res.body as Answer['body'] };
}

describe('Test connection and stored secrets', function () {
  this.timeout(20_000);
  let sim: Simulator;
  let attacker: TestServer;

  beforeEach(async function () {
    // Answers like a working API, so that a request that reached it would also look like success.
    attacker = await startTestServer((req, res) => {
      if ((req.url ?? '').endsWith('/token')) sendJson(res, 200, { access_token: 'stolen', expires_in: 3600, token_type: 'Bearer' });
      else sendJson(res, 200, { fleets: [], meta: { next_page_url: null } });
    });
  });

  afterEach(async function () {
    await helper.unload();
    await sim?.close();
    await attacker?.close();
  });

  for (const mode of ['kore', 'twilio'] as SimulatorMode[]) {
    describe(mode, function () {
      const secretField = mode === 'kore' ? 'clientSecret' : 'authToken';

      beforeEach(async function () {
        sim = await Simulator.start({ mode });
        const account = accountFor(sim);
        const ip = { id: 'ip1', type: 'supersim-ip-command', account: 'account', sim: 'x', devicePort: 4000, wires: [] };
        await helper.load(sendNodeModules, [account.node, ip], { account: account.credentials });
      });

      function attackerForm(overrides: Record<string, unknown> = {}): Record<string, unknown> {
        const c = sim.credentials;
        return {
          id: 'account',
          provider: mode,
          supersimUrl: `${attacker.url}/supersim`,
          wirelessUrl: `${attacker.url}/wireless`,
          tokenUrl: `${attacker.url}/token`,
          credentials:
            mode === 'kore' ? { clientId: c.clientId, clientSecret: '__PWRD__', accountSid: '', authToken: '' } : { clientId: '', clientSecret: '', accountSid: c.accountSid, authToken: '__PWRD__' },
          ...overrides,
        };
      }

      it('a secret left unchanged goes to the deployed URLs, not to the host in the request', async function () {
        const answer = await postJson(attackerForm());
        assert.deepEqual(attacker.requests, [], 'the attacker’s host received nothing');
        assert.ok(sim.stats.requests > 0, 'the deployed URLs (the simulator) were used instead');
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.equal(answer.body.result, 'works', answer.body.message);
        assert.equal(answer.body.tested, 'deployed');
        assert.equal(answer.body.formIgnored, true, 'the answer says the form’s URLs were not used');
        assert.equal(answer.body.testedUrl, mode === 'kore' ? sim.tokenUrl : sim.supersimUrl);
      });

      it('a form-encoded body gets 415 and reaches nothing', async function () {
        const form = new URLSearchParams({
          id: 'account',
          provider: mode,
          supersimUrl: `${attacker.url}/supersim`,
          tokenUrl: `${attacker.url}/token`,
          [`credentials[${secretField}]`]: '__PWRD__',
          [`credentials[${mode === 'kore' ? 'clientId' : 'accountSid'}]`]: 'x',
        }).toString();
        const res = await helper.request().post('/supersim-account/test').type('form').send(form);
        assert.equal(res.status, 415);
        assert.match(String((res.body as { message?: string }).message), /JSON/);
        // Without any content type too: a cross-site form can send text/plain.
        const plain = await helper.request().post('/supersim-account/test').set('content-type', 'text/plain').send(JSON.stringify(attackerForm()));
        assert.equal(plain.status, 415);
        assert.deepEqual(attacker.requests, []);
        assert.equal(sim.stats.requests, 0);
      });

      it('a secret left unchanged with an id that is not a deployed account gets 400 and reaches nothing', async function () {
        for (const id of ['no-such-node', 'ip1', undefined]) {
          const answer = await postJson(attackerForm({ id }));
          assert.equal(answer.status, 400, String(id));
          assert.equal(answer.body.result, 'error');
          assert.match(String(answer.body.message), /deploy the account first, or type the (Client Secret|Auth Token) again/);
        }
        assert.deepEqual(attacker.requests, []);
        assert.equal(sim.stats.requests, 0);
      });

      it('typed secrets go to the typed URLs: the user’s own choice', async function () {
        const c = sim.credentials;
        const typed = mode === 'kore' ? { clientId: c.clientId, clientSecret: 'typed-secret' } : { accountSid: c.accountSid, authToken: 'typed-token' };
        const answer = await postJson(attackerForm({ credentials: typed }));
        assert.equal(answer.status, 200);
        assert.equal(answer.body.tested, 'form');
        assert.equal(attacker.requests.length, 1);
        assert.equal(sim.stats.requests, 0);
      });

      it('a URL over 2048 characters gets 400; 40 000 slashes answer at once', async function () {
        const long = `${attacker.url}/${'a'.repeat(2048 - attacker.url.length)}`;
        const answer = await postJson(attackerForm({ supersimUrl: long }));
        assert.equal(answer.status, 400);
        assert.match(String(answer.body.message), /^Super SIM API has 2049 characters; URLs longer than 2048 are refused/);
        const slashes = await postJson(attackerForm({ tokenUrl: `${attacker.url}${'/'.repeat(40_000)}token` }));
        assert.equal(slashes.status, 400);
        assert.match(String(slashes.body.message), /^Token URL has 40\d{3} characters/);
        assert.deepEqual(attacker.requests, []);
        assert.equal(sim.stats.requests, 0);
      });
    });
  }
});

/**
 * The attack as the issue describes it: a Node-RED without adminAuth, whose admin app parses form
 * bodies, and a page elsewhere that posts a form to it. Needs `npm run build` (Node-RED loads dist/).
 */
describe('Test connection in a real Node-RED without adminAuth', function () {
  this.timeout(60_000);
  let kore: Simulator;
  let twilio: Simulator;
  let attacker: TestServer;
  let nodeRed: NodeRedInstance;

  before(async function () {
    attacker = await startTestServer((_req, res) => sendJson(res, 200, { access_token: 'stolen', expires_in: 3600, token_type: 'Bearer', fleets: [] }));
    kore = await Simulator.start({ mode: 'kore' });
    twilio = await Simulator.start({ mode: 'twilio' });
    const koreAccount = accountFor(kore, { id: 'koreAcc' });
    const twilioAccount = accountFor(twilio, { id: 'twilioAcc' });
    nodeRed = await startNodeRed({
      flows: [koreAccount.node, twilioAccount.node],
      credentials: { koreAcc: koreAccount.credentials, twilioAcc: twilioAccount.credentials },
    });
  });

  after(async function () {
    await nodeRed?.stop();
    await kore?.close();
    await twilio?.close();
    await attacker?.close();
  });

  function post(contentType: string, body: string): Promise<Response> {
    return fetch(new URL('supersim-account/test', nodeRed.adminUrl), { method: 'POST', headers: { 'content-type': contentType }, body });
  }

  for (const [id, provider, secretField] of [
    ['koreAcc', 'kore', 'clientSecret'],
    ['twilioAcc', 'twilio', 'authToken'],
  ] as const) {
    it(`${provider}: a cross-site form gets 415, and JSON naming the attacker’s host sends it nothing`, async function () {
      const fields = {
        id,
        provider,
        supersimUrl: `${attacker.url}/supersim`,
        wirelessUrl: `${attacker.url}/wireless`,
        tokenUrl: `${attacker.url}/token`,
      };
      const sim = provider === 'kore' ? kore : twilio;
      const before = sim.stats.requests;
      const form = new URLSearchParams({ ...fields, [`credentials[${secretField}]`]: '__PWRD__', [`credentials[${provider === 'kore' ? 'clientId' : 'accountSid'}]`]: 'x' });
      for (const [type, body] of [
        ['application/x-www-form-urlencoded', form.toString()],
        ['text/plain', JSON.stringify({ ...fields, credentials: { [secretField]: '__PWRD__' } })],
      ]) {
        const response = await post(type, body);
        assert.equal(response.status, 415, `${type}: ${await response.text()}`);
      }
      assert.deepEqual(attacker.requests, [], 'nothing reached the attacker’s host');
      assert.equal(sim.stats.requests, before, 'nor the deployed API');

      const c = sim.credentials;
      const typedId = provider === 'kore' ? { clientId: c.clientId } : { accountSid: c.accountSid };
      const response = await post('application/json', JSON.stringify({ ...fields, credentials: { ...typedId, [secretField]: '__PWRD__' } }));
      const answer = (await response.json()) as { result?: string; formIgnored?: boolean };
      assert.deepEqual(attacker.requests, [], 'the stored secret did not go to the attacker’s host');
      assert.ok(sim.stats.requests > before, 'it went to the deployed URLs');
      assert.equal(response.status, 200);
      assert.equal(answer.result, 'works');
      assert.equal(answer.formIgnored, true);
    });
  }
});
