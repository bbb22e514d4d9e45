import assert from 'node:assert/strict';
import { Simulator } from '../../src/simulator';
import { accountFor, collectMessages, helper, sendNodeModules, waitFor } from '../support/flows';

const MESSAGES = 1000;

/** Every message id once, whichever way it ended: an output (the created command) or a Catch error. */
function accountedIds(outputs: Record<string, unknown>[], caught: Record<string, unknown>[]): string[] {
  const fromOutputs = outputs.map((m) => String((m.payload as Record<string, unknown>).payload));
  const fromErrors = caught.map((m) => String(m.payload));
  return [...fromOutputs, ...fromErrors];
}

describe('redeploy in the middle of a burst', function () {
  this.timeout(60_000);
  let sim: Simulator;

  afterEach(async function () {
    await helper.unload();
    await sim?.close();
  });

  function flowOf(accountName: string, sendName: string) {
    const account = accountFor(sim);
    account.node.name = accountName;
    return {
      flow: [
        { id: 'tab', type: 'tab', label: 'burst' },
        account.node,
        { z: 'tab', x: 100, y: 100, id: 'send', type: 'supersim-ip-command', name: sendName, account: 'account', sim: 'thermostat', devicePort: '6655', payloadType: 'auto', wires: [['out'], []] },
        { z: 'tab', x: 100, y: 100, id: 'out', type: 'helper' },
        { z: 'tab', x: 100, y: 100, id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { z: 'tab', x: 100, y: 100, id: 'caught', type: 'helper' },
      ],
      credentials: { account: account.credentials },
    };
  }

  for (const [label, change] of [
    ['the send node changes', { accountName: 'a', sendName: 'renamed' }],
    ['the account changes (its client closes)', { accountName: 'renamed', sendName: 's' }],
  ] as const) {
    it(`loses nothing when ${label}: every message is an output or a Catch error, and the commands created equal the outputs`, async function () {
      sim = await Simulator.start({ mode: 'twilio', sims: [{ uniqueName: 'thermostat' }] });
      // Each create takes a little while, so the burst is still under way when the deploy lands.
      sim.faults.add({ target: 'ipCommands', method: 'POST', times: Infinity }, { kind: 'delay', ms: 5 });
      const first = flowOf('a', 's');
      await helper.load(sendNodeModules, first.flow, first.credentials);
      const outputs = collectMessages('out');
      const caught = collectMessages('caught');
      const send = helper.getNode('send');
      for (let i = 0; i < MESSAGES; i++) send.receive({ payload: `m${i}` });

      await waitFor(() => outputs.length >= 100, 20_000, 'the first hundred outputs');
      const second = flowOf(change.accountName, change.sendName);
      await helper.setFlows(second.flow, 'nodes', second.credentials);

      await waitFor(() => outputs.length + caught.length >= MESSAGES, 30_000, 'every message to be accounted for');
      // Anything late would show up here as more than MESSAGES.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const ids = accountedIds(outputs, caught);
      assert.equal(ids.length, MESSAGES, `${outputs.length} outputs + ${caught.length} errors`);
      assert.equal(new Set(ids).size, MESSAGES, 'no message is reported twice');
      assert.ok(caught.length > 0, 'the deploy did cut the burst short');
      assert.ok(outputs.length < MESSAGES);
      assert.equal(sim.stats.created.ip, outputs.length, 'every created command was reported, none was created silently');
      for (const msg of caught) {
        assert.match(String((msg.error as { message: string }).message), /not sent|cancelled|closed/);
      }
    });
  }
});
