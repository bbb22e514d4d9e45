import assert from 'node:assert/strict';
import { planConnectionTest, testConnection, UNCHANGED_SECRET } from '../../src/account/connection-test';
import type { ConnectionTestPlan, DeployedNode } from '../../src/account/connection-test';
import { sendJson, startTestServer } from '../support/net';
import type { TestServer } from '../support/net';

const ATTACKER = 'http://attacker.invalid';
const DEPLOYED_KORE: DeployedNode = {
  type: 'supersim-account',
  settings: { provider: 'kore', supersimUrl: 'http://127.0.0.1:1/supersim', wirelessUrl: 'http://127.0.0.1:1/wireless', tokenUrl: 'http://127.0.0.1:1/token', webhookUrl: 'http://127.0.0.1:1/webhook' },
  credentials: { clientId: 'deployed-id', clientSecret: 'deployed-secret-0123456789' },
};
const DEPLOYED_TWILIO: DeployedNode = {
  type: 'supersim-account',
  settings: { provider: 'twilio', supersimUrl: 'http://127.0.0.1:1/supersim', wirelessUrl: 'http://127.0.0.1:1/wireless', tokenUrl: '' },
  credentials: { accountSid: 'AC0123456789abcdef0123456789abcdef', authToken: 'deployed-token-0123456789' },
};

/** A lookup that records which ids it was asked for. */
function lookup(nodes: Record<string, DeployedNode>): ((id: string) => DeployedNode | undefined) & { asked: string[] } {
  const asked: string[] = [];
  return Object.assign((id: string) => (asked.push(id), nodes[id]), { asked });
}

function attackerBody(provider: 'kore' | 'twilio', credentials: Record<string, unknown>, id = 'acc'): Record<string, unknown> {
  return { id, provider, supersimUrl: `${ATTACKER}/supersim`, wirelessUrl: `${ATTACKER}/wireless`, tokenUrl: `${ATTACKER}/token`, webhookUrl: `${ATTACKER}/webhook`, credentials };
}

function planned(plan: ConnectionTestPlan): Extract<ConnectionTestPlan, { ok: true }> {
  assert.ok(plan.ok, `refused: ${plan.ok ? '' : `${plan.status} ${plan.message}`}`);
  return plan;
}

function refused(plan: ConnectionTestPlan): Extract<ConnectionTestPlan, { ok: false }> {
  assert.ok(!plan.ok, `not refused: ${JSON.stringify(plan)}`);
  return plan;
}

