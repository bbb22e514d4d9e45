/**
 * The package as users get it (packed, installed into a Node-RED by `npm start`'s demo) in a real
 * headless Chromium at 1400×900: the palette shows the six nodes under Super SIM, the demo fits the
 * window and its status texts (the longest too) stay clear of other nodes, Import > Examples lists this package's flows
 * and three of them import without a conflict prompt, the editor asks nothing of the internet and raises
 * no script errors, and a screenshot of the demo flow after a round of commands is written to
 * docs/demo-flow.png for the README.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { DebugWatcher, pressInject } from '../../scripts/compat-support';
import { DEMO_CATALOGUE_PATH, DEMO_IDS, startDemo } from '../../scripts/start';
import type { DemoRun } from '../../scripts/start';
import { browserFixture } from '../support/browser';
import { freePort } from '../support/net';

interface EditorRED {
  nodes: {
    node(id: string): unknown;
    filterNodes(filter: { z: string }): unknown[];
    eachWorkspace(cb: (ws: { id: string; label: string }) => void): void;
    eachConfig(cb: (node: { id: string; type: string; name?: string }) => void): void;
    eachNode(cb: (node: { id: string; type: string; name?: string }) => void): void;
    workspace(id: string): unknown;
  };
  sidebar: { show(id: string): void };
  workspaces: { show(id: string): void; delete(workspace: unknown): void };
  view: { select(selection: string | string[]): void; importNodes(nodes: object[], options: { generateIds: boolean }): void; redrawStatus(node: unknown): void };
}
declare const RED: EditorRED;
/** The page's own, called inside page functions (this project's TypeScript has no DOM library). */
declare function getComputedStyle(element: unknown): { backgroundColor: string };

const README_SCREENSHOT = join(__dirname, '..', '..', 'docs', 'demo-flow.png');
// Every run takes the picture; the README's copy is replaced only when asked, so a test run leaves the
// working tree clean.
const SCREENSHOT = process.env.UPDATE_SCREENSHOTS ? README_SCREENSHOT : join(__dirname, 'artifacts', 'demo-flow.png');
const ARTIFACTS = join(__dirname, 'artifacts');
const PALETTE_TYPES = ['supersim-command-in', 'supersim-command-lookup', 'supersim-ip-command', 'supersim-sims', 'supersim-sms-command', 'supersim-status-filter'];
const EXAMPLES = [
  '01 Send an IP Command',
  '02 Send an SMS Command and a binary Wireless Command',
  '03 Receive commands from devices',
  '04 Track delivery with command-in and the status filter',
  '05 Wake a sleeping device',
];
/**
 * The longest status each send node of the demo shows (a count of two digits: a user clicking the
 * button again and again): the layout must leave room for it, not only for what one round shows.
 */
const WIDEST_STATUSES: Record<string, string> = {
  [DEMO_IDS.sendIp]: 'sent at 12:00:00 · 10 waiting for an answer',
  [DEMO_IDS.sendIpBinary]: 'sent at 12:00:00',
  [DEMO_IDS.sendSms]: 'delivered at 12:00:00',
  [DEMO_IDS.sendWireless]: 'delivered at 12:00:00',
};
/** The window the demo is laid out for (a 1440×900 laptop screen minus the browser's frame). */
const VIEWPORT = { width: 1400, height: 900 };

