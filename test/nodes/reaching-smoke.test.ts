import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Simulator } from '../../src/simulator';
import { accountFor, collectMessages, helper, sendNodeModules, waitFor } from '../support/flows';

describe('send nodes reach the device (smoke)', function () {
  this.timeout(30_000);
  let sim: Simulator;
  let userDir: string;
  beforeEach(async function () {
    userDir = mkdtempSync(join(tmpdir(), 'supersim-reach-'));
    helper.settings({ userDir, supersim: { keepTrying: { firstRetryMs: 200, maxRetryMs: 400 } } });
    sim = await Simulator.start({ sims: [{ uniqueName: 'thermostat' }] });
    const device = sim.sim('thermostat');
    await device.listen(6655);
    device.on('ip', (bytes, info) => void info.reply(Buffer.concat([Buffer.from('ack:'), bytes])));
  });
  afterEach(async function () {
    await helper.unload();
    helper.settings({});
    await sim.close();
    rmSync(userDir, { recursive: true, force: true });
  });

  function flow(node: Record<string, unknown>) {
    const account = accountFor(sim);
    return {
      flow: [
        { id: 'tab', type: 'tab', label: 'test' },
        account.node,
        { z: 'tab', x: 100, y: 100, id: 'send', type: 'supersim-ip-command', account: account.node.id, sim: 'thermostat', devicePort: '6655', payloadType: 'text', track: false, trackTimeout: 30, ...node, wires: [['out'], ['status'], ['answer']] },
        { z: 'tab', x: 100, y: 100, id: 'out', type: 'helper' },
        { z: 'tab', x: 100, y: 100, id: 'status', type: 'helper' },
        { z: 'tab', x: 100, y: 100, id: 'answer', type: 'helper' },
        { z: 'tab', x: 100, y: 100, id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { z: 'tab', x: 100, y: 100, id: 'caught', type: 'helper' },
      ],
      credentials: { [account.node.id as string]: account.credentials },
    };
  }

  it('waitAnswer by polling: output 3 carries the answer and the request', async function () {
    const { flow: f, credentials } = flow({ waitAnswer: true, answerTimeout: 10, outputs: 3 });
    await helper.load(sendNodeModules, f, credentials);
    const answers = collectMessages('answer');
    const out = collectMessages('out');
    helper.getNode('send').receive({ payload: 'hello', extra: 'kept' });
    await waitFor(() => answers.length === 1, 10_000, 'the answer');
    assert.equal(Buffer.from(answers[0].payload as Buffer).toString(), 'ack:hello');
    assert.equal((answers[0].request as { sid: string }).sid, (out[0].payload as { sid: string }).sid);
    assert.equal(answers[0].extra, 'kept');
  });

  it('retryFor: a SIM detached for the first attempt is tried again and reached', async function () {
    sim.sim('thermostat').detach();
    const { flow: f, credentials } = flow({ retryFor: 60 });
    await helper.load(sendNodeModules, f, credentials);
    const statuses = collectMessages('status');
    const caught = collectMessages('caught');
    helper.getNode('send').receive({ payload: 'wake up' });
    await waitFor(() => statuses.some((m) => (m.payload as { status: string }).status === 'failed'), 10_000, 'failed');
    sim.sim('thermostat').attach();
    await waitFor(() => statuses.some((m) => (m.payload as { status: string }).status === 'sent'), 10_000, 'sent');
    assert.deepEqual(statuses.map((m) => `${String(m.attempt)}:${(m.payload as { status: string }).status}`), ['1:failed', '2:sent']);
    assert.equal(sim.ipCommands().filter((c) => c.direction === 'to_sim').length, 2);
    assert.equal(caught.length, 0);
  });
});
