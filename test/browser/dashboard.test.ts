/**
 * The Dashboard 2 example as shipped (extras/Device control panel (Dashboard 2).json) on a real
 * Node-RED with Dashboard 2 (the devDependency) and this package's build, against the simulator,
 * filled in only as its comment asks (the account's URLs and credentials). At /dashboard in headless
 * Chromium, pressing its button sends one IP Command that waits for the device's answer, and the
 * table's row shows the command's statuses and the answer from output 3. A screenshot of the
 * dashboard is written to docs/dashboard.png with UPDATE_SCREENSHOTS=1, else to test/browser/artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { DASHBOARD_EXAMPLE_FILE, dashboardDirectory } from '../../scripts/demo-dashboard';
import type { FlowNode } from '../../scripts/demo-dashboard';
import { PROJECT_ROOT } from '../../scripts/start';
import { Simulator } from '../../src/simulator';
import { browserFixture } from '../support/browser';
import { deployFlows, startNodeRed } from '../support/node-red-process';
import type { NodeRedInstance } from '../support/node-red-process';

const ARTIFACTS = join(__dirname, 'artifacts');
const README_SCREENSHOT = join(PROJECT_ROOT, 'docs', 'dashboard.png');
const SCREENSHOT = process.env.UPDATE_SCREENSHOTS ? README_SCREENSHOT : join(ARTIFACTS, 'dashboard.png');
/** The SIM name the example asks users to replace; the simulator has a SIM of that name. */
const SIM = 'my-device';
const DEVICE_PORT = 6655;
/** What the example's button sends, and what the simulated device answers to it. */
const SENT = 'status?';
const ANSWER = `ack:${SENT}`;
/** A dashboard viewed on a laptop: the table's five columns side by side. */
const VIEWPORT = { width: 1280, height: 720 };
/** The row must be complete this soon after the click: the status polls start after 1 s, the answer's too. */
const ROW_TIMEOUT_MS = 20_000;

describe('the Device control panel (Dashboard 2) in a real browser', function () {
  this.timeout(120_000);
  const browser = browserFixture({ directory: ARTIFACTS, prefix: 'failed-dashboard-' });

  let simulator: Simulator;
  let nodeRed: NodeRedInstance;
  let page: Page;
  const outside: string[] = [];
  const pageErrors: string[] = [];
  let example: FlowNode[];

  before(async function () {
    const dashboardDir = dashboardDirectory(PROJECT_ROOT);
    if (dashboardDir === undefined) throw new Error('@flowfuse/node-red-dashboard is a devDependency: run "npm ci"');
    example = JSON.parse(readFileSync(join(PROJECT_ROOT, 'extras', DASHBOARD_EXAMPLE_FILE), 'utf8')) as FlowNode[];

    simulator = await Simulator.start({ mode: 'kore', sims: [{ uniqueName: SIM }] });
    const device = simulator.sim(SIM);
    await device.listen(DEVICE_PORT);
    // As the demo's devices do: whatever they get, answered with "ack:" before it.
    device.on('ip', (bytes, info) => void info.reply(Buffer.concat([Buffer.from('ack:'), bytes])));

    nodeRed = await startNodeRed({ extraModules: [dashboardDir] });
    // Filled in as the example's comment asks, nothing more: the account pointed at the simulator, with its
    // credentials; no Public URL, so the node polls for the statuses and the answer.
    const flow = example.map((node) =>
      node.type === 'supersim-account' ? { ...node, supersimUrl: simulator.supersimUrl, wirelessUrl: simulator.wirelessUrl, tokenUrl: simulator.tokenUrl } : node,
    );
    const account = flow.find((node) => node.type === 'supersim-account') as FlowNode;
    const { credentials } = simulator;
    await deployFlows(nodeRed, flow, { [account.id]: { clientId: credentials.clientId, clientSecret: credentials.clientSecret } });

    page = await browser.open({ viewport: VIEWPORT, pageErrors, outside });
  });

  after(async function () {
    await nodeRed?.stop();
    await simulator?.close();
  });

  it('its IP Command node waits for the answer and wires outputs 1, 2 and 3 to the table', function () {
    const send = example.find((node) => node.type === 'supersim-ip-command') as FlowNode;
    assert.deepEqual([send.track, send.waitAnswer, send.outputs, send.sim], [true, true, 3, SIM]);
    const rows = example.find((node) => node.type === 'function' && node.name === 'command rows') as FlowNode;
    assert.deepEqual(send.wires, [[rows.id], [rows.id], [rows.id]]);
    const table = example.find((node) => node.type === 'ui-table') as FlowNode;
    assert.deepEqual(rows.wires, [[table.id]]);
  });

  it('at /dashboard, pressing the button sends one IP Command; its row shows queued → sent and the device\'s answer', async function () {
    await page.goto(new URL('dashboard', nodeRed.nodeUrl).toString());
    const button = page.getByRole('button', { name: /Ask the device for its status/ });
    await button.waitFor({ state: 'visible', timeout: 60_000 });
    const table = page.locator('table');
    await table.first().waitFor({ state: 'attached', timeout: 30_000 });
    assert.deepEqual(simulator.ipCommands().filter((command) => command.direction === 'to_sim'), [], 'nothing sent before the click');

    const clicked = Date.now();
    await button.click();
    // The answer can arrive before the last status, or after: the row is complete with both.
    const row = page.locator('tbody tr').filter({ hasText: ANSWER }).filter({ hasText: 'queued → sent' });
    await row.waitFor({ state: 'visible', timeout: ROW_TIMEOUT_MS });
    const elapsed = Date.now() - clicked;

    const sent = simulator.ipCommands().filter((command) => command.direction === 'to_sim');
    assert.equal(sent.length, 1, 'one click, one command');
    assert.equal(sent[0].payload, SENT);
    const cells = (await row.locator('td').allTextContents()).map((text) => text.trim());
    assert.deepEqual(cells.slice(1), [SENT, 'queued → sent', ANSWER, sent[0].sid], `the row: ${JSON.stringify(cells)}`);
    assert.match(cells[0], /\d{1,2}:\d{2}:\d{2}/, 'the time it was sent');
    const headers = (await page.locator('thead th').allTextContents()).map((text) => text.trim());
    assert.deepEqual(headers, ['Sent at', 'Sent', 'Statuses', 'Answer', 'Command']);
    assert.equal(await page.locator('tbody tr').filter({ hasText: sent[0].sid }).count(), 1, 'one row per command');
    console.log(`      the row was complete ${elapsed} ms after the click`);

    await page.waitForTimeout(300);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    assert.ok(statSync(SCREENSHOT).mtimeMs >= clicked - 1000 && statSync(SCREENSHOT).size > 10_000, 'a fresh, non-empty screenshot');
  });

  it('asked nothing of the internet and raised no script errors', function () {
    assert.deepEqual(outside, []);
    assert.deepEqual(pageErrors, []);
  });
});
