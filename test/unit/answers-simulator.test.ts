/** The answer desk polling the simulator through the account's real client, over loopback. */
import assert from 'node:assert/strict';
import { Account } from '../../src/account';
import type { CommandEvent } from '../../src/callbacks';
import { Simulator } from '../../src/simulator';

describe('answers: polling the simulator', function () {
  this.timeout(15_000);
  let sim: Simulator;
  let account: Account;
  let closed: boolean;

  beforeEach(async function () {
    closed = false;
    sim = await Simulator.start({ timing: { ipSentMs: 5, smsSentMs: 5, smsDeliveredMs: 5 }, sims: [{ uniqueName: 'thermostat' }, { uniqueName: 'meter' }] });
    const { clientId, clientSecret } = sim.credentials;
    account = new Account(
      'answers',
      { provider: 'kore', supersimUrl: sim.supersimUrl, wirelessUrl: sim.wirelessUrl, tokenUrl: sim.tokenUrl },
      { clientId, clientSecret },
      {},
      { answers: { poll: { initialMs: 50, factor: 2, maxMs: 200 } } },
    );
  });

  afterEach(async function () {
    if (!closed) await account.close();
    await sim.close();
  });

  /** Creates an IP Command with the account's client and waits for its answer by polling. */
  async function ask(simName: string, payload: string): Promise<{ sid: string; answer: Promise<CommandEvent> }> {
    const sentAt = Date.now();
    const created = await account.client.createIpCommand({ sim: simName, payload, devicePort: 7000 });
    const answer = new Promise<CommandEvent>((resolve, reject) => {
      account.answers.wait({
        kind: 'ip',
        simSid: created.sim_sid,
        createdAt: Date.parse(created.date_created),
        sentAt,
        timeoutMs: 5_000,
        source: account.answerSource(),
        onAnswer: resolve,
        onTimeout: () => reject(new Error(`no answer to ${created.sid}`)),
      });
    });
    return { sid: created.sid, answer };
  }

  it('delivers the device’s reply to the command that caused it', async function () {
    assert.equal(account.answerSource(), 'poll', 'no Public URL, no command-in');
    const device = sim.sim('thermostat');
    await device.listen(7000);
    device.on('ip', (bytes, info) => void info.reply(Buffer.concat([Buffer.from('ack:'), bytes])));
    const { answer } = await ask('thermostat', 'ping');
    const event = await answer;
    const reply = sim.ipCommands().find((command) => command.direction === 'from_sim');
    assert.equal(event.sid, reply?.sid);
    assert.equal(event.kind, 'ip');
    assert.equal(event.direction, 'from_sim');
    assert.equal(event.sim.sid, device.sid);
    assert.equal(event.payloadType, 'binary');
    assert.deepEqual(event.payload, Buffer.from('ack:ping'), 'a binary reply is a Buffer, as command-in emits it');
    assert.equal(account.answers.waiting, 0);
    assert.equal(account.answers.polls, 0, 'the poll ends with the last waiter');
  });

  it('answers the commands waiting on one SIM in order, each SIM from its own poll', async function () {
    const thermostat = sim.sim('thermostat');
    const meter = sim.sim('meter');
    for (const device of [thermostat, meter]) {
      await device.listen(7000);
      device.on('ip', (bytes, info) => void info.reply(`re:${bytes.toString()}`));
    }
    const first = await ask('thermostat', 'one');
    const second = await ask('thermostat', 'two');
    const other = await ask('meter', 'three');
    assert.equal(account.answers.polls, 2);
    const answers = await Promise.all([first.answer, second.answer, other.answer]);
    assert.deepEqual(
      answers.map((event) => String(event.payload)),
      ['re:one', 're:two', 're:three'],
    );
  });

  it('an account’s close() ends its waits and polls without calling back', async function () {
    const { answer } = await ask('thermostat', 'nobody listens');
    let settled = false;
    answer.then(
      () => (settled = true),
      () => (settled = true),
    );
    assert.equal(account.answers.polls, 1);
    closed = true;
    await account.close();
    assert.equal(account.answers.waiting, 0);
    assert.equal(account.answers.polls, 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(settled, false);
  });
});
