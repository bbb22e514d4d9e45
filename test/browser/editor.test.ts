/**
 * The nodes' editor in a real Node-RED and a real (headless) Chromium: palette, edit dialogs, the
 * provider-dependent account form, validation, "Test connection" against the simulator, and help.
 * Node-RED runs under /admin with adminAuth, so the editor's relative admin URLs and access tokens
 * are exercised as users with a login have them.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { validateCallbackUrl, validateDevicePort, validateSimReference } from '../../src/commands';
import { Simulator } from '../../src/simulator';
import { browserFixture } from '../support/browser';
import { freePort } from '../support/net';
import { adminToken, startNodeRed, TEST_ADMIN_AUTH, TEST_PASSWORD } from '../support/node-red-process';
import type { NodeRedInstance } from '../support/node-red-process';

/** The part of the editor's global RED that these tests call inside the page. */
interface EditorNode {
  id: string;
  type: string;
  [key: string]: unknown;
}
interface EditorRED {
  nodes: {
    node(id: string): EditorNode | undefined;
    filterNodes(filter: { type: string }): EditorNode[];
    getType(type: string): { defaults: Record<string, { validate?: (this: EditorNode, value: unknown, opt: object) => boolean | string }> } | undefined;
  };
  editor: { edit(node: EditorNode): void };
  view: { select(id: string): void };
  actions: { invoke(name: string): void };
  sidebar: { help: { show(type: string): void } };
}
declare const RED: EditorRED;

const ARTIFACTS = join(__dirname, 'artifacts');
const HEX32 = '0123456789abcdef0123456789abcdef';

