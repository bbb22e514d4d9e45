/**
 * "Reaching the device" in the send nodes' editor, in a real Node-RED and a headless Chromium:
 * "Wait for the device's answer" gives the node a third output (the Node-RED way: `outputs` is a
 * property, set by the dialog), the answer timeout and keep-trying fields are shown and checked as
 * the runtime reads them, and an export or a deploy keeps all four properties.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { Simulator } from '../../src/simulator';
import { browserFixture } from '../support/browser';
import { startNodeRed } from '../support/node-red-process';
import type { NodeRedInstance } from '../support/node-red-process';

interface EditorNode {
  id: string;
  type: string;
  outputs?: number;
  valid?: boolean;
  _def: { outputLabels(this: EditorNode, index: number): string };
  [key: string]: unknown;
}
interface EditorLink {
  source: EditorNode;
  sourcePort: number;
  target: EditorNode;
}
interface EditorRED {
  nodes: {
    node(id: string): EditorNode | undefined;
    getType(type: string): { defaults: Record<string, { value?: unknown }> } | undefined;
    filterLinks(filter: { source: { id: string } }): EditorLink[];
    addLink(link: EditorLink): void;
    createExportableNodeSet(nodes: EditorNode[]): Record<string, unknown>[];
  };
  editor: { edit(node: EditorNode): void };
  view: { importNodes(nodes: object[], options: { generateIds: boolean }): void; redraw(full?: boolean): void };
  actions: { invoke(name: string): void };
  sidebar: { help: { show(type: string): void } };
}
declare const RED: EditorRED;

const ARTIFACTS = join(__dirname, 'artifacts');
const REACHING = ['waitAnswer', 'answerTimeout', 'retryFor', 'outputs'] as const;

describe('reaching the device in the send nodes\' editor', function () {
  this.timeout(120_000);
  const browser = browserFixture({ directory: ARTIFACTS, prefix: 'failed-reaching-' });

  let simulator: Simulator;
  let nodeRed: NodeRedInstance;
  let page: Page;
  const pageErrors: string[] = [];

  async function editNode(id: string): Promise<void> {
    await page.evaluate((nodeId) => RED.editor.edit(RED.nodes.node(nodeId) as EditorNode), id);
    await page.locator('#node-input-waitAnswer').waitFor({ state: 'attached' });
    await page.locator('#node-input-sim').waitFor({ state: 'visible' });
    // A trial click waits until the tray has slid in and the button stands still.
    await page.locator('#node-dialog-ok').click({ trial: true });
  }

  async function closeDialog(button: '#node-dialog-ok' | '#node-dialog-cancel'): Promise<void> {
    await page.locator(button).click();
    await page.locator('#node-input-sim').waitFor({ state: 'detached' });
  }

  async function setField(selector: string, value: string): Promise<void> {
    await page.locator(selector).fill(value);
    await page.locator(selector).dispatchEvent('change');
  }

  async function hasError(selector: string): Promise<boolean> {
    return (await page.locator(selector).getAttribute('class'))?.split(/\s+/).includes('input-error') ?? false;
  }

  /** What the editor holds for the node, and how many output ports the workspace draws for it. */
  async function shown(id: string): Promise<{ outputs: number | undefined; ports: number; labels: string[]; valid: boolean | undefined }> {
    const held = await page.evaluate((nodeId) => {
      const node = RED.nodes.node(nodeId) as EditorNode;
      const count = node.outputs ?? 0;
      return { outputs: node.outputs, labels: Array.from({ length: count }, (_, i) => node._def.outputLabels.call(node, i)), valid: node.valid };
    }, id);
    return { ...held, ports: await page.locator(`[id="${id}"].red-ui-flow-node-group .red-ui-flow-port-output`).count() };
  }

  /** The open dialog's field labels that wrap onto a second line. */
  async function wrappedLabels(): Promise<string[]> {
    return page.locator('#dialog-form .form-row > label:first-child').evaluateAll((labels) =>
      labels
        .filter((label) => label.getBoundingClientRect().height > 0)
        .filter((label) => {
          const range = label.ownerDocument.createRange();
          range.selectNodeContents(label);
          const tops = [...range.getClientRects()].filter((rect) => rect.width > 0).map((rect) => rect.top);
          return tops.some((top) => Math.abs(top - tops[0]) > 10);
        })
        .map((label) => (label.textContent ?? '').trim()),
    );
  }

  async function deployedFlows(): Promise<Record<string, unknown>[]> {
    const response = await fetch(new URL('flows', nodeRed.adminUrl));
    return (await response.json()) as Record<string, unknown>[];
  }

  const pick = (node: Record<string, unknown> | undefined): Record<string, unknown> => Object.fromEntries(REACHING.map((key) => [key, node?.[key]]));

  before(async function () {
    mkdirSync(ARTIFACTS, { recursive: true });
    simulator = await Simulator.start({ mode: 'kore', sims: [{ uniqueName: 'thermostat' }] });
    const { credentials } = simulator;
    // ip1 and sms1 are as flows written before these properties existed: no waitAnswer, retryFor, outputs.
    const send = { account: 'acc1', sim: 'thermostat', callbackUrl: '', callbackMethod: '', track: false, name: '' };
    nodeRed = await startNodeRed({
      flows: [
        { id: 'tab1', type: 'tab', label: 'Reaching' },
        { id: 'acc1', type: 'supersim-account', name: '', provider: 'kore', supersimUrl: simulator.supersimUrl, wirelessUrl: simulator.wirelessUrl, tokenUrl: simulator.tokenUrl, callbackBaseUrl: '' },
        { id: 'ip1', type: 'supersim-ip-command', z: 'tab1', ...send, devicePort: '6655', payloadType: 'auto', trackTimeout: 300, x: 200, y: 100, wires: [[], []] },
        { id: 'sms1', type: 'supersim-sms-command', z: 'tab1', ...send, api: 'supersim', commandMode: 'text', includeSid: 'none', deliveryReceipt: true, trackTimeout: 3600, x: 200, y: 200, wires: [[], []] },
        { id: 'debug1', type: 'debug', z: 'tab1', name: '', active: true, complete: 'true', x: 500, y: 100, wires: [] },
      ],
      credentials: { acc1: { clientId: credentials.clientId, clientSecret: credentials.clientSecret } },
    });
    page = await browser.open({ viewport: { width: 1400, height: 900 }, pageErrors });
    await page.goto(nodeRed.adminUrl);
    await page.waitForFunction(() => typeof RED !== 'undefined' && RED.nodes.node('ip1') !== undefined, undefined, { timeout: 60_000 });
    await page.locator('[id="ip1"].red-ui-flow-node-group').waitFor();
  });

  after(async function () {
    await nodeRed?.stop();
    await simulator?.close();
  });

  it('gives both send nodes the defaults waitAnswer false, answerTimeout 60, retryFor 0 and two outputs', async () => {
    const defaults = await page.evaluate((keys) =>
      ['supersim-ip-command', 'supersim-sms-command'].map((type) => {
        const def = RED.nodes.getType(type)?.defaults ?? {};
        return Object.fromEntries(keys.map((key) => [key, def[key]?.value]));
      }),
      [...REACHING],
    );
    const expected = { waitAnswer: false, answerTimeout: 60, retryFor: 0, outputs: 2 };
    assert.deepEqual(defaults, [expected, expected]);
  });

  it('keeps two valid outputs for a node from a flow without these properties', async () => {
    for (const id of ['ip1', 'sms1']) {
      assert.deepEqual(await shown(id), { outputs: 2, ports: 2, labels: ['created command', 'status changes'], valid: true }, id);
    }
  });

  describe('IP Command dialog', () => {
    before(async () => editNode('ip1'));
    after(async () => {
      if (await page.locator('#node-input-sim').count()) await closeDialog('#node-dialog-cancel');
    });

    it('shows the answer timeout only while waiting for the answer, and checks it only then', async () => {
      const row = page.locator('.supersim-ip-command-answer-row');
      assert.equal(await page.locator('#node-input-waitAnswer').isChecked(), false);
      assert.equal(await row.isVisible(), false);
      // A node without answerTimeout shows the default rather than a blank that fails the check.
      assert.equal(await page.locator('#node-input-answerTimeout').inputValue(), '60');
      await page.locator('#node-input-waitAnswer').check();
      assert.equal(await row.isVisible(), true);
      for (const bad of ['0', '-5', '1.5', 'abc', '']) {
        await setField('#node-input-answerTimeout', bad);
        assert.equal(await hasError('#node-input-answerTimeout'), true, `answer timeout ${JSON.stringify(bad)}`);
      }
      await page.locator('#node-input-waitAnswer').uncheck();
      assert.equal(await row.isVisible(), false);
      assert.equal(await hasError('#node-input-answerTimeout'), false, 'not checked while not waiting');
      await page.locator('#node-input-waitAnswer').check();
      assert.equal(await hasError('#node-input-answerTimeout'), true, 'checked again once waiting');
      await setField('#node-input-answerTimeout', '30');
      assert.equal(await hasError('#node-input-answerTimeout'), false, 'answer timeout 30');
    });

    it('always shows Keep trying for, checks it as whole seconds up to 7 days, and notes what it does to output 2', async () => {
      const note = page.locator('.supersim-ip-command-retry-note');
      assert.equal(await page.locator('#node-input-retryFor').isVisible(), true);
      assert.equal(await page.locator('#node-input-retryFor').inputValue(), '0');
      assert.match((await page.locator('#node-input-retryFor').locator('xpath=..').textContent()) ?? '', /seconds \(0 = off\)/);
      assert.equal(await note.isVisible(), false, 'no note while off');
      for (const bad of ['-1', 'abc', '1.5', '604801', '']) {
        await setField('#node-input-retryFor', bad);
        assert.equal(await hasError('#node-input-retryFor'), true, `retryFor ${JSON.stringify(bad)}`);
      }
      for (const good of ['0', '604800', '3600']) {
        await setField('#node-input-retryFor', good);
        assert.equal(await hasError('#node-input-retryFor'), false, `retryFor ${good}`);
      }
      assert.equal(await note.isVisible(), true, 'the note while keeping trying');
      assert.match((await note.textContent()) ?? '', /msg\.attempt/);
      assert.deepEqual(await wrappedLabels(), []);
      await page.screenshot({ path: join(ARTIFACTS, 'ip-command-dialog-reaching.png') });
    });

    it('gives the node a third output, "device\'s answer", at Done', async () => {
      await closeDialog('#node-dialog-ok');
      await page.locator('[id="ip1"].red-ui-flow-node-group .red-ui-flow-port-output').nth(2).waitFor();
      assert.deepEqual(await shown('ip1'), { outputs: 3, ports: 3, labels: ['created command', 'status changes', "device's answer"], valid: true });
      const node = await page.evaluate(() => {
        const { waitAnswer, answerTimeout, retryFor } = RED.nodes.node('ip1') as EditorNode;
        return { waitAnswer, answerTimeout: Number(answerTimeout), retryFor: Number(retryFor) };
      });
      assert.deepEqual(node, { waitAnswer: true, answerTimeout: 30, retryFor: 3600 });
    });
  });

  describe('IP Command dialog, the answer turned off again', () => {
    it('drops the third output and its wire, and undo brings both back', async () => {
      await page.evaluate(() => {
        const ip = RED.nodes.node('ip1') as EditorNode;
        RED.nodes.addLink({ source: ip, sourcePort: 2, target: RED.nodes.node('debug1') as EditorNode });
        RED.view.redraw(true);
      });
      await editNode('ip1');
      assert.equal(await page.locator('#node-input-waitAnswer').isChecked(), true);
      assert.equal(await page.locator('.supersim-ip-command-answer-row').isVisible(), true);
      await page.locator('#node-input-waitAnswer').uncheck();
      await closeDialog('#node-dialog-ok');
      const ports = (): Promise<number[]> => page.evaluate(() => RED.nodes.filterLinks({ source: { id: 'ip1' } }).map((link) => link.sourcePort));
      assert.equal((await shown('ip1')).outputs, 2);
      assert.equal((await shown('ip1')).ports, 2);
      assert.deepEqual(await ports(), [], 'the wire from output 3 is gone');

      await page.evaluate(() => RED.actions.invoke('core:undo'));
      assert.equal((await shown('ip1')).outputs, 3);
      assert.deepEqual(await ports(), [2], 'undo restores the wire');
      assert.equal(await page.evaluate(() => (RED.nodes.node('ip1') as EditorNode).waitAnswer), true);
    });
  });

  describe('SMS Command dialog', () => {
    before(async () => editNode('sms1'));

    it('has the same rows for both APIs, and a third output at Done', async () => {
      const rows = ['#node-input-waitAnswer', '#node-input-retryFor'];
      for (const api of ['wireless', 'supersim']) {
        await page.locator('#node-input-api').selectOption(api);
        for (const row of rows) assert.equal(await page.locator(row).isVisible(), true, `${row} with ${api}`);
      }
      assert.equal(await page.locator('.supersim-sms-command-answer-row').isVisible(), false);
      assert.equal(await page.locator('.supersim-sms-command-retry-note').isVisible(), false);
      await page.locator('#node-input-waitAnswer').check();
      assert.equal(await page.locator('.supersim-sms-command-answer-row').isVisible(), true);
      assert.equal(await page.locator('#node-input-answerTimeout').inputValue(), '60');
      for (const [value, bad] of [['-1', true], ['abc', true], ['0', false], ['3600', false]] as const) {
        await setField('#node-input-retryFor', value);
        assert.equal(await hasError('#node-input-retryFor'), bad, `retryFor ${value}`);
      }
      assert.equal(await page.locator('.supersim-sms-command-retry-note').isVisible(), true);
      assert.deepEqual(await wrappedLabels(), []);
      await closeDialog('#node-dialog-ok');
      await page.locator('[id="sms1"].red-ui-flow-node-group .red-ui-flow-port-output').nth(2).waitFor();
      assert.deepEqual(await shown('sms1'), { outputs: 3, ports: 3, labels: ['created command', 'status changes', "device's answer"], valid: true });
    });
  });

  describe('import, export and deploy', () => {
    it('exports waitAnswer, answerTimeout, retryFor and outputs', async () => {
      const exported = await page.evaluate(() => RED.nodes.createExportableNodeSet([RED.nodes.node('ip1') as EditorNode, RED.nodes.node('sms1') as EditorNode]));
      assert.deepEqual(
        // The export takes the account (a config node) along.
        exported.filter((node) => node.type !== 'supersim-account').map((node) => ({ ...pick(node), answerTimeout: Number(node.answerTimeout), retryFor: Number(node.retryFor) })),
        [
          { waitAnswer: true, answerTimeout: 30, retryFor: 3600, outputs: 3 },
          { waitAnswer: true, answerTimeout: 60, retryFor: 3600, outputs: 3 },
        ],
      );
    });

    it('deploys them to the runtime', async () => {
      await page.locator('#red-ui-header-button-deploy').click();
      let flows: Record<string, unknown>[] = [];
      const until = Date.now() + 15_000;
      do {
        flows = await deployedFlows();
        if (flows.find((node) => node.id === 'ip1')?.outputs === 3) break;
        await page.waitForTimeout(200);
      } while (Date.now() < until);
      const deployed = (id: string): Record<string, unknown> => {
        const node = flows.find((n) => n.id === id);
        return { ...pick(node), answerTimeout: Number(node?.answerTimeout), retryFor: Number(node?.retryFor) };
      };
      assert.deepEqual(deployed('ip1'), { waitAnswer: true, answerTimeout: 30, retryFor: 3600, outputs: 3 });
      assert.deepEqual(deployed('sms1'), { waitAnswer: true, answerTimeout: 60, retryFor: 3600, outputs: 3 });
      assert.deepEqual((flows.find((n) => n.id === 'ip1')?.wires as unknown[]).length, 3);
    });

    it('imports a node with three outputs as it was, and one waiting without outputs with two until its dialog is saved', async () => {
      const base = { type: 'supersim-ip-command', z: 'tab1', account: 'acc1', sim: 'thermostat', devicePort: '6655', payloadType: 'auto', track: false, trackTimeout: 300, answerTimeout: 60, retryFor: 0 };
      await page.evaluate(
        (nodes) => RED.view.importNodes(nodes, { generateIds: false }),
        [
          { ...base, id: 'imported3', waitAnswer: true, outputs: 3, x: 200, y: 300, wires: [[], [], []] },
          { ...base, id: 'importedNoOutputs', waitAnswer: true, x: 200, y: 400, wires: [[], []] },
        ],
      );
      // importNodes leaves the new nodes attached to the pointer; a click drops them where they are.
      await page.mouse.click(700, 600);
      await page.locator('[id="importedNoOutputs"].red-ui-flow-node-group').waitFor();
      assert.equal((await shown('imported3')).outputs, 3);
      assert.equal((await shown('imported3')).ports, 3);
      assert.equal((await shown('importedNoOutputs')).outputs, 2);
      assert.equal((await shown('importedNoOutputs')).ports, 2);
      await editNode('importedNoOutputs');
      await closeDialog('#node-dialog-ok');
      assert.equal((await shown('importedNoOutputs')).outputs, 3, 'the dialog makes the ports follow waitAnswer');
    });

  });

  describe('help and page health', () => {
    it('explains output 3, waiting for the answer and keeping trying in both nodes\' help', async () => {
      for (const [type, title] of [['supersim-ip-command', 'IP Command'], ['supersim-sms-command', 'SMS / Wireless Command']]) {
        await page.evaluate((helpType) => RED.sidebar.help.show(helpType), type);
        await page.locator('.red-ui-help-title', { hasText: title }).waitFor();
        const help = page.locator('.red-ui-sidebar-info .red-ui-help').filter({ has: page.locator('.red-ui-help-title', { hasText: title }) }).first();
        await help.locator('h4', { hasText: 'Keep trying' }).waitFor();
        const text = ((await help.textContent()) ?? '').replace(/\s+/g, ' ');
        for (const words of ["Device's answer", 'Waiting for the answer', 'Keep trying', 'attempt', 'request', 'command-in', 'Catch', 'restart of Node-RED', '15 minutes']) {
          assert.ok(text.includes(words), `${type} help has "${words}"`);
        }
      }
    });

    it('raised no errors in the page', () => {
      assert.deepEqual(pageErrors, []);
    });
  });
});
