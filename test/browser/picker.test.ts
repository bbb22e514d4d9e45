/**
 * The SIM picker in a real editor: typing part of a simulated SIM's name in the IP node's SIM field
 * offers it, choosing it fills the field, and the endpoint behind it is guarded by
 * supersim-account.read. Needs `npm run build` and Chromium.
 */
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { Simulator, generateSims } from '../../src/simulator';
import { launchBrowser, requireBrowser } from '../support/browser';
import { adminToken, startNodeRed, TEST_ADMIN_AUTH, TEST_PASSWORD } from '../support/node-red-process';
import type { NodeRedInstance } from '../support/node-red-process';

interface EditorNode {
  id: string;
  [key: string]: unknown;
}
declare const RED: {
  nodes: { node(id: string): EditorNode | undefined };
  editor: { edit(node: EditorNode): void };
  view: { importNodes(nodes: object[], options: { generateIds: boolean }): void };
};

/** TEST_ADMIN_AUTH and a user who may read flows but not accounts: `read` would include supersim-account.read. */
const ADMIN_AUTH = {
  ...TEST_ADMIN_AUTH,
  users: [...TEST_ADMIN_AUTH.users, { username: 'outsider', password: TEST_ADMIN_AUTH.users[0].password, permissions: ['flows.read'] }],
};

