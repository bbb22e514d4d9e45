import assert from 'node:assert/strict';
import request from 'supertest';
import { Simulator } from '../../src/simulator';
import { MAX_TRACKED_PER_NODE } from '../../nodes/lib/send-node';
import { accountFor, collectMessages, currentHttpNode, helper, sendNodeModules, waitFor } from '../support/flows';

/** Our kinds of handle: sockets to the API and timers of retries, polls and tracking. */
function openHandles(): { sockets: number; timers: number } {
  const info = process.getActiveResourcesInfo();
  return { sockets: info.filter((r) => r === 'TCPSocketWrap').length, timers: info.filter((r) => r === 'Timeout').length };
}

describe('send node status and close', function () {
  this.timeout(20_000);
  let sim: Simulator;

  afterEach(async function () {
    await helper.unload();
    await sim?.close();
  });

  function flow(node: Record<string, unknown> = {}, accountOptions: Parameters<typeof accountFor>[1] = {}) {
    const account = accountFor(sim, accountOptions);
    return {
      flow: [
        account.node,
        { id: 'send', type: 'supersim-ip-command', account: 'account', sim: 'thermostat', devicePort: '1', payloadType: 'auto', ...node, wires: [['out'], ['status']] },
        { id: 'out', type: 'helper' },
        { id: 'status', type: 'helper' },
      ],
      credentials: { account: account.credentials },
    };
  }

  it('shows sending with the count in flight, then ok with the status, then failed with a short reason', async function () {
    sim = await Simulator.start({ mode: 'twilio', sims: [{ uniqueName: 'thermostat' }] });
    sim.faults.add({ target: 'ipCommands', method: 'POST', times: 2 }, { kind: 'delay', ms: 100 });
    const { flow: nodes, credentials } = flow();
    await helper.load(sendNodeModules, nodes, credentials);
    const send = helper.getNode('send');
    const status = send.status as unknown as { args: [Record<string, unknown>][] };
    const outputs = collectMessages('out');
    send.receive({ payload: 'a' });
    send.receive({ payload: 'b' });
    await waitFor(() => outputs.length === 2, 5_000, 'two outputs');
    assert.ok(status.args.some(([s]) => s.fill === 'blue' && s.text === 'supersim-ip-command.status.sending'), 'sending shown');
    // Updates are throttled to a few a second: the last one comes once the interval is over.
    await waitFor(() => status.args[status.args.length - 1][0].fill === 'green', 2_000, 'ok shown last');

    // The status shows the latest outcome: a failure on its own, after the successes.
    send.receive({ payload: '' });
    await waitFor(() => status.args.some(([s]) => s.fill === 'red'), 5_000, 'a failed status');
    const failed = status.args.map(([s]) => s).filter((s) => s.fill === 'red');
    assert.equal(failed[failed.length - 1].shape, 'ring');
  });

  it('past its limit of tracked commands it still sends, and warns that tracking was skipped', async function () {
    sim = await Simulator.start({ mode: 'twilio', timing: { ipSentMs: 60_000 }, sims: [{ uniqueName: 'thermostat' }] });
    const { flow: nodes, credentials } = flow({ track: true, trackTimeout: 600 });
    await helper.load(sendNodeModules, nodes, credentials);
    const send = helper.getNode('send');
    const warn = send.warn as unknown as { args: unknown[][] };
    const outputs = collectMessages('out');
    for (let i = 0; i <= MAX_TRACKED_PER_NODE; i++) send.receive({ payload: `m${i}` });
    await waitFor(() => outputs.length === MAX_TRACKED_PER_NODE + 1, 15_000, 'every command sent');
    assert.equal(sim.stats.created.ip, MAX_TRACKED_PER_NODE + 1);
    const skipped = warn.args.filter(([text]) => String(text).includes('tracking-skipped'));
    assert.equal(skipped.length, 1, 'one warning, for the one command over the limit');
  });

  it('releases its route, sockets and timers on close, mid-tracking', async function () {
    const baseline = openHandles();
    sim = await Simulator.start({ mode: 'kore', timing: { ipSentMs: 60_000 }, sims: [{ uniqueName: 'thermostat' }] });
    const { flow: nodes, credentials } = flow({ track: true, trackTimeout: 600 }, { callbackBaseUrl: 'https://nodered.example.com' });
    await helper.load(sendNodeModules, nodes, credentials);
    const app = currentHttpNode();
    const outputs = collectMessages('out');
    helper.getNode('send').receive({ payload: 'still queued for a minute' });
    await waitFor(() => outputs.length === 1, 5_000, 'the created command');
    assert.notEqual((await request(app).post('/supersim/status/account').type('form').send('a=b')).status, 404, 'the route is there');

    await helper.unload();
    // The simulator's own timers and sockets are not ours: with it gone, what is left would be.
    await sim.close();
    await waitFor(
      () => {
        const now = openHandles();
        // undici keeps one shared, unreferenced timer for all its timeouts; tracking timers are ours.
        return now.sockets <= baseline.sockets && now.timers <= baseline.timers + 1;
      },
      3_000,
      `handles back to ${JSON.stringify(baseline)} (now ${JSON.stringify(openHandles())})`,
    );
    assert.equal((await request(app).post('/supersim/status/account').type('form').send('a=b')).status, 404, 'the route is gone');
  });
});