describe('Test connection: what it may test', function () {
  it('refuses anything but a JSON body with 415, before reading it', function () {
    const find = lookup({ acc: DEPLOYED_KORE });
    const plan = refused(planConnectionTest({ isJson: false, body: attackerBody('kore', { clientId: 'x', clientSecret: UNCHANGED_SECRET }) }, find));
    assert.equal(plan.status, 415);
    assert.match(plan.message, /JSON/);
    assert.deepEqual(find.asked, []);
  });

  it('tests typed secrets at the typed URLs: the user’s own choice', function () {
    const find = lookup({ acc: DEPLOYED_KORE });
    const plan = planned(planConnectionTest({ isJson: true, body: attackerBody('kore', { clientId: 'typed-id', clientSecret: 'typed-secret' }) }, find));
    assert.equal(plan.tested, 'form');
    assert.equal(plan.options.tokenUrl, `${ATTACKER}/token`);
    assert.equal(plan.options.clientSecret, 'typed-secret');
    assert.deepEqual(find.asked, [], 'no deployed node is read for typed secrets');
  });

  for (const [provider, deployed, secret] of [
    ['kore', DEPLOYED_KORE, 'clientSecret'],
    ['twilio', DEPLOYED_TWILIO, 'authToken'],
  ] as const) {
    it(`${provider}: a secret left unchanged goes only to the deployed URLs, whatever the request says`, function () {
      const id = provider === 'kore' ? 'clientId' : 'accountSid';
      const plan = planned(planConnectionTest({ isJson: true, body: attackerBody(provider, { [id]: 'typed-id', [secret]: UNCHANGED_SECRET }) }, lookup({ acc: deployed })));
      assert.equal(plan.tested, 'deployed');
      assert.equal(plan.formIgnored, true);
      assert.equal(plan.options.provider, provider);
      assert.equal(plan.options.supersimUrl, deployed.settings?.supersimUrl);
      assert.equal(plan.options.wirelessUrl, deployed.settings?.wirelessUrl);
      assert.equal(plan.options.tokenUrl, deployed.settings?.tokenUrl || undefined);
      assert.equal(plan.options.webhookUrl, deployed.settings?.webhookUrl, 'the Webhook API URL too');
      assert.equal(plan.options[secret], deployed.credentials?.[secret]);
      assert.equal(plan.options[id], 'typed-id', 'what was typed still counts');
      assert.ok(!JSON.stringify(plan.options).includes('attacker'), 'no URL of the request survives');
    });
  }

  it('says the form was not ignored when its URLs are the deployed ones (blank, trailing slash aside)', function () {
    const settings = DEPLOYED_KORE.settings ?? {};
    const body = {
      id: 'acc',
      provider: 'kore',
      supersimUrl: `${settings.supersimUrl}/`,
      wirelessUrl: settings.wirelessUrl,
      tokenUrl: ` ${settings.tokenUrl} `,
      webhookUrl: settings.webhookUrl,
      credentials: { clientId: 'deployed-id', clientSecret: UNCHANGED_SECRET },
    };
    assert.equal(planned(planConnectionTest({ isJson: true, body }, lookup({ acc: DEPLOYED_KORE }))).formIgnored, false);
  });

  it('needs a deployed supersim-account for a secret left unchanged: 400, and says what to do', function () {
    const notAnAccount: DeployedNode = { type: 'supersim-ip-command', credentials: { clientSecret: 'not-this' } };
    for (const id of ['missing', 'ip1', '', 42, undefined]) {
      const plan = refused(planConnectionTest({ isJson: true, body: attackerBody('kore', { clientId: 'x', clientSecret: UNCHANGED_SECRET }, id as string) }, lookup({ ip1: notAnAccount })));
      assert.equal(plan.status, 400, String(id));
      assert.match(plan.message, /deploy the account first, or type the Client Secret again/);
    }
  });

  it('does not test a stored secret with another provider than the deployed one', function () {
    const plan = refused(planConnectionTest({ isJson: true, body: attackerBody('kore', { clientId: 'x', clientSecret: UNCHANGED_SECRET }) }, lookup({ acc: DEPLOYED_TWILIO })));
    assert.equal(plan.status, 400);
    assert.match(plan.message, /deployed account, which uses Twilio/);
  });

  it('ignores the other provider’s fields, which the dialog hides but still sends', function () {
    const find = lookup({ acc: DEPLOYED_KORE });
    const body = attackerBody('twilio', { clientId: 'old', clientSecret: UNCHANGED_SECRET, accountSid: 'AC1', authToken: 'typed-token' });
    const plan = planned(planConnectionTest({ isJson: true, body }, find));
    assert.equal(plan.tested, 'form');
    assert.equal(plan.options.clientSecret, undefined);
    assert.deepEqual(find.asked, []);
  });

  it('refuses a URL over 2048 characters with 400, naming the field by its label', function () {
    const long = `http://127.0.0.1/${'a'.repeat(2048 - 'http://127.0.0.1/'.length)}`;
    assert.equal(long.length, 2048);
    const typed = { clientId: 'x', clientSecret: 'y' };
    assert.ok(planConnectionTest({ isJson: true, body: { ...attackerBody('kore', typed), tokenUrl: long } }, lookup({})).ok, '2048 is allowed');
    for (const [field, label] of [
      ['supersimUrl', 'Super SIM API'],
      ['wirelessUrl', 'Wireless API'],
      ['tokenUrl', 'Token URL'],
    ]) {
      const plan = refused(planConnectionTest({ isJson: true, body: { ...attackerBody('kore', typed), [field]: `${long}b` } }, lookup({})));
      assert.equal(plan.status, 400);
      assert.match(plan.message, new RegExp(`^${label} has 2049 characters; URLs longer than 2048 are refused`));
    }
  });

  it('answers 40 000 slashes at once', function () {
    // A backtracking trim takes seconds at this size; the length is checked before anything reads the text.
    this.timeout(2_000);
    const slashes = `http://127.0.0.1${'/'.repeat(40_000)}x`;
    const plan = refused(planConnectionTest({ isJson: true, body: { ...attackerBody('kore', { clientSecret: UNCHANGED_SECRET }), supersimUrl: slashes } }, lookup({})));
    assert.equal(plan.status, 400);
  });

  it('refuses a body that is not an account’s fields with 400', function () {
    for (const body of [null, 'text', [1], { provider: 'nokia' }, { provider: 'kore', tokenUrl: 7 }, { provider: 'kore', credentials: 'secret' }]) {
      const plan = refused(planConnectionTest({ isJson: true, body }, lookup({})));
      assert.equal(plan.status, 400, JSON.stringify(body));
      assert.match(plan.message, /nothing was tested/);
    }
  });
});

