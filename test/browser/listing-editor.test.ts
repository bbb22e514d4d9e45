/**
 * The dialogs of supersim-sims and supersim-command-lookup in a real Node-RED and a headless Chromium:
 * both sit in the Super SIM palette, their forms read as words (no raw i18n keys), the lookup shows
 * the list fields only for a list, and the checks the runtime makes are made as the user types.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { Simulator } from '../../src/simulator';
import { browserFixture } from '../support/browser';
import { startNodeRed } from '../support/node-red-process';
import type { NodeRedInstance } from '../support/node-red-process';

interface EditorNode {
  id: string;
  type: string;
  valid?: boolean;
  [key: string]: unknown;
}
interface EditorRED {
  nodes: { node(id: string): EditorNode | undefined };
  editor: { edit(node: EditorNode): void };
  view: { importNodes(nodes: object[], options: { generateIds: boolean }): void };
  workspaces: { show(id: string): void };
}
declare const RED: EditorRED;

const ARTIFACTS = join(__dirname, 'artifacts');

describe('the listing nodes\' editor', function () {
  this.timeout(120_000);
  const browser = browserFixture({ directory: ARTIFACTS, prefix: 'failed-listing-' });

  let simulator: Simulator;
  let nodeRed: NodeRedInstance;
  let page: Page;
  const pageErrors: string[] = [];

  async function editNode(id: string, field: string): Promise<void> {
    await page.evaluate((nodeId) => RED.editor.edit(RED.nodes.node(nodeId) as EditorNode), id);
    await page.locator(field).waitFor({ state: 'visible' });
    await page.locator('#node-dialog-ok').click({ trial: true });
  }

  async function closeDialog(field: string): Promise<void> {
    await page.locator('#node-dialog-cancel').click();
    await page.locator(field).waitFor({ state: 'detached' });
  }

  async function hasError(selector: string): Promise<boolean> {
    return (await page.locator(selector).getAttribute('class'))?.split(/\s+/).includes('input-error') ?? false;
  }

  async function formText(): Promise<string> {
    return (await page.locator('#dialog-form').innerText()).replace(/\s+/g, ' ');
  }

  before(async function () {
    mkdirSync(ARTIFACTS, { recursive: true });
    simulator = await Simulator.start({ mode: 'kore' });
    const { credentials } = simulator;
    nodeRed = await startNodeRed({
      flows: [
        { id: 'tab1', type: 'tab', label: 'Listing' },
        { id: 'acc1', type: 'supersim-account', name: '', provider: 'kore', supersimUrl: simulator.supersimUrl, wirelessUrl: simulator.wirelessUrl, tokenUrl: simulator.tokenUrl, callbackBaseUrl: '' },
        { id: 'sims1', type: 'supersim-sims', z: 'tab1', name: '', account: 'acc1', fleet: 'default', status: 'active', iccid: '', output: 'split', x: 200, y: 100, wires: [[]] },
        { id: 'lookup1', type: 'supersim-command-lookup', z: 'tab1', name: '', account: 'acc1', operation: 'fetch', kind: 'ip', sim: '', status: '', direction: '', limit: 50, output: 'split', x: 200, y: 200, wires: [[]] },
      ],
      credentials: { acc1: { clientId: credentials.clientId, clientSecret: credentials.clientSecret } },
    });
    page = await browser.open({ viewport: { width: 1400, height: 900 }, pageErrors });
    await page.goto(nodeRed.adminUrl);
    await page.waitForFunction(() => typeof RED !== 'undefined' && RED.nodes.node('lookup1') !== undefined, undefined, { timeout: 60_000 });
    await page.locator('[id="lookup1"].red-ui-flow-node-group').waitFor();
  });

  after(async function () {
    await nodeRed?.stop();
    await simulator?.close();
  });

  it('puts both nodes in the Super SIM palette, labelled in words, and the deployed ones are valid', async function () {
    const palette = page.locator('.red-ui-palette-node[data-palette-type="supersim-sims"], .red-ui-palette-node[data-palette-type="supersim-command-lookup"]');
    assert.deepEqual((await palette.allInnerTexts()).map((text) => text.replace(/\s+/g, ' ').trim()).sort(), ['command lookup', 'list SIMs']);
    const valid = await page.evaluate(() => ['sims1', 'lookup1'].map((id) => RED.nodes.node(id)?.valid));
    assert.deepEqual(valid, [true, true]);
    const labels = await Promise.all(['sims1', 'lookup1'].map(async (id) => (await page.locator(`[id="${id}"] .red-ui-flow-node-label`).first().textContent())?.trim()));
    assert.deepEqual(labels, ['list SIMs: default, active', 'command lookup: fetch']);
  });

  it('list SIMs: the form reads as words, Status offers the API’s five, and a bad ICCID is marked', async function () {
    await editNode('sims1', '#node-input-fleet');
    const text = await formText();
    assert.doesNotMatch(text, /supersim-sims\./, 'no raw i18n keys');
    for (const label of ['Account', 'Fleet', 'Status', 'ICCID', 'Output']) assert.ok(text.includes(label), label);
    const statuses = await page.locator('#node-input-status option').evaluateAll((options) => options.map((o) => o.getAttribute('value')));
    assert.deepEqual(statuses, ['', 'active', 'ready', 'new', 'inactive', 'scheduled']);
    await page.locator('#node-input-iccid').fill('1234');
    await page.locator('#node-input-iccid').dispatchEvent('change');
    assert.ok(await hasError('#node-input-iccid'));
    await page.locator('#node-input-iccid').fill('89883070000000000001');
    await page.locator('#node-input-iccid').dispatchEvent('change');
    assert.ok(!(await hasError('#node-input-iccid')));
    await closeDialog('#node-input-fleet');
  });

  it('command lookup: the list fields show for a list only; delivered is refused for IP Commands; the limit is 1 to 1000', async function () {
    await editNode('lookup1', '#node-input-operation');
    assert.doesNotMatch(await formText(), /supersim-command-lookup\./, 'no raw i18n keys');
    assert.equal(await page.locator('#node-input-limit').isVisible(), false, 'fetch has no list fields');
    await page.locator('#node-input-operation').selectOption('list');
    assert.equal(await page.locator('#node-input-limit').isVisible(), true);
    await page.locator('#node-input-status').selectOption('delivered');
    await page.locator('#node-input-status').dispatchEvent('change');
    assert.ok(await hasError('#node-input-status'), 'IP Commands are never delivered');
    await page.locator('#node-input-kind').selectOption('sms');
    await page.locator('#node-input-kind').dispatchEvent('change');
    assert.ok(!(await hasError('#node-input-status')), 'SMS Commands are');
    await page.locator('#node-input-limit').fill('1001');
    await page.locator('#node-input-limit').dispatchEvent('change');
    assert.ok(await hasError('#node-input-limit'));
    await page.locator('#node-input-limit').fill('1000');
    await page.locator('#node-input-limit').dispatchEvent('change');
    assert.ok(!(await hasError('#node-input-limit')));
    await closeDialog('#node-input-operation');
    assert.deepEqual(pageErrors, []);
  });

  for (const example of ['06 Send to a whole Fleet', '07 Look up commands']) {
    it(`example ${example} imports into its own tab with valid nodes, and fits the window`, async function () {
      const flow = JSON.parse(readFileSync(join(__dirname, '..', '..', 'examples', `${example}.json`), 'utf8')) as { id: string; type: string }[];
      const tab = flow.find((node) => node.type === 'tab') as { id: string };
      await page.evaluate((nodes) => RED.view.importNodes(nodes, { generateIds: false }), flow);
      await page.evaluate((id) => RED.workspaces.show(id), tab.id);
      await page.waitForTimeout(300);
      const chart = await page.locator('#red-ui-workspace-chart').evaluate((element) => {
        const box = element.getBoundingClientRect();
        return { x: box.x, y: box.y, right: box.x + element.clientWidth, bottom: box.y + element.clientHeight };
      });
      const outside = await page.locator('#red-ui-workspace-chart').evaluate((element, box) => {
        return [...element.querySelectorAll('g.red-ui-flow-node-group > rect.red-ui-flow-node')]
          .map((node) => ({ id: node.closest('g.red-ui-flow-node-group')?.id ?? '', rect: node.getBoundingClientRect() }))
          .filter(({ rect }) => rect.width > 0 && (rect.x < box.x || rect.y < box.y || rect.x + rect.width > box.right || rect.y + rect.height > box.bottom))
          .map(({ id }) => id);
      }, chart);
      await page.screenshot({ path: join(ARTIFACTS, `example-${example.slice(0, 2)}.png`) });
      assert.deepEqual(outside, [], 'nodes outside the canvas');
      const ours = flow.filter((node) => node.type.startsWith('supersim-') && node.type !== 'supersim-account').map((node) => node.id);
      const valid = await page.evaluate((ids) => ids.map((id) => RED.nodes.node(id)?.valid), ours);
      assert.deepEqual(valid, ours.map(() => true));
      assert.deepEqual(pageErrors, []);
    });
  }
});
