/**
 * The package as users get it (packed, installed into a Node-RED by `npm start`'s demo) in a real
 * headless Chromium: the palette shows the four nodes under Super SIM, Import > Examples lists this
 * package's flows, the editor raises no script errors, and a screenshot of the demo flow after a
 * round of commands is written to docs/demo-flow.png for the README.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DebugWatcher, pressInject } from '../../scripts/compat-support';
import { DEMO_IDS, startDemo } from '../../scripts/start';
import type { DemoRun } from '../../scripts/start';
import { launchBrowser, requireBrowser } from '../support/browser';
import { freePort } from '../support/net';

interface EditorRED {
  nodes: { node(id: string): unknown };
  sidebar: { show(id: string): void };
  workspaces: { show(id: string): void };
  view: { select(selection: string | string[]): void };
}
declare const RED: EditorRED;

const README_SCREENSHOT = join(__dirname, '..', '..', 'docs', 'demo-flow.png');
// Every run takes the picture; the README's copy is replaced only when asked, so a test run leaves the
// working tree clean.
const SCREENSHOT = process.env.UPDATE_SCREENSHOTS ? README_SCREENSHOT : join(__dirname, 'artifacts', 'demo-flow.png');
const ARTIFACTS = join(__dirname, 'artifacts');
const PALETTE_TYPES = ['supersim-command-in', 'supersim-ip-command', 'supersim-sms-command', 'supersim-status-filter'];
const EXAMPLES = [
  '01 Send an IP Command',
  '02 Send an SMS Command and a binary Wireless Command',
  '03 Receive commands from devices',
  '04 Track delivery with command-in and the status filter',
  '05 Device control panel (Dashboard 2)',
];

describe('palette, examples and the demo in a real browser', function () {
  this.timeout(180_000);

  let userDir: string;
  let demo: DemoRun;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  before(async function () {
    requireBrowser(this);
    userDir = mkdtempSync(join(tmpdir(), 'supersim-palette-'));
    demo = await startDemo({ port: await freePort(), simulatorPort: await freePort(), userDir, log: () => undefined });
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1600, height: 800 } });
    // tsx (esbuild, keepNames) wraps named functions in __name(); functions passed to page.evaluate take that call along.
    await context.addInitScript('globalThis.__name = globalThis.__name || ((fn) => fn);');
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.stack ?? err.message));
    await page.goto(demo.url);
    await page.waitForFunction((id) => typeof RED !== 'undefined' && RED.nodes.node(id) !== undefined, DEMO_IDS.commandIn, { timeout: 60_000 });
    await page.locator('.red-ui-palette-node[data-palette-type="supersim-ip-command"]').waitFor({ timeout: 30_000 });
  });

  after(async function () {
    await context?.close();
    await browser?.close();
    await demo?.stop();
    if (userDir) rmSync(userDir, { recursive: true, force: true });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) {
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, `failed-palette-${this.currentTest.title.replace(/[^a-z0-9]+/gi, '-')}.png`) }).catch(() => undefined);
    }
  });

  it('shows the four nodes under Super SIM, and the account only as a config node', async function () {
    const category = page.locator('.red-ui-palette-category').filter({ has: page.locator('.red-ui-palette-node[data-palette-type="supersim-ip-command"]') });
    assert.equal(((await category.locator('.red-ui-palette-header span').first().textContent()) ?? '').replace(/\s+/g, ' ').trim(), 'Super SIM');
    const types = await category.locator('.red-ui-palette-node').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-palette-type')));
    assert.deepEqual([...types].sort(), PALETTE_TYPES);
    assert.equal(await page.locator('.red-ui-palette-node[data-palette-type="supersim-account"]').count(), 0);
  });

  it('draws the demo flow; a screenshot after a round of commands is taken (docs/demo-flow.png with UPDATE_SCREENSHOTS=1)', async function () {
    const debug = await DebugWatcher.open(demo.url);
    try {
      for (const id of [DEMO_IDS.injectIp, DEMO_IDS.injectSms, DEMO_IDS.injectWireless]) await pressInject(demo.url, id);
      // The last status of the last command: then every debug node shows something under it.
      await debug.waitFor((m) => m.id === DEMO_IDS.debugStatus && typeof m.value === 'object' && (m.value as { command?: string }).command === 'read meter' && (m.value as { status?: string }).status === 'delivered', 'of the Wireless Command delivered');
      await debug.waitFor((m) => m.id === DEMO_IDS.debugFromDevices && m.topic === 'sim-meter', 'from sim-meter');
    } finally {
      debug.close();
    }
    await page.evaluate(() => {
      RED.sidebar.show('debug');
      RED.view.select('');
    });
    await page.locator('.red-ui-debug-msg').first().waitFor({ timeout: 10_000 });
    // The picture shows this package's palette category and the latest debug messages (the devices' answers).
    await page.locator('.red-ui-palette-category').filter({ has: page.locator('.red-ui-palette-node[data-palette-type="supersim-ip-command"]') }).evaluate((category) => category.scrollIntoView());
    await page.locator('.red-ui-debug-content-list').evaluate((list) => list.scrollTo(0, list.scrollHeight));
    for (const id of [DEMO_IDS.sendIp, DEMO_IDS.commandIn, DEMO_IDS.filter]) {
      assert.equal(await page.locator(`#${id}`).count(), 1, `node ${id} is drawn`);
    }
    // Let the status dots and debug messages settle before the picture.
    await page.waitForTimeout(500);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    const started = Date.now();
    await page.screenshot({ path: SCREENSHOT });
    assert.ok(statSync(SCREENSHOT).mtimeMs >= started - 1000 && statSync(SCREENSHOT).size > 10_000, 'a fresh, non-empty screenshot');
  });

  it('lists this package\'s flows under Import > Examples', async function () {
    await page.locator('#red-ui-header-button-sidemenu').click();
    await page.locator('#menu-item-import').click();
    const dialog = page.locator('#red-ui-clipboard-dialog');
    await dialog.waitFor({ state: 'visible' });
    await dialog.locator('#red-ui-clipboard-dialog-import-tabs').getByText('Examples', { exact: true }).click();
    const examples = dialog.locator('#red-ui-clipboard-dialog-import-tab-examples');
    const folder = examples.locator('.red-ui-treeList-label').filter({ hasText: 'node-red-contrib-supersim' });
    await folder.first().waitFor({ state: 'visible', timeout: 10_000 });
    await folder.first().click();
    for (const name of EXAMPLES) {
      await examples.locator('.red-ui-treeList-label').filter({ hasText: name }).first().waitFor({ state: 'visible', timeout: 10_000 });
    }
    const labels = await examples.locator('.red-ui-treeList-label').allTextContents();
    const ours = labels.map((label) => label.trim()).filter((label) => EXAMPLES.includes(label));
    assert.deepEqual([...ours].sort(), EXAMPLES);
    await dialog.screenshot({ path: join(mkdirAndReturn(ARTIFACTS), 'import-examples.png') });
    await page.locator('#red-ui-clipboard-dialog-cancel').click();
  });

  it('raised no script errors in the editor (the packed editor files load their resources)', function () {
    assert.deepEqual(pageErrors, []);
  });
});

function mkdirAndReturn(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
