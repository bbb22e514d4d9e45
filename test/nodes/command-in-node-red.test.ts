/**
 * supersim-command-in in a real Node-RED (the built package, `npm run build` first) whose editor and
 * HTTP nodes share the root path: the admin app's body parsers then see every POST first, and the
 * KORE signature over the raw body must still hold. What the flow receives is read back through the
 * admin API from global context, where a function node puts it.
 */
import assert from 'node:assert/strict';
import { KORE_IDEMPOTENCY_HEADER, KORE_SIGNATURE_HEADER, koreSignature } from '../../src/callbacks';
import { adminToken, deployFlows, startNodeRed, TEST_ADMIN_AUTH, TEST_PASSWORD } from '../support/node-red-process';
import type { NodeRedInstance } from '../support/node-red-process';

const WEBHOOK_SECRET = 'e2e-webhook-secret';
const HOOK = '/hooks/in';
const HG = `HG${'0a'.repeat(16)}`;

/**
 * Spelled as no form encoder would re-encode it (%20 for spaces, %2A, lower-case escapes): a body
 * rebuilt from parsed fields would differ in its bytes, and fail KORE's check.
 */
const RAW_BODY =
  `CommandSid=${HG}&Direction=from_sim&Status=received&SimUniqueName=the%20meter&PayloadType=text` + '&Payload=hello%20world%2A%e2%9c%93&ApiVersion=v1';

const FLOWS: object[] = [
  { id: 'tab', type: 'tab', label: 'e2e' },
  { id: 'acc', type: 'supersim-account', name: '', provider: 'kore', supersimUrl: '', wirelessUrl: '', tokenUrl: '', callbackBaseUrl: '' },
  { id: 'in', type: 'supersim-command-in', z: 'tab', x: 100, y: 100, name: '', account: 'acc', url: HOOK, wires: [['keep'], []] },
  {
    id: 'keep',
    type: 'function',
    z: 'tab',
    x: 300,
    y: 100,
    name: 'keep what arrives',
    func: "const seen = global.get('seen') || [];\nseen.push({ payload: msg.payload, topic: msg.topic, sid: msg.command.sid, verified: msg.callback.verified });\nglobal.set('seen', seen);\nreturn null;",
    outputs: 1,
    wires: [[]],
  },
];
const CREDENTIALS = { acc: { clientId: 'e2e-client', clientSecret: 'e2e-client-secret', webhookSecret: WEBHOOK_SECRET } };

