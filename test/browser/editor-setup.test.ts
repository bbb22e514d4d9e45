/**
 * Set-up from the editor's dialogs: command-in's "Point Wireless SIMs at this node", and the account's
 * "Create webhook secret", which shows "stored" and never brings the secret into the page. Needs
 * `npm run build` and Chromium.
 */
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { Simulator } from '../../src/simulator';
import { launchBrowser, requireBrowser } from '../support/browser';
import { startNodeRed } from '../support/node-red-process';
import type { NodeRedInstance } from '../support/node-red-process';

interface EditorNode {
  id: string;
  changed?: boolean;
  [key: string]: unknown;
}
declare const RED: { nodes: { node(id: string): EditorNode | undefined }; editor: { edit(node: EditorNode): void; editConfig(name: string, type: string, id: string): void } };

const PUBLIC = 'https://nodered.example.com';

describe('set-up from the editor’s dialogs', function () {
  this.timeout(120_000);
  let simulator: Simulator;
  let nodeRed: NodeRedInstance;
  let browser: Browser;
  let page: Page;

  before(async function () {
    requireBrowser(this);
    simulator = await Simulator.start({ mode: 'kore', sims: [{ uniqueName: 'wl-1', api: 'wireless' }, { uniqueName: 'wl-2', api: 'wireless' }] });
    const { clientId, clientSecret } = simulator.credentials;
    nodeRed = await startNodeRed({
      flows: [
        { id: 'tab1', type: 'tab', label: 'Super SIM' },
        {
          id: 'acc1',
          type: 'supersim-account',
          name: 'simulator',
          provider: 'kore',
          supersimUrl: simulator.supersimUrl,
          wirelessUrl: simulator.wirelessUrl,
          tokenUrl: simulator.tokenUrl,
          webhookUrl: simulator.webhookUrl,
          callbackBaseUrl: PUBLIC,
        },
        { id: 'in1', type: 'supersim-command-in', z: 'tab1', name: '', account: 'acc1', url: '/wireless/in', x: 200, y: 100, wires: [[], []] },
      ],
      credentials: { acc1: { clientId, clientSecret } },
    });
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await context.addInitScript('globalThis.__name = globalThis.__name || ((fn) => fn);');
    page = await context.newPage();
    await page.goto(nodeRed.adminUrl);
    await page.waitForFunction(() => typeof RED !== 'undefined' && RED.nodes.node('in1') !== undefined, undefined, { timeout: 60_000 });
  });

  after(async function () {
    await browser?.close();
    await nodeRed?.stop();
    await simulator?.close();
  });

  it('command-in points all of the account’s Wireless SIMs at its URL', async function () {
    await page.evaluate(() => RED.editor.edit(RED.nodes.node('in1') as EditorNode));
    await page.locator('#node-supersim-command-in-wireless-open').waitFor({ state: 'visible' });
    await page.locator('#node-dialog-ok').click({ trial: true });
    await page.locator('#node-supersim-command-in-wireless-open').click();
    await page.locator('#node-supersim-command-in-wireless-apply').click();
    const result = page.locator('#node-supersim-command-in-wireless-result');
    assert.match((await result.textContent()) ?? '', /Type the Wireless SIM's SID or unique name, or tick All/, 'neither a SIM nor all: asks first');
    await page.locator('#node-supersim-command-in-wireless-all').check();
    await page.locator('#node-supersim-command-in-wireless-apply').click();
    await page.locator('#node-supersim-command-in-wireless-result.supersim-ok').waitFor({ timeout: 30_000 });
    assert.match((await result.textContent()) ?? '', /Done: 2 Wireless SIM\(s\) now send their Commands to https:\/\/nodered\.example\.com\/wireless\/in/);
    for (const name of ['wl-1', 'wl-2']) assert.deepEqual(simulator.sim(name).commandsCallback, { url: `${PUBLIC}/wireless/in`, method: 'POST' });
    await page.locator('#node-dialog-cancel').click();
    await page.locator('#node-supersim-command-in-wireless-open').waitFor({ state: 'detached' });
  });

  it('the account creates a webhook secret in one click, shows "stored", and the page never holds its value', async function () {
    const before = simulator.webhookSecret;
    await page.evaluate(() => RED.editor.editConfig('', 'supersim-account', 'acc1'));
    const button = page.locator('#node-config-supersim-account-create-secret');
    await button.waitFor({ state: 'visible' });
    await page.locator('#node-config-dialog-ok').click({ trial: true });
    assert.equal(await page.locator('#node-config-input-webhookSecret').inputValue(), '', 'no secret stored yet');
    const answered = page.waitForResponse((response) => response.url().endsWith('/supersim-account/acc1/webhook-secret'));
    await button.click();
    const response = await answered;
    const body = await response.text();
    await page.locator('#node-config-supersim-account-secret-result.supersim-ok').waitFor({ timeout: 30_000 });
    const created = simulator.webhookSecret;
    assert.notEqual(created, before, 'KORE (the simulator) signs with the new secret');
    assert.ok(!body.includes(created), 'the answer does not carry it');
    assert.match((await page.locator('#node-config-supersim-account-secret-result').textContent()) ?? '', /Stored: node-red simulator \(whs_[0-9a-z]{26}\)/);
    assert.equal(await page.locator('#node-config-input-webhookSecret').inputValue(), '__PWRD__', 'shown as a stored secret');
    assert.ok(!(await page.content()).includes(created), 'nowhere in the page');

    await page.locator('#node-config-dialog-ok').click();
    await page.locator('#node-config-supersim-account-create-secret').waitFor({ state: 'detached' });
    const account = await page.evaluate(() => {
      const node = RED.nodes.node('acc1') as EditorNode & { credentials?: Record<string, unknown> };
      return { changed: node.changed, credentials: node.credentials };
    });
    assert.equal(account.changed, true, 'the account is to be deployed again');
    assert.equal(account.credentials?.webhookSecret, undefined, 'Done keeps the stored value rather than sending one');
    assert.equal(account.credentials?.has_webhookSecret, true);
  });
});