describe('SIM picker in the editor', function () {
  this.timeout(120_000);
  let simulator: Simulator;
  let nodeRed: NodeRedInstance;
  let browser: Browser;
  let page: Page;

  before(async function () {
    requireBrowser(this);
    simulator = await Simulator.start({ mode: 'kore', sims: [...generateSims({ count: 120 }), { uniqueName: 'greenhouse-pump' }] });
    nodeRed = await startNodeRed({
      settings: { adminAuth: ADMIN_AUTH },
      login: { username: 'admin', password: TEST_PASSWORD },
      flows: [
        { id: 'tab1', type: 'tab', label: 'Super SIM' },
        { id: 'acc1', type: 'supersim-account', name: 'simulator', provider: 'kore', supersimUrl: simulator.supersimUrl, wirelessUrl: simulator.wirelessUrl, tokenUrl: simulator.tokenUrl, callbackBaseUrl: '' },
        { id: 'ip1', type: 'supersim-ip-command', z: 'tab1', name: '', account: 'acc1', sim: '', devicePort: '4242', payloadType: 'auto', x: 200, y: 100, wires: [[], []] },
      ],
      credentials: { acc1: { clientId: simulator.credentials.clientId, clientSecret: simulator.credentials.clientSecret } },
    });
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await context.addInitScript('globalThis.__name = globalThis.__name || ((fn) => fn);');
    page = await context.newPage();
    await page.goto(`${nodeRed.adminUrl}?access_token=${nodeRed.token ?? ''}`);
    await page.waitForFunction(() => typeof RED !== 'undefined' && RED.nodes.node('ip1') !== undefined, undefined, { timeout: 60_000 });
  });

  after(async function () {
    await browser?.close();
    await nodeRed?.stop();
    await simulator?.close();
  });

  it('offers a simulated SIM for part of its name, and choosing it fills the field', async function () {
    await page.evaluate(() => RED.editor.edit(RED.nodes.node('ip1') as EditorNode));
    const sim = page.locator('#node-input-sim');
    await sim.waitFor({ state: 'visible' });
    await page.locator('#node-dialog-ok').click({ trial: true });
    const asked = page.waitForRequest((request) => /\/supersim-account\/acc1\/sims\?q=/.test(request.url()));
    await sim.click();
    await sim.pressSequentially('nhouse', { delay: 30 });
    const request = await asked;
    assert.equal(new URL(request.url()).searchParams.get('q'), 'nhouse', 'one request for what was typed once the typing paused');
    const option = page.locator('.red-ui-autoComplete-container .supersim-picker-option', { hasText: 'greenhouse-pump' });
    await option.waitFor({ state: 'visible', timeout: 15_000 });
    assert.match((await option.textContent()) ?? '', new RegExp(simulator.sim('greenhouse-pump').sid as string), 'the SID is shown beside the name');
    await option.click();
    assert.equal(await sim.inputValue(), 'greenhouse-pump');
    assert.equal(await page.locator('.supersim-picker-hint').isVisible(), false, 'no hint for a deployed account');

    // Free text still works: nothing matches, nothing is offered, and what was typed stays.
    await sim.fill('');
    await sim.pressSequentially('not-a-sim-at-all', { delay: 10 });
    await page.waitForTimeout(800);
    assert.equal(await page.locator('.red-ui-autoComplete-container').count(), 0);
    assert.equal(await sim.inputValue(), 'not-a-sim-at-all');
    await page.locator('#node-dialog-cancel').click();
    await sim.waitFor({ state: 'detached' });
  });

  async function typeInSim(nodeId: string, text: string): Promise<void> {
    await page.evaluate((id) => RED.editor.edit(RED.nodes.node(id) as EditorNode), nodeId);
    const sim = page.locator('#node-input-sim');
    await sim.waitFor({ state: 'visible' });
    await page.locator('#node-dialog-ok').click({ trial: true });
    const answered = page.waitForResponse((response) => /\/supersim-account\/[^/]+\/sims\?q=/.test(response.url()));
    await sim.click();
    await sim.pressSequentially(text, { delay: 20 });
    await answered;
  }

  it('says so under the field when the account is not deployed, or has changes that are not', async function () {
    await page.evaluate(
      (nodes) => RED.view.importNodes(nodes, { generateIds: false }),
      [
        { id: 'accNew', type: 'supersim-account', name: 'not deployed', provider: 'kore' },
        { id: 'ip2', type: 'supersim-ip-command', z: 'tab1', name: '', account: 'accNew', sim: '', devicePort: '4242', payloadType: 'auto', x: 200, y: 300, wires: [[], []] },
      ],
    );
    // importNodes leaves the new nodes attached to the pointer; a click drops them where they are.
    await page.mouse.click(700, 600);
    await page.locator('[id="ip2"].red-ui-flow-node-group').waitFor();
    await typeInSim('ip2', 'green');
    const hint = page.locator('.supersim-picker-hint');
    await hint.waitFor({ state: 'visible' });
    assert.match((await hint.textContent()) ?? '', /this one is not deployed yet: deploy it, then type again/);
    assert.equal(await page.locator('.red-ui-autoComplete-container').count(), 0, 'nothing offered');
    assert.equal(await page.locator('#node-input-sim').inputValue(), 'green', 'what was typed stays');
    await page.locator('#node-dialog-cancel').click();
    await page.locator('#node-input-sim').waitFor({ state: 'detached' });

    await page.evaluate(() => {
      (RED.nodes.node('acc1') as EditorNode).changed = true;
    });
    await typeInSim('ip1', 'greenh');
    await page.locator('.red-ui-autoComplete-container .supersim-picker-option', { hasText: 'greenhouse-pump' }).waitFor({ state: 'visible' });
    assert.match((await page.locator('.supersim-picker-hint').textContent()) ?? '', /changes that are not deployed yet/);
    await page.keyboard.press('Escape');
    await page.locator('#node-dialog-cancel').click();
    await page.locator('#node-input-sim').waitFor({ state: 'detached' });
  });

  it('the endpoint: a user without supersim-account.read gets 403, a reader gets suggestions, an account not deployed a hint', async function () {
    const endpoint = (id: string, q: string): URL => new URL(`supersim-account/${id}/sims?q=${encodeURIComponent(q)}`, nodeRed.adminUrl);
    const outsider = await adminToken(nodeRed, 'outsider', TEST_PASSWORD, 'flows.read');
    const before = simulator.stats.requests;
    const refused = await fetch(endpoint('acc1', 'green'), { headers: { authorization: `Bearer ${outsider}` } });
    await refused.arrayBuffer();
    assert.equal(refused.status, 403);
    const anonymous = await fetch(endpoint('acc1', 'green'));
    await anonymous.arrayBuffer();
    assert.equal(anonymous.status, 401);
    assert.equal(simulator.stats.requests, before, 'neither reached the API');

    const viewer = await adminToken(nodeRed, 'viewer', TEST_PASSWORD, 'read');
    const read = await fetch(endpoint('acc1', 'GREEN'), { headers: { authorization: `Bearer ${viewer}` } });
    assert.equal(read.status, 200);
    const answer = (await read.json()) as { suggestions: { value: string }[]; partial: boolean };
    assert.deepEqual(answer.suggestions.map((s) => s.value), ['greenhouse-pump']);

    const missing = await fetch(endpoint('not-deployed', 'x'), { headers: { authorization: `Bearer ${viewer}` } });
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { message: string }).message, /not deployed yet: deploy it/);
  });
});
