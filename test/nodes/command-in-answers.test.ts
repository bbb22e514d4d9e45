/**
 * command-in feeds the account's answer desk: what devices send reaches a command waiting on that
 * account, and the account answers by callback only when command-in can hear the devices.
 */
import assert from 'node:assert/strict';
import type { CommandEvent } from '../../src/callbacks';
import { Simulator } from '../../src/simulator';
import type { SimulatorMode } from '../../src/simulator';
import type { AccountNode } from '../../nodes/supersim-account';
import { accountFor, commandInModules, helper, nextMessage, serveHttpNode } from '../support/flows';

const HOOK = '/hooks/answers';
const FAST = { ipSentMs: 10, smsSentMs: 10, smsDeliveredMs: 20, callbackRetryMs: 20 };

describe('supersim-command-in and the answer desk', function () {
  this.timeout(20_000);
  let server: { url: string; close(): Promise<void> };
  let sim: Simulator | undefined;

  before(async function () {
    server = await serveHttpNode();
  });

  after(async function () {
    await server.close();
  });

  afterEach(async function () {
    await helper.unload();
    await sim?.close();
    sim = undefined;
  });

  async function load(s: Simulator, options: { callbackBaseUrl?: string; commandIn?: boolean } = {}): Promise<AccountNode> {
    const account = accountFor(s, { callbackBaseUrl: options.callbackBaseUrl });
    const flow: object[] = [{ id: 'tab', type: 'tab', label: 'test' }, account.node];
    if (options.commandIn !== false) {
      flow.push(
        { z: 'tab', id: 'in', type: 'supersim-command-in', name: '', account: account.node.id, url: HOOK, wires: [['fromDevices'], []] },
        { z: 'tab', id: 'fromDevices', type: 'helper' },
      );
    }
    await helper.load(commandInModules, flow, { [account.node.id as string]: account.credentials });
    return helper.getNode('account') as unknown as AccountNode;
  }

  for (const mode of ['kore', 'twilio'] as SimulatorMode[]) {
    it(`hands a device's signed from_sim callback to the command waiting on its SIM (${mode})`, async function () {
      sim = await Simulator.start({ mode, timing: FAST, fleets: [{ uniqueName: 'default', ipCommandsUrl: server.url + HOOK }], sims: [{ uniqueName: 'thermostat' }] });
      const { account } = await load(sim, { callbackBaseUrl: server.url });
      assert.equal(account.answerSource(), 'callback');
      const device = sim.sim('thermostat');
      await device.listen(6655);
      const answered = new Promise<CommandEvent>((resolve, reject) => {
        account.answers.wait({
          kind: 'ip',
          simSid: device.sid,
          createdAt: Date.now(),
          sentAt: Date.now(),
          timeoutMs: 5_000,
          source: account.answerSource(),
          onAnswer: resolve,
          onTimeout: () => reject(new Error('no answer reached the desk')),
        });
      });
      const emitted = nextMessage('fromDevices');
      const sent = await device.sendIpCommand(Buffer.from('ack'));
      const answer = await answered;
      assert.equal(answer.sid, sent.sid);
      assert.equal(answer.direction, 'from_sim');
      assert.deepEqual(answer.payload, Buffer.from('ack'));
      const msg = await emitted;
      assert.deepEqual(msg.payload, Buffer.from('ack'), 'command-in still emits it on output 1');
      assert.equal(account.answers.waiting, 0);
    });
  }

  it('answers by callback only with a Public URL and a command-in on the account', async function () {
    sim = await Simulator.start({ mode: 'kore', timing: FAST, sims: [{ uniqueName: 'thermostat' }] });

    let accountNode = await load(sim, { callbackBaseUrl: server.url, commandIn: false });
    assert.equal(accountNode.account.answerSource(), 'poll', 'a Public URL but nobody to hear the devices');
    await helper.unload();

    accountNode = await load(sim, {});
    assert.ok(helper.getNode('in'), 'command-in runs without a Public URL');
    assert.equal(accountNode.account.answerSource(), 'poll', 'command-in but no Public URL');
    await helper.unload();

    accountNode = await load(sim, { callbackBaseUrl: server.url });
    assert.equal(accountNode.account.answerSource(), 'callback');
    // Its close releases the feeder: the account polls again.
    await (helper.getNode('in') as unknown as { close(removed: boolean): Promise<void> }).close(true);
    assert.equal(accountNode.account.answerSource(), 'poll');
  });

  it('a command-in that could not start feeds nothing', async function () {
    sim = await Simulator.start({ mode: 'kore', timing: FAST, sims: [{ uniqueName: 'thermostat' }] });
    const account = accountFor(sim, { callbackBaseUrl: server.url });
    const flow = [
      { id: 'tab', type: 'tab', label: 'test' },
      account.node,
      { z: 'tab', id: 'in', type: 'supersim-command-in', name: '', account: account.node.id, url: '/bad path', wires: [[], []] },
    ];
    await helper.load(commandInModules, flow, { [account.node.id as string]: account.credentials });
    const accountNode = helper.getNode('account') as unknown as AccountNode;
    assert.equal(accountNode.account.answerSource(), 'poll');
  });
});