interface Box {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

describe('palette, examples and the demo in a real browser', function () {
  this.timeout(180_000);
  const browser = browserFixture({ directory: ARTIFACTS, prefix: 'failed-palette-' });

  let userDir: string;
  let demo: DemoRun;
  let page: Page;
  const pageErrors: string[] = [];
  const requests: string[] = [];
  const catalogueAnswers: number[] = [];

  before(async function () {
    userDir = mkdtempSync(join(tmpdir(), 'supersim-palette-'));
    // Without the dashboard tab: this Node-RED is the one a user has before installing Dashboard 2 (the
    // Dashboard example's import test below); the dashboard tab has a browser test of its own.
    demo = await startDemo({ port: await freePort(), simulatorPort: await freePort(), userDir, log: () => undefined, dashboard: false });
    page = await browser.open({ viewport: VIEWPORT, pageErrors });
    page.on('request', (request) => requests.push(request.url()));
    page.on('response', (response) => {
      if (new URL(response.url()).pathname === `/${DEMO_CATALOGUE_PATH}`) catalogueAnswers.push(response.status());
    });
    await page.goto(demo.url);
    await page.waitForFunction((id) => typeof RED !== 'undefined' && RED.nodes.node(id) !== undefined, DEMO_IDS.commandIn, { timeout: 60_000 });
    await page.locator('.red-ui-palette-node[data-palette-type="supersim-ip-command"]').waitFor({ timeout: 30_000 });
  });

  after(async function () {
    await demo?.stop();
    if (userDir) rmSync(userDir, { recursive: true, force: true });
  });

  it('shows the six nodes under Super SIM, and the account only as a config node', async function () {
    const category = page.locator('.red-ui-palette-category').filter({ has: page.locator('.red-ui-palette-node[data-palette-type="supersim-ip-command"]') });
    assert.equal(((await category.locator('.red-ui-palette-header span').first().textContent()) ?? '').replace(/\s+/g, ' ').trim(), 'Super SIM');
    const types = await category.locator('.red-ui-palette-node').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-palette-type')));
    assert.deepEqual([...types].sort(), PALETTE_TYPES);
    assert.equal(await page.locator('.red-ui-palette-node[data-palette-type="supersim-account"]').count(), 0);
  });

  it('tells the send nodes from the receiving ones: colours, icons, and the SMS node names Wireless', async function () {
    const looks = await page.locator('.red-ui-palette-node[data-palette-type^="supersim-"]').evaluateAll((nodes) =>
      Object.fromEntries(
        nodes.map((node) => [
          node.getAttribute('data-palette-type'),
          {
            colour: getComputedStyle(node).backgroundColor,
            icon: (node.querySelector('.red-ui-palette-icon') as unknown as { style: { backgroundImage: string } } | null)?.style.backgroundImage ?? '',
            label: (node.querySelector('.red-ui-palette-label')?.textContent ?? '').replace(/\s+/g, ' ').trim(),
          },
        ]),
      ),
    );
    const [ip, sms, commandIn, filter] = ['supersim-ip-command', 'supersim-sms-command', 'supersim-command-in', 'supersim-status-filter'].map((type) => looks[type]);
    assert.equal(ip.colour, sms.colour, 'the send nodes share a colour');
    assert.equal(commandIn.colour, filter.colour, 'command in and the filter share a colour');
    assert.notEqual(ip.colour, commandIn.colour, 'sending and receiving differ in colour');
    assert.equal(new Set([ip, sms, commandIn, filter].map((look) => look.icon)).size, 4, `four icons: ${JSON.stringify(looks)}`);
    assert.equal(sms.label, 'SMS / Wireless Command');
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
    // What a newcomer reads without expanding: the status of each command, first in the sidebar's line.
    const shown = await page.locator('.red-ui-debug-msg').filter({ hasText: 'command created' }).first().locator('.red-ui-debug-msg-payload').textContent();
    assert.match(shown ?? '', /^\s*\{\s*status: "queued"/);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    const started = Date.now();
    await page.screenshot({ path: SCREENSHOT });
    assert.ok(statSync(SCREENSHOT).mtimeMs >= started - 1000 && statSync(SCREENSHOT).size > 10_000, 'a fresh, non-empty screenshot');
  });

  /** Every node of the demo inside the visible canvas, and no status text running into another node. */
  async function checkLayout(minimumStatuses: number): Promise<void> {
    const chart = await page.locator('#red-ui-workspace-chart').evaluate((element) => {
      const box = element.getBoundingClientRect();
      // The visible canvas, without its scroll bars.
      return { x: box.x, y: box.y, right: box.x + element.clientWidth, bottom: box.y + element.clientHeight };
    });
    const boxes = (selector: string): Promise<Box[]> =>
      page.locator('#red-ui-workspace-chart').evaluate((element, sel) => {
        return [...element.querySelectorAll(sel)]
          .map((node) => {
            const box = node.getBoundingClientRect();
            return { id: node.closest('g.red-ui-flow-node-group')?.id ?? '', x: box.x, y: box.y, width: box.width, height: box.height };
          })
          .filter((box) => box.width > 0);
      }, selector);
    const nodes = await boxes('g.red-ui-flow-node-group > rect.red-ui-flow-node');
    const onTab = await page.evaluate((tab) => RED.nodes.filterNodes({ z: tab }).length, DEMO_IDS.tab);
    assert.equal(nodes.length, onTab, 'every node of the demo is drawn');
    for (const node of nodes) {
      assert.ok(node.x >= chart.x && node.y >= chart.y && node.x + node.width <= chart.right && node.y + node.height <= chart.bottom, `node ${node.id} ${JSON.stringify(node)} is inside the canvas ${JSON.stringify(chart)}`);
    }
    const statuses = await boxes('g.red-ui-flow-node-group .red-ui-flow-node-status-label');
    assert.ok(statuses.length >= minimumStatuses, `status texts are shown (${statuses.length})`);
    for (const status of statuses) {
      assert.ok(status.x + status.width <= chart.right, `the status of ${status.id} ends inside the canvas`);
      for (const node of nodes.filter((other) => other.id !== status.id)) {
        // Under a node, or within its row just below it: either way the text runs into the next node.
        const overlapsX = status.x < node.x + node.width && node.x < status.x + status.width;
        const overlapsY = status.y < node.y + node.height + 6 && node.y < status.y + status.height;
        assert.ok(!(overlapsX && overlapsY), `the status of ${status.id} ${JSON.stringify(status)} runs into node ${node.id} ${JSON.stringify(node)}`);
      }
    }
  }

  it('fits the demo in a 1400×900 window: every node inside the canvas, no status text under another node', async function () {
    await checkLayout(7);
  });

  it("leaves room for the send nodes' longest statuses (\"sent at 12:00:00 · 10 waiting for an answer\")", async function () {
    // As the editor shows a status the runtime publishes (status/<id> over /comms), with the longest texts.
    await page.evaluate((widest) => {
      for (const [id, text] of Object.entries(widest)) {
        const node = RED.nodes.node(id) as { status?: object; dirty?: boolean; dirtyStatus?: boolean };
        node.status = { fill: 'green', shape: 'dot', text };
        node.dirtyStatus = true;
        node.dirty = true;
        RED.view.redrawStatus(node);
      }
    }, WIDEST_STATUSES);
    await page.waitForTimeout(300);
    const shown = await page.locator(`#${DEMO_IDS.sendIp} .red-ui-flow-node-status-label`).textContent();
    assert.equal(shown, WIDEST_STATUSES[DEMO_IDS.sendIp]);
    await checkLayout(Object.keys(WIDEST_STATUSES).length);
  });

  it('asks nothing of the internet: the palette catalogue comes from the demo\'s own Node-RED', function () {
    const outside = requests.filter((url) => !['127.0.0.1', 'localhost'].includes(new URL(url).hostname) && !url.startsWith('data:'));
    assert.deepEqual(outside, []);
    assert.deepEqual(catalogueAnswers, [200], 'the local catalogue was fetched once and answered');
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
    // Imported and deployed without Dashboard 2, the dashboard example would stop every flow: it is not offered here.
    assert.deepEqual(labels.filter((label) => /dashboard/i.test(label)), []);
    await dialog.screenshot({ path: join(mkdirAndReturn(ARTIFACTS), 'import-examples.png') });
    await page.locator('#red-ui-clipboard-dialog-cancel').click();
  });

  it('imports three examples one after the other, each into a tab of its own, without a conflict prompt', async function () {
    const importExample = async (name: string): Promise<void> => {
      await page.locator('#red-ui-header-button-sidemenu').click();
      await page.locator('#menu-item-import').click();
      const dialog = page.locator('#red-ui-clipboard-dialog');
      await dialog.waitFor({ state: 'visible' });
      await dialog.locator('#red-ui-clipboard-dialog-import-tabs').getByText('Examples', { exact: true }).click();
      const examples = dialog.locator('#red-ui-clipboard-dialog-import-tab-examples');
      const example = examples.locator('.red-ui-treeList-label').filter({ hasText: name }).first();
      if (!(await example.isVisible())) await examples.locator('.red-ui-treeList-label').filter({ hasText: 'node-red-contrib-supersim' }).first().click();
      await example.click();
      await page.locator('#red-ui-clipboard-dialog-ok').click();
      await dialog.waitFor({ state: 'hidden' });
    };
    const tabsBefore = await page.evaluate(() => {
      const labels: string[] = [];
      RED.nodes.eachWorkspace((ws) => labels.push(ws.label));
      return labels;
    });
    await importExample(EXAMPLES[0]);
    await importExample(EXAMPLES[1]);
    await importExample(EXAMPLES[4]);
    // Node-RED asks "import copy or replace?" in a notification when an imported id exists already.
    await page.waitForTimeout(500);
    const notices = await page.locator('.red-ui-notification').allTextContents();
    assert.deepEqual(notices.filter((text) => /already exist/i.test(text)), [], 'no conflict prompt');
    const tabsAfter = await page.evaluate(() => {
      const labels: string[] = [];
      RED.nodes.eachWorkspace((ws) => labels.push(ws.label));
      return labels;
    });
    assert.deepEqual(tabsAfter, [...tabsBefore, 'IP Command example', 'SMS and Wireless example', 'Wake a sleeping device example']);
    // Each example's tab shows all of it in this window too: no comment starts left of the canvas.
    const chart = await page.locator('#red-ui-workspace-chart').evaluate((element) => {
      const box = element.getBoundingClientRect();
      return { x: box.x, y: box.y, right: box.x + element.clientWidth, bottom: box.y + element.clientHeight };
    });
    for (const tab of ['5e5e060000000000', '5e5e020000000000', '5e5e010000000000']) {
      await page.evaluate((id) => RED.workspaces.show(id), tab);
      await page.waitForTimeout(300);
      const outside = await page.locator('#red-ui-workspace-chart').evaluate((element, box) => {
        return [...element.querySelectorAll('g.red-ui-flow-node-group > rect.red-ui-flow-node')]
          .map((node) => ({ id: node.closest('g.red-ui-flow-node-group')?.id ?? '', rect: node.getBoundingClientRect() }))
          .filter(({ rect }) => rect.width > 0 && (rect.x < box.x || rect.y < box.y || rect.x + rect.width > box.right || rect.y + rect.height > box.bottom))
          .map(({ id }) => id);
      }, chart);
      await page.screenshot({ path: join(mkdirAndReturn(ARTIFACTS), `example-tab-${tab}.png`) });
      assert.deepEqual(outside, [], `nodes of tab ${tab} outside the canvas`);
    }
    await page.screenshot({ path: join(mkdirAndReturn(ARTIFACTS), 'imported-examples.png') });
  });

  it('the Dashboard 2 example, imported without Dashboard 2, leaves no unknown config node behind once its tab is deleted', async function () {
    // Dashboard 2 is not installed here: its config nodes import as unknown types, which would keep every flow stopped.
    const flow = JSON.parse(readFileSync(join(__dirname, '..', '..', 'extras', 'Device control panel (Dashboard 2).json'), 'utf8')) as { id: string; type: string }[];
    const tab = flow.find((node) => node.type === 'tab') as { id: string };
    // The editor keeps a node of an unknown type as type "unknown", named after the type it had.
    const dashboardConfig = (): Promise<string[]> =>
      page.evaluate((ids) => {
        const found: string[] = [];
        const look = (node: { id: string; type: string; name?: string }): void => {
          if (ids.includes(node.id)) found.push(`${node.type === 'unknown' ? String(node.name) : node.type} ${node.id}`);
        };
        RED.nodes.eachConfig(look);
        RED.nodes.eachNode(look);
        return found;
      }, flow.filter((node) => node.type.startsWith('ui-') && !('wires' in node)).map((node) => node.id));
    await page.evaluate((nodes) => RED.view.importNodes(nodes, { generateIds: false }), flow);
    assert.equal((await dashboardConfig()).length, 5, 'imported with its five Dashboard config nodes');
    await page.evaluate((id) => RED.workspaces.delete(RED.nodes.workspace(id)), tab.id);
    assert.deepEqual(await dashboardConfig(), [], 'they went with the tab');
  });

  it('raised no script errors in the editor (the packed editor files load their resources)', function () {
    assert.deepEqual(pageErrors, []);
  });
});

function mkdirAndReturn(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