describe('supersim-command-in in a real Node-RED with httpAdminRoot and httpNodeRoot both "/"', function () {
  this.timeout(90_000);
  let nodeRed: NodeRedInstance;
  /** The flows with the account's Public URL, known once Node-RED has its port. */
  let flows: object[];

  before(async function () {
    nodeRed = await startNodeRed({
      settings: {
        httpAdminRoot: '/',
        httpNodeRoot: '/',
        adminAuth: TEST_ADMIN_AUTH,
      },
      login: { username: 'admin', password: TEST_PASSWORD },
    });
    flows = FLOWS.map((node) => ((node as { id: string }).id === 'acc' ? { ...node, callbackBaseUrl: nodeRed.url } : node));
    await deployFlows(nodeRed, flows, CREDENTIALS);
  });

  after(async function () {
    await nodeRed?.stop();
  });

  function post(body: string, signature: string, token: string): Promise<Response> {
    return fetch(nodeRed.url + HOOK, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', [KORE_SIGNATURE_HEADER]: signature, [KORE_IDEMPOTENCY_HEADER]: token },
      body,
    });
  }

  async function seen(): Promise<Record<string, unknown>[]> {
    const response = await fetch(new URL('context/global/seen', nodeRed.adminUrl), { headers: { authorization: `Bearer ${nodeRed.token}` } });
    assert.equal(response.status, 200);
    const answer = (await response.json()) as { memory?: { msg?: string } } | { msg?: string };
    // One context store answers {msg, format}; several answer {store: {msg, format}}.
    const encoded = 'memory' in answer ? answer.memory?.msg : (answer as { msg?: string }).msg;
    return encoded === undefined ? [] : (JSON.parse(encoded) as Record<string, unknown>[]);
  }

  it('accepts a correctly signed form callback over its exact bytes, and refuses a tampered one with 403', async function () {
    const signature = koreSignature(WEBHOOK_SECRET, 'POST', nodeRed.url + HOOK, RAW_BODY);
    const accepted = await post(RAW_BODY, signature, 'e2e-1');
    assert.equal(accepted.status, 200, `${await accepted.text()}\n${nodeRed.logs()}`);
    const start = Date.now();
    let received = await seen();
    while (received.length === 0 && Date.now() - start < 5_000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      received = await seen();
    }
    assert.deepEqual(received, [{ payload: 'hello world*✓', topic: 'the meter', sid: HG, verified: true }]);

    const tampered = await post(RAW_BODY.replace('hello', 'jello'), signature, 'e2e-2');
    assert.equal(tampered.status, 403);
    await tampered.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await seen()).length, 1, 'the tampered callback was not emitted');
  });

  it('guards the Fleet set-up with supersim-command-in.write', async function () {
    const fleetUrl = new URL('supersim-command-in/fleet?account=nope&fleet=default', nodeRed.adminUrl);
    const anonymous = await fetch(fleetUrl);
    await anonymous.arrayBuffer();
    assert.equal(anonymous.status, 401);
    const viewerToken = await adminToken(nodeRed, 'viewer', TEST_PASSWORD, 'read');
    const viewer = await fetch(fleetUrl, { headers: { authorization: `Bearer ${viewerToken}` } });
    await viewer.arrayBuffer();
    assert.equal(viewer.status, 401);
    // An administrator gets through to the set-up itself, which explains what is missing.
    const admin = await fetch(fleetUrl, { headers: { authorization: `Bearer ${nodeRed.token}` } });
    assert.equal(admin.status, 400);
    assert.match(((await admin.json()) as { message: string }).message, /not deployed/);
  });

  it('refuses command-in at paths the admin API serves (/flows, /auth/token, /settings, /, nodes’ admin routes) with a node error; logging in and deploying still work', async function () {
    // The editor's own paths, then routes read off the admin app's router: this package's and a core node's.
    const reserved = ['/flows', '/auth/token', '/settings', '/', '/supersim-account/test', '/inject/some-node'];
    const atAdminPaths = reserved.map((url, index) => ({ id: `reserved${index}`, type: 'supersim-command-in', z: 'tab', x: 100, y: 200 + 40 * index, name: '', account: 'acc', url, wires: [[], []] }));
    await deployFlows(nodeRed, [...flows, ...atAdminPaths], CREDENTIALS);
    const errors = (): string[] => nodeRed.logs().split('\n').filter((line) => line.includes('[error]') && line.includes('Cannot listen at'));
    const start = Date.now();
    while (errors().length < reserved.length && Date.now() - start < 5_000) await new Promise((resolve) => setTimeout(resolve, 50));
    for (const [index, url] of reserved.entries()) {
      const line = errors().find((entry) => entry.includes(`reserved${index}`));
      assert.ok(line, `a node error for ${url}\n${nodeRed.logs()}`);
      assert.match(line, new RegExp(`Cannot listen at ${url.replace(/\//g, '\\/')}: Node-RED's editor and admin API serve that path`));
    }
    assert.match(errors().find((entry) => entry.includes('reserved5')) ?? '', /\(the route \/inject\/:id\)/);

    // The editor's own requests reach Node-RED, not a webhook: a new login, a second deploy, the editor page.
    const token = await adminToken(nodeRed, 'admin', TEST_PASSWORD);
    const rev = await deployFlows({ ...nodeRed, token }, flows, CREDENTIALS);
    const deployed = await fetch(new URL('flows', nodeRed.adminUrl), { headers: { authorization: `Bearer ${token}`, 'Node-RED-API-Version': 'v2' } });
    assert.equal(deployed.status, 200);
    const body = (await deployed.json()) as { rev: string; flows: { id: string }[] };
    assert.equal(body.rev, rev);
    assert.deepEqual(body.flows.map((node) => node.id).sort(), ['acc', 'in', 'keep', 'tab']);
    const settings = await fetch(new URL('settings', nodeRed.adminUrl), { headers: { authorization: `Bearer ${token}` } });
    assert.equal(settings.status, 200);
    assert.equal(typeof ((await settings.json()) as { httpNodeRoot?: unknown }).httpNodeRoot, 'string');
    const editor = await fetch(nodeRed.adminUrl);
    assert.equal(editor.status, 200);
    assert.match(await editor.text(), /<html/i);
    nodeRed.token = token;
  });
});
