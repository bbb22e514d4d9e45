import assert from 'node:assert/strict';
import { Simulator } from '../../src/simulator';
import type { SimulatorMode } from '../../src/simulator';
import { accountFor, helper, sendNodeModules } from '../support/flows';
import { freePort } from '../support/net';

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
        assert.equal((await testConnection(typed({ id: 'another' }, unchanged))).result, 'error', 'no deployed node, no secret');
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
});