describe('editor in a real browser', function () {
  this.timeout(120_000);
  const browser = browserFixture({ directory: ARTIFACTS, prefix: 'failed-' });

  let simulator: Simulator;
  let nodeRed: NodeRedInstance;
  let page: Page;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];

  async function openEditor(): Promise<void> {
    // The editor takes an access token from the query string (as it is: not URL-decoded), keeps it and reloads without it.
    await page.goto(`${nodeRed.adminUrl}?access_token=${nodeRed.token ?? ''}`);
    await page.waitForFunction(() => typeof RED !== 'undefined' && RED.nodes.node('ip1') !== undefined, undefined, { timeout: 60_000 });
    await page.locator('.red-ui-palette-node[data-palette-type="supersim-ip-command"]').waitFor({ timeout: 30_000 });
  }

  /** Waits until the tray with this button has slid in: a trial click waits for the button to stand still. */
  async function traySettled(button: string): Promise<void> {
    await page.locator(button).click({ trial: true });
  }

  async function editNode(id: string, firstField: string): Promise<void> {
    await page.evaluate((nodeId) => RED.editor.edit(RED.nodes.node(nodeId) as EditorNode), id);
    await page.locator(firstField).waitFor({ state: 'visible' });
    await traySettled('#node-dialog-ok');
  }

  async function closeTray(button: string, field: string): Promise<void> {
    await page.locator(button).click();
    await page.locator(field).waitFor({ state: 'detached' });
  }

  async function setField(selector: string, value: string): Promise<void> {
    const input = page.locator(selector);
    await input.fill(value);
    // Node-RED validates on change/keyup/paste.
    await input.dispatchEvent('change');
  }

  async function hasError(selector: string): Promise<boolean> {
    return (await page.locator(selector).getAttribute('class'))?.split(/\s+/).includes('input-error') ?? false;
  }

  let lastTabClick = 0;
  /** Switches the account dialog's tab. RED.tabs takes two clicks within 400 ms as a double click and ignores the second. */
  async function showTab(name: 'connection' | 'advanced'): Promise<void> {
    await page.waitForTimeout(Math.max(0, lastTabClick + 450 - Date.now()));
    await page.locator(`#node-config-supersim-account-tabs a[href="#supersim-account-tab-${name}"]`).click();
    lastTabClick = Date.now();
    await page.locator(`#supersim-account-tab-${name}`).waitFor({ state: 'visible', timeout: 2_000 });
  }

  /** The open dialog's field labels that wrap onto a second line, or whose field drops below them. */
  async function wrappedLabels(): Promise<string[]> {
    return page.locator('#dialog-form .form-row > label:first-child').evaluateAll((labels) =>
      labels
        .filter((label) => label.getBoundingClientRect().height > 0)
        .filter((label) => {
          const range = label.ownerDocument.createRange();
          range.selectNodeContents(label);
          // One rectangle per line box of the text (icon and words): tops far apart mean it wrapped.
          const tops = [...range.getClientRects()].filter((rect) => rect.width > 0).map((rect) => rect.top).sort((a, b) => a - b);
          const wrapped = tops.some((top, i) => i > 0 && top - tops[i - 1] > 10);
          const field = label.nextElementSibling;
          const box = label.getBoundingClientRect();
          const fieldBox = field?.getBoundingClientRect();
          const fieldBelow = fieldBox !== undefined && fieldBox.height > 0 && fieldBox.top >= box.bottom;
          return wrapped || fieldBelow;
        })
        .map((label) => (label.textContent ?? '').trim()),
    );
  }

  async function visible(selectors: string[]): Promise<Record<string, boolean>> {
    const out: Record<string, boolean> = {};
    for (const selector of selectors) out[selector] = await page.locator(selector).first().isVisible();
    return out;
  }

  before(async function () {
    mkdirSync(ARTIFACTS, { recursive: true });
    simulator = await Simulator.start({ mode: 'kore', sims: [{ uniqueName: 'thermostat' }, { uniqueName: 'meter', api: 'wireless' }] });
    const { credentials } = simulator;
    nodeRed = await startNodeRed({
      settings: {
        httpAdminRoot: '/admin',
        httpNodeRoot: '/api',
        adminAuth: TEST_ADMIN_AUTH,
      },
      login: { username: 'admin', password: TEST_PASSWORD },
      flows: [
        { id: 'tab1', type: 'tab', label: 'Super SIM' },
        {
          id: 'acc1',
          type: 'supersim-account',
          name: '',
          provider: 'kore',
          supersimUrl: simulator.supersimUrl,
          wirelessUrl: simulator.wirelessUrl,
          tokenUrl: simulator.tokenUrl,
          callbackBaseUrl: '',
        },
        { id: 'ip1', type: 'supersim-ip-command', z: 'tab1', name: '', account: 'acc1', sim: '', devicePort: '', payloadType: 'auto', callbackUrl: '', callbackMethod: '', track: false, trackTimeout: 300, x: 200, y: 100, wires: [[], []] },
        { id: 'sms1', type: 'supersim-sms-command', z: 'tab1', name: '', account: 'acc1', api: 'supersim', sim: '', commandMode: 'text', includeSid: 'none', deliveryReceipt: true, callbackUrl: '', callbackMethod: '', track: false, trackTimeout: 3600, x: 200, y: 200, wires: [[], []] },
        { id: 'in1', type: 'supersim-command-in', z: 'tab1', name: '', account: 'acc1', url: '/supersim/commands', x: 200, y: 300, wires: [[], []] },
        { id: 'filter1', type: 'supersim-status-filter', z: 'tab1', name: '', statuses: [], maxCommands: 100000, store: '', x: 450, y: 300, wires: [[]] },
      ],
      credentials: { acc1: { clientId: credentials.clientId, clientSecret: credentials.clientSecret, webhookSecret: credentials.webhookSecret } },
    });
    page = await browser.open({ viewport: { width: 1500, height: 950 }, pageErrors });
    page.on('console', (message) => {
      // A refused request is logged by the browser itself; the tests provoke some on purpose.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) consoleErrors.push(message.text());
    });
    await openEditor();
  });

  after(async function () {
    await nodeRed?.stop();
    await simulator?.close();
  });

  describe('palette and workspace', () => {
    it('shows IP Command and SMS Command under Super SIM in the palette', async () => {
      const category = page.locator('.red-ui-palette-category').filter({ has: page.locator('.red-ui-palette-node[data-palette-type="supersim-ip-command"]') });
      // The palette breaks labels into lines, so compare words.
      const words = async (selector: string): Promise<string> => ((await category.locator(selector).first().textContent()) ?? '').replace(/\s+/g, ' ').trim();
      assert.equal(await words('.red-ui-palette-header span'), 'Super SIM');
      assert.equal(await words('[data-palette-type="supersim-ip-command"] .red-ui-palette-label'), 'IP Command');
      // The node sends Programmable Wireless Commands too; nothing else in the palette says so.
      assert.equal(await words('[data-palette-type="supersim-sms-command"] .red-ui-palette-label'), 'SMS / Wireless Command');
      // Config nodes stay out of the palette.
      assert.equal(await page.locator('.red-ui-palette-node[data-palette-type="supersim-account"]').count(), 0);
    });

    it('defines the types with the contract\'s properties, defaults and credentials', async () => {
      const definitions = await page.evaluate(() =>
        ['supersim-account', 'supersim-ip-command', 'supersim-sms-command'].map((type) => {
          const def = RED.nodes.getType(type) as unknown as {
            category: string;
            inputs?: number;
            outputs?: number;
            icon?: string;
            defaults: Record<string, { value?: unknown; type?: string; required?: boolean }>;
            credentials?: Record<string, { type: string }>;
          };
          return {
            type,
            category: def.category,
            ports: [def.inputs ?? 0, def.outputs ?? 0],
            icon: def.icon,
            defaults: Object.fromEntries(Object.entries(def.defaults).map(([name, d]) => [name, d.type ? `${d.type}${d.required ? ' (required)' : ''}` : d.value])),
            credentials: Object.fromEntries(Object.entries(def.credentials ?? {}).map(([name, c]) => [name, c.type])),
          };
        }),
      );
      const send = { name: '', account: 'supersim-account (required)', sim: '', callbackUrl: '', callbackMethod: '', track: false, waitAnswer: false, answerTimeout: 60, retryFor: 0, outputs: 2 };
      assert.deepEqual(definitions, [
        {
          type: 'supersim-account',
          category: 'config',
          ports: [0, 0],
          icon: 'supersim-account.svg',
          defaults: { name: '', provider: 'kore', supersimUrl: '', wirelessUrl: '', tokenUrl: '', callbackBaseUrl: '', webhookUrl: '' },
          credentials: { clientId: 'text', clientSecret: 'password', accountSid: 'text', authToken: 'password', webhookSecret: 'password' },
        },
        {
          type: 'supersim-ip-command',
          category: 'Super SIM',
          ports: [1, 2],
          icon: 'supersim-ip.svg',
          defaults: { ...send, devicePort: '', payloadType: 'auto', trackTimeout: 300 },
          credentials: {},
        },
        {
          type: 'supersim-sms-command',
          category: 'Super SIM',
          ports: [1, 2],
          icon: 'supersim-sms.svg',
          defaults: { ...send, api: 'supersim', commandMode: 'text', includeSid: 'none', deliveryReceipt: true, trackTimeout: 3600 },
          credentials: {},
        },
      ]);
    });

    it('adds a node dragged from the palette with those defaults', async () => {
      const before = await page.evaluate(() => RED.nodes.filterNodes({ type: 'supersim-sms-command' }).map((n) => n.id));
      await page.locator('.red-ui-palette-node[data-palette-type="supersim-sms-command"]').dragTo(page.locator('#red-ui-workspace-chart'), {
        targetPosition: { x: 500, y: 400 },
      });
      const added = await page.evaluate(
        (known) => RED.nodes.filterNodes({ type: 'supersim-sms-command' }).filter((n) => !known.includes(n.id)).map((n) => ({ api: n.api, trackTimeout: n.trackTimeout, deliveryReceipt: n.deliveryReceipt, track: n.track })),
        before,
      );
      assert.deepEqual(added, [{ api: 'supersim', trackTimeout: 3600, deliveryReceipt: true, track: false }]);
    });

    it('labels the nodes in the workspace and their ports', async () => {
      const labels = await page.evaluate(() => {
        const ip = RED.nodes.node('ip1') as EditorNode & { _def: { label(this: EditorNode): string; outputLabels(this: EditorNode, i: number): string } };
        const acc = RED.nodes.node('acc1') as EditorNode & { _def: { label(this: EditorNode): string } };
        return { ip: ip._def.label.call(ip), ports: [0, 1].map((i) => ip._def.outputLabels.call(ip, i)), account: acc._def.label.call(acc) };
      });
      assert.deepEqual(labels, { ip: 'IP Command', ports: ['created command', 'status changes'], account: 'KORE account' });
    });

    it('labels a send node with what it sends and to which SIM, unless it has a name', async () => {
      const labels = await page.evaluate(() => {
        const label = (id: string, fields: Record<string, unknown>): string => {
          const node = RED.nodes.node(id) as EditorNode & { _def: { label(this: EditorNode): string }; _: unknown };
          // A copy: the editor's nodes are proxies that record every property set on them (or on an object made from them).
          return node._def.label.call({ ...node, _: node._, ...fields });
        };
        return [
          label('ip1', { sim: 'sim-tracker' }),
          label('sms1', { sim: 'sim-tracker' }),
          label('sms1', { sim: 'sim-meter', api: 'wireless' }),
          label('sms1', { sim: '', api: 'wireless' }),
          label('sms1', { sim: '' }),
          label('ip1', { sim: 'sim-tracker', name: 'reboot' }),
        ];
      });
      assert.deepEqual(labels, ['IP → sim-tracker', 'SMS → sim-tracker', 'Wireless → sim-meter', 'Wireless Command', 'SMS Command', 'reboot']);
    });
  });

  describe('IP Command dialog', () => {
    before(async () => editNode('ip1', '#node-input-sim'));
    after(async () => closeTray('#node-dialog-cancel', '#node-input-sim'));

    it('has the contract fields with their defaults', async () => {
      assert.equal(await page.locator('#node-input-payloadType').inputValue(), 'auto');
      assert.equal(await page.locator('#node-input-callbackMethod').inputValue(), '');
      assert.equal(await page.locator('#node-input-trackTimeout').inputValue(), '300');
      assert.equal(await page.locator('#node-input-track').isChecked(), false);
      assert.equal(await page.locator('#node-input-account').inputValue(), 'acc1');
      assert.equal(await page.locator('#node-input-sim').getAttribute('placeholder'), 'msg.sim (SID or unique name)');
      await page.screenshot({ path: join(ARTIFACTS, 'ip-command-dialog.png') });
    });

    it('has every label on one line', async () => {
      assert.deepEqual(await wrappedLabels(), []);
    });

    it('marks a device port out of range and malformed SIMs as invalid, and accepts good ones', async () => {
      await setField('#node-input-devicePort', '70000');
      assert.equal(await hasError('#node-input-devicePort'), true, 'device port 70000');
      await setField('#node-input-devicePort', '6655');
      assert.equal(await hasError('#node-input-devicePort'), false, 'device port 6655');
      await setField('#node-input-devicePort', '');
      assert.equal(await hasError('#node-input-devicePort'), false, 'blank device port (msg.devicePort)');

      for (const bad of [`HS${HEX32.slice(1)}`, `DE${HEX32}0`, 'a/b', 'x'.repeat(65)]) {
        await setField('#node-input-sim', bad);
        assert.equal(await hasError('#node-input-sim'), true, `SIM ${bad}`);
      }
      // Short HS/DE names are unique names, as at run time ('HS123', 'HSBC01', 'DEADBEEF').
      for (const good of [`HS${HEX32}`, 'thermostat', 'HS123', '']) {
        await setField('#node-input-sim', good);
        assert.equal(await hasError('#node-input-sim'), false, `SIM ${good}`);
      }

      await setField('#node-input-callbackUrl', 'ftp://example.com/x');
      assert.equal(await hasError('#node-input-callbackUrl'), true, 'ftp callback URL');
      await setField('#node-input-callbackUrl', 'https://example.com/cb');
      assert.equal(await hasError('#node-input-callbackUrl'), false, 'https callback URL');
    });

    it('shows the track timeout only while tracking is on, and checks it then', async () => {
      const row = page.locator('.supersim-ip-command-track-row');
      assert.equal(await row.isVisible(), false);
      await page.locator('#node-input-track').check();
      assert.equal(await row.isVisible(), true);
      await setField('#node-input-trackTimeout', '0');
      assert.equal(await hasError('#node-input-trackTimeout'), true, 'timeout 0');
      await setField('#node-input-trackTimeout', '600');
      assert.equal(await hasError('#node-input-trackTimeout'), false, 'timeout 600');
      await page.locator('#node-input-track').uncheck();
      assert.equal(await row.isVisible(), false);
    });

    it('validates as the runtime does (src/commands)', async () => {
      const sims = ['thermostat', 'HS123', 'HSBC01', 'DEADBEEF', `HS${HEX32}`, `de${HEX32}`, `DE${HEX32.toUpperCase()}`, `HS${HEX32.slice(2)}`,
        `HS${HEX32.slice(8)}`, `HS${HEX32.slice(9)}`, `HS${HEX32}ab`, `HS${'z'.repeat(32)}`, `HS${'z'.repeat(31)}`, 'a/b', 'tab\there', ' padded ',
        'x'.repeat(64), 'x'.repeat(65), 'ünïcødé', '12345'];
      const ports = ['1', '65535', '0', '65536', '70000', '12.5', 'abc', ' 80 ', '-1', '080', '1e3'];
      const urls = ['https://example.com/cb', 'http://127.0.0.1:1880/x?y=1', 'ftp://example.com', 'mailto:a@b.c', 'not a url', '/relative', 'HTTPS://EXAMPLE.COM'];
      const editor = await page.evaluate(
        ({ sims, ports, urls }) => {
          const node = RED.nodes.node('ip1') as EditorNode;
          const defaults = RED.nodes.getType('supersim-ip-command')?.defaults ?? {};
          const smsDefaults = RED.nodes.getType('supersim-sms-command')?.defaults ?? {};
          const ok = (field: string, value: string, on = defaults): boolean => on[field]?.validate?.call(node, value, {}) === true;
          return {
            sims: sims.map((v) => ok('sim', v)),
            smsSims: sims.map((v) => ok('sim', v, smsDefaults)),
            ports: ports.map((v) => ok('devicePort', v)),
            urls: urls.map((v) => ok('callbackUrl', v)),
          };
        },
        { sims, ports, urls },
      );
      const runtime = (check: (v: string) => unknown) => (v: string) => {
        try {
          check(v);
          return true;
        } catch {
          return false;
        }
      };
      const expectedSims = sims.map(runtime((v) => validateSimReference(v)));
      assert.deepEqual(editor.sims, expectedSims, `SIM: ${JSON.stringify(sims)}`);
      assert.deepEqual(editor.smsSims, expectedSims, 'SMS node SIM');
      assert.deepEqual(editor.ports, ports.map(runtime((v) => validateDevicePort(v))), `port: ${JSON.stringify(ports)}`);
      assert.deepEqual(editor.urls, urls.map(runtime((v) => validateCallbackUrl(v))), `URL: ${JSON.stringify(urls)}`);
    });
  });

  describe('SMS Command dialog', () => {
    before(async () => editNode('sms1', '#node-input-api'));
    after(async () => closeTray('#node-dialog-cancel', '#node-input-api'));

    const wirelessRows = ['#node-input-commandMode', '#node-input-includeSid', '#node-input-deliveryReceipt'];

    it('shows command mode, include SID and delivery receipt for Programmable Wireless only', async () => {
      assert.equal(await page.locator('#node-input-api').inputValue(), 'supersim');
      assert.equal(await page.locator('#node-input-deliveryReceipt').isChecked(), true);
      assert.deepEqual(Object.values(await visible(wirelessRows)), [false, false, false]);
      await page.locator('#node-input-api').selectOption('wireless');
      assert.deepEqual(Object.values(await visible(wirelessRows)), [true, true, true]);
      await page.screenshot({ path: join(ARTIFACTS, 'sms-command-dialog-wireless.png') });
      await page.locator('#node-input-api').selectOption('supersim');
      assert.deepEqual(Object.values(await visible(wirelessRows)), [false, false, false]);
    });

    it('has every label on one line, with the Wireless fields shown too', async () => {
      await page.locator('#node-input-api').selectOption('wireless');
      assert.deepEqual(await wrappedLabels(), []);
      await page.locator('#node-input-api').selectOption('supersim');
    });

    it('refuses Include SID with binary commands, as the API does', async () => {
      await page.locator('#node-input-api').selectOption('wireless');
      await page.locator('#node-input-includeSid').selectOption('start');
      await page.locator('#node-input-commandMode').selectOption('binary');
      assert.equal(await hasError('#node-input-includeSid'), true, 'binary with includeSid start');
      await page.locator('#node-input-commandMode').selectOption('text');
      assert.equal(await hasError('#node-input-includeSid'), false, 'text with includeSid start');
      await page.locator('#node-input-api').selectOption('supersim');
    });

    it('shows the track timeout only while tracking is on', async () => {
      const row = page.locator('.supersim-sms-command-track-row');
      assert.equal(await row.isVisible(), false);
      await page.locator('#node-input-track').check();
      assert.equal(await row.isVisible(), true);
      assert.equal(await page.locator('#node-input-trackTimeout').inputValue(), '3600');
      await page.locator('#node-input-track').uncheck();
      assert.equal(await row.isVisible(), false);
    });
  });

  describe('account dialog (from the IP Command node)', () => {
    const kore = ['#node-config-input-clientId', '#node-config-input-clientSecret', '#node-config-input-webhookSecret'];
    const twilio = ['#node-config-input-accountSid', '#node-config-input-authToken'];

    before(async () => {
      await editNode('ip1', '#node-input-sim');
      await page.locator('#node-input-btn-account-edit').click();
      await page.locator('#node-config-input-provider').waitFor({ state: 'visible' });
      await traySettled('#node-config-dialog-ok');
    });
    after(async () => {
      await closeTray('#node-config-dialog-cancel', '#node-config-input-provider');
      await closeTray('#node-dialog-cancel', '#node-input-sim');
    });

    it('asks KORE for client ID, client secret and webhook secret, and Twilio for account SID and auth token', async () => {
      await page.screenshot({ path: join(ARTIFACTS, 'account-dialog-kore.png') });
      assert.equal(await page.locator('#node-config-input-provider').inputValue(), 'kore');
      assert.deepEqual(await visible([...kore, ...twilio]), Object.fromEntries([...kore.map((s) => [s, true]), ...twilio.map((s) => [s, false])]));

      await page.locator('#node-config-input-provider').selectOption('twilio');
      assert.deepEqual(await visible([...kore, ...twilio]), Object.fromEntries([...kore.map((s) => [s, false]), ...twilio.map((s) => [s, true])]));
      await page.locator('#node-config-input-provider').selectOption('kore');
      assert.deepEqual(await visible([...kore, ...twilio]), Object.fromEntries([...kore.map((s) => [s, true]), ...twilio.map((s) => [s, false])]));
    });

    it('marks blank credentials the provider needs, and an Account SID of the wrong length, as other fields are marked', async () => {
      await setField('#node-config-input-clientId', '');
      assert.equal(await hasError('#node-config-input-clientId'), true, 'blank client ID for KORE');
      await setField('#node-config-input-clientId', simulator.credentials.clientId);
      assert.equal(await hasError('#node-config-input-clientId'), false, 'client ID');
      assert.equal(await hasError('#node-config-input-clientSecret'), false, 'the deployed client secret');
      assert.equal(await hasError('#node-config-input-webhookSecret'), false, 'the webhook secret is optional');
      // Twilio's fields, blank here, count only once Twilio is chosen.
      assert.equal(await hasError('#node-config-input-accountSid'), false, 'Twilio fields ignored for KORE');

      await page.locator('#node-config-input-provider').selectOption('twilio');
      assert.equal(await hasError('#node-config-input-accountSid'), true, 'blank Account SID for Twilio');
      assert.equal(await hasError('#node-config-input-authToken'), true, 'blank Auth Token for Twilio');
      assert.equal(await hasError('#node-config-input-clientId'), false, 'KORE fields ignored for Twilio');
      for (const bad of [`AC${HEX32.slice(1)}`, `AC${HEX32}0`, `AX${HEX32}`, `AC${HEX32.slice(2)}zz`]) {
        await setField('#node-config-input-accountSid', bad);
        assert.equal(await hasError('#node-config-input-accountSid'), true, `Account SID ${bad}`);
      }
      await setField('#node-config-input-accountSid', `AC${HEX32.slice(1)}`);
      const tip = await page.evaluate(() => {
        const def = RED.nodes.getType('supersim-account') as unknown as { credentials: Record<string, { validate(this: EditorNode, v: unknown, opt: object): unknown }> };
        const node = RED.nodes.node('acc1') as EditorNode;
        return [def.credentials.accountSid.validate.call(node, 'AC0123', {}), def.credentials.authToken.validate.call(node, ' ', {})];
      });
      assert.match(String(tip[0]), /AC and 32 hexadecimal digits, 34 characters; this one has 6/);
      assert.equal(tip[1], "Auth Token is required for Twilio: copy it from the provider's Console");
      await setField('#node-config-input-accountSid', `AC${HEX32}`);
      assert.equal(await hasError('#node-config-input-accountSid'), false, 'a well-formed Account SID');
      await setField('#node-config-input-authToken', 'token');
      assert.equal(await hasError('#node-config-input-authToken'), false, 'an Auth Token');
      await setField('#node-config-input-accountSid', '');
      await setField('#node-config-input-authToken', '');
      await page.locator('#node-config-input-provider').selectOption('kore');
      assert.equal(await hasError('#node-config-input-accountSid'), false, 'Twilio fields ignored again');
    });

    it('shows on the Advanced tab that it holds an invalid field while the Connection tab is open', async () => {
      const mark = (tab: string) => page.locator(`#node-config-supersim-account-tabs a[href="#supersim-account-tab-${tab}"] .supersim-account-tab-invalid`);
      assert.equal(await mark('advanced').count(), 0, 'no mark while all is valid');
      await showTab('advanced');
      await setField('#node-config-input-callbackBaseUrl', 'https://nodered.example.com/?x=1');
      await showTab('connection');
      await mark('advanced').waitFor({ state: 'visible', timeout: 2_000 });
      assert.equal(await mark('connection').count(), 0);
      await page.screenshot({ path: join(ARTIFACTS, 'account-dialog-advanced-invalid.png') });
      // And the other way round: a blank credential marks the Connection tab while Advanced is open.
      await showTab('advanced');
      await setField('#node-config-input-callbackBaseUrl', '');
      await page.locator('#node-config-input-provider').selectOption('twilio');
      await mark('connection').waitFor({ state: 'visible', timeout: 2_000 });
      assert.equal(await mark('advanced').count(), 0, 'the Advanced tab is valid again');
      await page.locator('#node-config-input-provider').selectOption('kore');
      await mark('connection').waitFor({ state: 'detached', timeout: 2_000 });
      await showTab('connection');
    });

    it('keeps the deployed secrets out of the editor', async () => {
      assert.equal(await page.locator('#node-config-input-clientId').inputValue(), simulator.credentials.clientId);
      assert.equal(await page.locator('#node-config-input-clientSecret').inputValue(), '__PWRD__');
      assert.equal(await page.locator('#node-config-input-webhookSecret').inputValue(), '__PWRD__');
    });

    it('has the base URLs on the Advanced tab, with the provider defaults as placeholders and no token URL for Twilio', async () => {
      await showTab('advanced');
      const tokenRow = page.locator('.supersim-account-token-row');
      assert.equal(await tokenRow.isVisible(), true);
      assert.equal(await page.locator('#node-config-input-supersimUrl').inputValue(), simulator.supersimUrl);
      const placeholders = async (): Promise<(string | null)[]> =>
        Promise.all(['supersimUrl', 'wirelessUrl', 'tokenUrl'].map((f) => page.locator(`#node-config-input-${f}`).getAttribute('placeholder')));
      assert.deepEqual(await placeholders(), [
        'https://supersim.api.korewireless.com',
        'https://programmable-wireless.api.korewireless.com',
        'https://api.korewireless.com/api-services/v1/auth/token',
      ]);
      await page.locator('#node-config-input-provider').selectOption('twilio');
      assert.equal(await tokenRow.isVisible(), false);
      assert.deepEqual((await placeholders()).slice(0, 2), ['https://supersim.twilio.com', 'https://wireless.twilio.com']);
      await page.locator('#node-config-input-provider').selectOption('kore');

      // An unusable token URL counts for KORE only: Twilio has none.
      await setField('#node-config-input-tokenUrl', 'ftp://example.com/token');
      assert.equal(await hasError('#node-config-input-tokenUrl'), true, 'ftp token URL for KORE');
      await page.locator('#node-config-input-provider').selectOption('twilio');
      assert.equal(await hasError('#node-config-input-tokenUrl'), false, 'token URL ignored for Twilio');
      await page.locator('#node-config-input-provider').selectOption('kore');
      await setField('#node-config-input-tokenUrl', simulator.tokenUrl);
      assert.equal(await hasError('#node-config-input-tokenUrl'), false, 'simulator token URL');

      await setField('#node-config-input-callbackBaseUrl', 'https://nodered.example.com/base?x=1');
      assert.equal(await hasError('#node-config-input-callbackBaseUrl'), true, 'callbackBaseUrl with a query');
      await setField('#node-config-input-callbackBaseUrl', 'https://nodered.example.com');
      assert.equal(await hasError('#node-config-input-callbackBaseUrl'), false, 'callbackBaseUrl');
      await setField('#node-config-input-callbackBaseUrl', '');
      await page.screenshot({ path: join(ARTIFACTS, 'account-dialog-advanced.png') });
      await showTab('connection');
    });

    async function testConnection(): Promise<{ text: string; ok: boolean; body: Record<string, unknown>; url: string; authorization?: string }> {
      const requested = page.waitForRequest((request) => request.url().endsWith('/supersim-account/test'));
      await page.locator('#node-config-supersim-account-test').click();
      const request = await requested;
      const result = page.locator('#node-config-supersim-account-test-result');
      await page.locator('#node-config-supersim-account-test-result:is(.supersim-ok, .supersim-fail)').waitFor({ timeout: 30_000 });
      assert.equal(await page.locator('#node-config-supersim-account-test').isDisabled(), false, 'the button is enabled again');
      return {
        text: ((await result.textContent()) ?? '').trim(),
        ok: (await result.getAttribute('class'))?.includes('supersim-ok') ?? false,
        body: request.postDataJSON() as Record<string, unknown>,
        url: request.url(),
        authorization: (await request.allHeaders()).authorization,
      };
    }

    it('tests the deployed credentials through the admin API, with the access token', async () => {
      const answer = await testConnection();
      assert.equal(answer.url, `${nodeRed.adminUrl}supersim-account/test`);
      assert.equal(answer.authorization, `Bearer ${nodeRed.token}`);
      assert.deepEqual(answer.body, {
        id: 'acc1',
        provider: 'kore',
        supersimUrl: simulator.supersimUrl,
        wirelessUrl: simulator.wirelessUrl,
        tokenUrl: simulator.tokenUrl,
        credentials: { clientId: simulator.credentials.clientId, clientSecret: '__PWRD__', accountSid: '', authToken: '' },
      });
      assert.equal(answer.ok, true, answer.text);
      assert.match(answer.text, /Connected: the credentials work\./);
      await page.screenshot({ path: join(ARTIFACTS, 'account-dialog-test-connection.png') });
    });

    it('says when the provider refuses the typed credentials', async () => {
      await page.locator('#node-config-input-clientSecret').fill('not-the-secret');
      const answer = await testConnection();
      assert.equal((answer.body.credentials as Record<string, unknown>).clientSecret, 'not-the-secret');
      assert.equal(answer.ok, false);
      assert.match(answer.text, /The provider refused these credentials\./);
    });

    it('says when the API cannot be reached', async () => {
      const closedPort = await freePort();
      // A typed secret goes to the typed URL; a secret left unchanged would be tested at the deployed one.
      await page.locator('#node-config-input-clientSecret').fill('typed-secret');
      await showTab('advanced');
      await page.locator('#node-config-input-tokenUrl').fill(`http://127.0.0.1:${closedPort}/token`);
      await showTab('connection');
      const answer = await testConnection();
      assert.equal(answer.ok, false);
      assert.match(answer.text, /Could not reach the provider's API\./);
      await showTab('advanced');
      await page.locator('#node-config-input-tokenUrl').fill(simulator.tokenUrl);
      await showTab('connection');
    });

    it('shows a spinner and a disabled button while waiting, and plain words for no permission', async () => {
      let release: () => void = () => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      await page.route('**/supersim-account/test', async (route) => {
        await released;
        await route.fulfill({ status: 403, body: '' });
      });
      try {
        await page.locator('#node-config-supersim-account-test').click();
        await page.locator('#node-config-supersim-account-test-result .fa-spinner').waitFor({ state: 'visible' });
        assert.equal(await page.locator('#node-config-supersim-account-test').isDisabled(), true);
        release();
        await page.locator('#node-config-supersim-account-test-result.supersim-fail').waitFor();
        assert.match((await page.locator('#node-config-supersim-account-test-result').textContent()) ?? '', /no permission to test accounts \(HTTP 403\)/);
        assert.equal(await page.locator('#node-config-supersim-account-test').isDisabled(), false);
      } finally {
        release();
        await page.unroute('**/supersim-account/test');
      }
    });
  });

  describe('status filter dialog', () => {
    before(async () => editNode('filter1', '#node-input-maxCommands'));
    after(async () => closeTray('#node-dialog-cancel', '#node-input-maxCommands'));

    it('aligns the Pass label with the first row of statuses, and says plainly where the state is kept', async () => {
      const top = async (selector: string): Promise<number> => (await page.locator(selector).first().boundingBox())?.y ?? NaN;
      const label = await top('#dialog-form .form-row:has(#supersim-status-filter-status-queued) > label:first-child span');
      const firstStatus = await top('label[for="supersim-status-filter-status-queued"] span');
      assert.ok(Math.abs(label - firstStatus) <= 4, `Pass at ${label}, the first status at ${firstStatus}`);
      assert.equal(((await page.locator('label[for="node-input-store"]').textContent()) ?? '').trim(), 'Keep state in');
      const store = page.locator('#node-input-store');
      const choice = (await store.evaluate((element) => element.tagName)) === 'SELECT' ? await store.locator('option:checked').textContent() : await store.getAttribute('placeholder');
      assert.match(choice ?? '', /^(memory only \(forgotten on redeploy and restart\)|blank for memory only, or a context store name)$/);
      assert.deepEqual(await wrappedLabels(), []);
      await page.screenshot({ path: join(ARTIFACTS, 'status-filter-dialog.png') });
    });
  });

  describe('command in dialog', () => {
    before(async () => editNode('in1', '#node-input-url'));
    after(async () => closeTray('#node-dialog-cancel', '#node-input-url'));

    it('says which Fleet to type for the simulator', async () => {
      await page.locator('#node-supersim-command-in-fleet-open').click();
      const tip = page.locator('#node-supersim-command-in-fleet-tip');
      await tip.waitFor({ state: 'visible' });
      assert.match((await tip.textContent()) ?? '', /The simulator of npm start has one Fleet, named default/);
      assert.match((await page.locator('#node-supersim-command-in-fleet-id').getAttribute('placeholder')) ?? '', /SID \(HF…\) or unique name/);
    });
  });

  describe('help in the sidebar', () => {
    async function helpText(): Promise<string> {
      const help = page.locator('.red-ui-sidebar-info .red-ui-help').filter({ has: page.locator('.red-ui-help-title') }).first();
      await help.locator('h3').first().waitFor({ state: 'visible' });
      return (await help.textContent()) ?? '';
    }

    it('shows the IP Command help for the selected node', async () => {
      await page.evaluate(() => {
        RED.view.select('ip1');
        RED.actions.invoke('core:show-node-help');
      });
      await page.locator('.red-ui-help-title', { hasText: 'IP Command' }).waitFor();
      const text = await helpText();
      assert.match(text, /Inputs/);
      assert.match(text, /Outputs/);
      assert.match(text, /at most 1300 bytes/);
      assert.match(text, /No command is sent twice/);
    });

    it('shows the SMS Command help for the selected node', async () => {
      await page.evaluate(() => {
        RED.view.select('sms1');
        RED.actions.invoke('core:show-node-help');
      });
      await page.locator('.red-ui-help-title', { hasText: 'SMS / Wireless Command' }).waitFor();
      const text = await helpText();
      assert.match(text, /Inputs/);
      assert.match(text, /128/);
      assert.match(text, /140 bytes/);
    });

    it('shows the account help', async () => {
      await page.evaluate(() => RED.sidebar.help.show('supersim-account'));
      await page.locator('.red-ui-help-title', { hasText: 'Super SIM account' }).waitFor();
      const text = await helpText();
      assert.match(text, /Client ID/);
      assert.match(text, /Public URL/);
    });
  });

  describe('test endpoint and page health', () => {
    it('the runtime refuses the test to a user who may only read', async () => {
      const token = await adminToken(nodeRed, 'viewer', TEST_PASSWORD, 'read');
      const response = await fetch(new URL('supersim-account/test', nodeRed.adminUrl), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'acc1', provider: 'kore', credentials: { clientSecret: '__PWRD__' } }),
      });
      await response.arrayBuffer();
      assert.ok(response.status === 401 || response.status === 403, `HTTP ${response.status}`);
    });

    // Last, so that it covers everything the tests above did in the page.
    it('raised no errors in the page', () => {
      assert.deepEqual(pageErrors, []);
      assert.deepEqual(consoleErrors, []);
    });
  });
});
