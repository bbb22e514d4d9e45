/**
 * The demo's dashboard tab (scripts/demo-dashboard.ts): the example moved to ids of its own, with
 * every reference moved with it, so the tab deploys whole beside the demo and never draws its nodes
 * onto the demo's tab.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DASHBOARD_EXAMPLE_FILE, PANEL_ID_PREFIX, panelFlow } from '../../scripts/demo-dashboard';
import type { FlowNode } from '../../scripts/demo-dashboard';

const example = JSON.parse(readFileSync(join(__dirname, '..', '..', 'extras', DASHBOARD_EXAMPLE_FILE), 'utf8')) as FlowNode[];
const options = { accountId: 'demoaccount00001', sim: 'sim-thermostat', dashboardUrl: 'http://127.0.0.1:1880/dashboard' };

/** Every string anywhere in a value. */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(stringsOf);
  return [];
}

describe('the demo dashboard tab (scripts/demo-dashboard)', function () {
  const flow = panelFlow(example, options);
  const exampleIds = new Set(example.map((node) => node.id));

  it('moves every node to an id of its own and leaves out the example\'s account', function () {
    assert.equal(flow.length, example.length - 1);
    assert.ok(flow.every((node) => node.id.startsWith(PANEL_ID_PREFIX)), 'every id moved');
    assert.equal(flow.filter((node) => node.type === 'supersim-account').length, 0);
  });

  it('moves every reference with it, even in nodes after a function whose code has quotes and new lines', function () {
    assert.ok(example.some((node) => node.type === 'function' && /\n/.test(String(node.func))), 'the example has code over several lines');
    const left = stringsOf(flow).filter((text) => exampleIds.has(text));
    assert.deepEqual(left, [], 'no reference to an id of the example is left');
    const ids = new Set(flow.map((node) => node.id));
    const tab = flow.find((node) => node.type === 'tab');
    assert.ok(tab);
    for (const node of flow) {
      if (node.type !== 'tab') assert.equal(node.z, tab.id, `${node.type} ${node.id} is on the panel's tab`);
      for (const target of (node.wires ?? []).flat()) assert.ok(ids.has(target), `${node.id} is wired to ${target}, a node of the tab`);
    }
    for (const send of flow.filter((node) => node.type === 'supersim-ip-command')) {
      assert.equal(send.account, options.accountId);
      assert.equal(send.sim, options.sim);
    }
  });
});