describe('Test connection: what it answers', function () {
  this.timeout(10_000);
  let server: TestServer;

  afterEach(async function () {
    await server?.close();
  });

  function twilioAt(url: string): Extract<ConnectionTestPlan, { ok: true }> {
    return planned(
      planConnectionTest({ isJson: true, body: { provider: 'twilio', supersimUrl: url, credentials: { accountSid: 'AC1', authToken: 'typed-token-0123' } } }, () => undefined),
    );
  }

  it('describes a page that is not the API without repeating it', async function () {
    const page = '<html><body>router admin: internal-only page, firmware 1.2.3</body></html>';
    server = await startTestServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end(page);
    });
    const answer = await testConnection(twilioAt(server.url));
    assert.equal(answer.result, 'error');
    assert.match(answer.message, /answered HTTP 404, which is not how the Super SIM API answers: check the Super SIM API/);
    assert.doesNotMatch(answer.message, /router|internal-only|firmware|html/i);
    assert.equal(answer.testedUrl, server.url);
  });

  it('describes a 200 that is not JSON without repeating it', async function () {
    server = await startTestServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('metadata: instance-secret-value');
    });
    const answer = await testConnection(twilioAt(server.url));
    assert.equal(answer.result, 'error');
    assert.match(answer.message, /answered HTTP 200, but not as the Super SIM API does/);
    assert.doesNotMatch(answer.message, /metadata|instance-secret/);
  });

  it('says refused credentials with the status and code, not the API’s text, and without internal names', async function () {
    server = await startTestServer((_req, res) => sendJson(res, 401, { status: 401, code: 20003, message: 'Authenticate: echo typed-token-0123', more_info: 'x' }));
    const answer = await testConnection(twilioAt(server.url));
    assert.equal(answer.result, 'bad-credentials');
    assert.match(answer.message, /refused the credentials \(HTTP 401, code 20003\): check the Account SID and Auth Token/);
    assert.doesNotMatch(answer.message, /typed-token|Authenticate|verifyCredentials|fetchToken/);
  });

  it('does not call a missing token endpoint refused credentials', async function () {
    server = await startTestServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<h1>Not Found</h1>');
    });
    const plan = planned(
      planConnectionTest({ isJson: true, body: { provider: 'kore', tokenUrl: `${server.url}/nothing`, credentials: { clientId: 'id', clientSecret: 'typed-secret-0123' } } }, () => undefined),
    );
    const answer = await testConnection(plan);
    assert.equal(answer.result, 'error');
    assert.match(answer.message, /\/nothing answered HTTP 404, which is not how the KORE token endpoint answers: check the Token URL\./);
  });

  it('says where it could not connect', async function () {
    server = await startTestServer(() => undefined);
    const url = server.url;
    await server.close();
    const answer = await testConnection(twilioAt(url));
    assert.equal(answer.result, 'unreachable');
    assert.match(answer.message, /^Could not reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): check the Super SIM API/);
  });
});
