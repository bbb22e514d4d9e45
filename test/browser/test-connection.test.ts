/**
 * The account dialog's Test connection with a secret left unchanged: the request is JSON with the
 * node's id, the deployed URLs are tested rather than the ones typed in the form, and the dialog
 * says so. Needs `npm run build` and Chromium.
 */
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { Simulator } from '../../src/simulator';
import { launchBrowser, requireBrowser } from '../support/browser';
import { sendJson, startTestServer } from '../support/net';
import type { TestServer } from '../support/net';
import { startNodeRed, TEST_ADMIN_AUTH, TEST_PASSWORD } from '../support/node-red-process';
import type { NodeRedInstance } from '../support/node-red-process';

interface EditorNode {
  id: string;
  [key: string]: unknown;
}
declare const RED: { nodes: { node(id: string): EditorNode | undefined }; editor: { editConfig(name: string, type: string, id: string): void } };

describe('account dialog: Test connection with a secret left unchanged', function () {
  this.timeout(120_000);
  let simulator: Simulator;
  let other: TestServer;
  let nodeRed: NodeRedInstance;
  let browser: Browser;
  let page: Page;

  before(async function () {
    requireBrowser(this);
    simulator = await Simulator.start({ mode: 'kore' });
    other = await startTestServer((_req, res) => sendJson(res, 200, { access_token: 'other', expires_in: 3600, token_type: 'Bearer' }));
    const { credentials } = simulator;
    nodeRed = await startNodeRed({
      settings: { adminAuth: TEST_ADMIN_AUTH },
      login: { username: 'admin', password: TEST_PASSWORD },
      flows: [
        { id: 'tab1', type: 'tab', label: 'Super SIM' },
        { id: 'acc1', type: 'supersim-account', name: '', provider: 'kore', supersimUrl: simulator.supersimUrl, wirelessUrl: simulator.wirelessUrl, tokenUrl: simulator.tokenUrl, callbackBaseUrl: '' },
      ],
      credentials: { acc1: { clientId: credentials.clientId, clientSecret: credentials.clientSecret } },
    });
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await context.addInitScript('globalThis.__name = globalThis.__name || ((fn) => fn);');
    page = await context.newPage();
    await page.goto(`${nodeRed.adminUrl}?access_token=${nodeRed.token ?? ''}`);
    await page.waitForFunction(() => typeof RED !== 'undefined' && RED.nodes.node('acc1') !== undefined, undefined, { timeout: 60_000 });
    await page.evaluate(() => RED.editor.editConfig('', 'supersim-account', 'acc1'));
    await page.locator('#node-config-input-clientSecret').waitFor({ state: 'visible' });
    await page.locator('#node-config-dialog-ok').click({ trial: true });
  });

  after(async function () {
    await browser?.close();
    await nodeRed?.stop();
    await simulator?.close();
    await other?.close();
  });

  async function showTab(name: 'connection' | 'advanced'): Promise<void> {
    await page.locator(`#node-config-supersim-account-tabs a[href="#supersim-account-tab-${name}"]`).click();
    await page.locator(`#supersim-account-tab-${name}`).waitFor({ state: 'visible', timeout: 5_000 });
  }

  it('tests the deployed URLs, not the typed ones, and says so', async function () {
    assert.equal(await page.locator('#node-config-input-clientSecret').inputValue(), '__PWRD__');
    await showTab('advanced');
    await page.locator('#node-config-input-tokenUrl').fill(`${other.url}/token`);
    // RED.tabs takes two clicks within 400 ms as a double click and ignores the second.
    await page.waitForTimeout(450);
    await showTab('connection');
    const requested = page.waitForRequest((request) => request.url().endsWith('/supersim-account/test'));
    await page.locator('#node-config-supersim-account-test').click();
    const request = await requested;
    assert.equal(request.headers()['content-type'], 'application/json');
    const body = request.postDataJSON() as { id?: string; tokenUrl?: string };
    assert.equal(body.id, 'acc1');
    assert.equal(body.tokenUrl, `${other.url}/token`);
    const result = page.locator('#node-config-supersim-account-test-result');
    await page.locator('#node-config-supersim-account-test-result:is(.supersim-ok, .supersim-fail)').waitFor({ timeout: 30_000 });
    const text = (await result.textContent()) ?? '';
    assert.match(text, /Connected: the credentials work\./);
    assert.match(text, new RegExp(`Tested with the deployed account's URLs \\(${simulator.tokenUrl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\), not the ones in this form`));
    assert.deepEqual(other.requests, [], 'the typed token URL received nothing');
  });
});
