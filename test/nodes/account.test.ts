import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sinon from 'sinon';
import request from 'supertest';
import { Simulator } from '../../src/simulator';
import type { SimulatorMode } from '../../src/simulator';
import { accountFor, currentHttpNode, helper, logLines, sendNodeModules } from '../support/flows';
import { freePort } from '../support/net';
import type { NodeAPI } from '../../nodes/lib/red';

/** The helper's RED._ returns the key: substitute from the catalogue, so tests read real messages. */
const CATALOGUE = JSON.parse(readFileSync(join(__dirname, '..', '..', 'nodes', 'locales', 'en-US', 'supersim-account.json'), 'utf8')) as Record<string, unknown>;
function withMessages(RED: NodeAPI): void {
  RED._ = (key: string, substitutions: Record<string, unknown> = {}) => {
    let text: unknown = CATALOGUE;
    for (const part of key.split('.')) text = typeof text === 'object' && text !== null ? (text as Record<string, unknown>)[part] : undefined;
    return typeof text === 'string' ? text.replace(/__(\w+)__/g, (_, name: string) => String(substitutions[name] ?? '')) : key;
  };
}
const MODULES = [withMessages, ...sendNodeModules];

interface TestAnswer {
  result: string;
  message: string;
}

async function testConnection(body: Record<string, unknown>): Promise<TestAnswer> {
  const res = await helper.request().post('/supersim-account/test').send(body).set('content-type', 'application/json');
  assert.equal(res.status, 200);
  return res.body as TestAnswer;
}

describe('supersim-account', function () {
  this.timeout(20_000);
  let sim: Simulator;

  afterEach(async function () {
    await helper.unload();
    await sim?.close();
  });

  for (const mode of ['kore', 'twilio'] as SimulatorMode[]) {
    describe(`Test connection (${mode})`, function () {
      beforeEach(async function () {
        sim = await Simulator.start({ mode });
        const account = accountFor(sim);
        await helper.load(sendNodeModules, [account.node], { account: account.credentials });
      });

      function typed(overrides: Record<string, unknown> = {}, credentials: Record<string, unknown> = {}) {
        const c = sim.credentials;
        return {
          provider: mode,
          supersimUrl: sim.supersimUrl,
          wirelessUrl: sim.wirelessUrl,
          tokenUrl: sim.tokenUrl,
          credentials:
            mode === 'kore'
              ? { clientId: c.clientId, clientSecret: c.clientSecret, ...credentials }
              : { accountSid: c.accountSid, authToken: c.authToken, ...credentials },
          ...overrides,
        };
      }

      it('says the credentials work', async function () {
        const answer = await testConnection(typed());
        assert.equal(answer.result, 'works');
      });

      it('says bad credentials, without repeating the secret', async function () {
        const secret = mode === 'kore' ? { clientSecret: 'wrong-secret-123' } : { authToken: 'wrong-token-123' };
        const answer = await testConnection(typed({}, secret));
        assert.equal(answer.result, 'bad-credentials');
        assert.ok(!answer.message.includes(Object.values(secret)[0]));
      });

      it('says unreachable when nothing answers at the URL', async function () {
        const port = await freePort();
        const answer = await testConnection(typed({ supersimUrl: `http://127.0.0.1:${port}`, tokenUrl: `http://127.0.0.1:${port}/token` }));
        assert.equal(answer.result, 'unreachable');
      });

      it('uses the deployed secret for a password field left unchanged', async function () {
        const unchanged = mode === 'kore' ? { clientSecret: '__PWRD__' } : { authToken: '__PWRD__' };
        assert.equal((await testConnection(typed({ id: 'account' }, unchanged))).result, 'works');
        const undeployed = await helper.request().post('/supersim-account/test').send(typed({ id: 'another' }, unchanged)).set('content-type', 'application/json');
        assert.equal(undeployed.status, 400, 'no deployed node, no secret');
        assert.match((undeployed.body as TestAnswer).message, /deploy the account first, or type the (Client Secret|Auth Token) again/);
      });
    });
  }

  it('reports a missing credential as a configuration error at start', async function () {
    sim = await Simulator.start({ mode: 'kore' });
    const account = accountFor(sim);
    await helper.load(sendNodeModules, [account.node], { account: { clientId: 'only-an-id' } });
    const node = helper.getNode('account') as unknown as { account: { configError?: string } };
    assert.match(String(node.account.configError), /Client Secret/);
  });

  describe('its status callback route', function () {
    let clock: sinon.SinonFakeTimers | undefined;

    afterEach(function () {
      clock?.restore();
      clock = undefined;
    });

    it('logs refused callbacks at most once a minute, then says how many more there were', async function () {
      clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
      sim = await Simulator.start({ mode: 'twilio' });
      const account = accountFor(sim, { callbackBaseUrl: 'https://nodered.example.com' });
      await helper.load(MODULES, [account.node], { account: account.credentials });
      const forge = () => request(currentHttpNode()).post('/supersim/status/account').type('form').set('x-twilio-signature', 'forged').send('CommandSid=HG00&Status=delivered');
      const refusals = () => logLines('account', 30).filter((line) => line.includes('status callback was refused'));
      for (let i = 0; i < 5; i++) assert.equal((await forge()).status, 403);
      assert.equal(refusals().length, 1, 'one line for the burst');
      clock.tick(59_000);
      assert.equal((await forge()).status, 403);
      assert.equal(refusals().length, 1, 'still within the minute');
      clock.tick(1_000);
      assert.equal((await forge()).status, 403);
      assert.equal(refusals().length, 2, 'a minute later, the next one is logged');
      assert.match(refusals()[1], /\(5 more were refused since the last such warning; at most one is logged per minute\.\)/);
    });

    it('warns at deploy when a KORE account takes status callbacks unsigned (no Webhook secret)', async function () {
      sim = await Simulator.start({ mode: 'kore' });
      const unsigned = accountFor(sim, { id: 'unsigned', callbackBaseUrl: 'https://nodered.example.com' });
      const signed = accountFor(sim, { id: 'signed', callbackBaseUrl: 'https://nodered.example.com' });
      const polling = accountFor(sim, { id: 'polling' });
      const { webhookSecret: _dropped, ...withoutSecret } = unsigned.credentials;
      await helper.load(MODULES, [unsigned.node, signed.node, polling.node], {
        unsigned: withoutSecret,
        signed: signed.credentials,
        polling: withoutSecret,
      });
      assert.match(logLines('unsigned', 30).join('\n'), /Status callbacks to this account .* accepted without a signature check.*Webhook secret/);
      assert.deepEqual(logLines('signed', 30), []);
      assert.deepEqual(logLines('polling', 30), [], 'no Public URL: no callbacks to sign');
    });
  });
});
