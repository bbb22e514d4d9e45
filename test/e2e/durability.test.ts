/**
 * Keeping trying survives Node-RED itself (issue 12): a real Node-RED (the built package, `npm run
 * build` first) sends IP Commands with retryFor to a simulated SIM that is detached, and is then
 * SIGKILLed while creates are held on the wire, restarted on the same user directory, redeployed
 * (once while a create is held), and the node deleted. The simulator runs here and is the ground
 * truth: per message, the commands it created must be exactly the failed attempts plus one sent,
 * each created only after the one before had failed.
 *
 * What the node emits is appended by Node-RED's own file node to a file in the user directory, so
 * that nothing emitted between a restart and a test's connection is missed.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IpCommand } from '../../src/api';
import { Simulator } from '../../src/simulator';
import { deployFlows, startNodeRed } from '../support/node-red-process';
import type { NodeRedInstance } from '../support/node-red-process';

const SIM = 'thermostat';
const IP_NODE = 'ip';
/** Quick backoff (300 ms doubling to 1 s) instead of 30 s to 15 min. */
const SETTINGS = { supersim: { keepTrying: { firstRetryMs: 300, maxRetryMs: 1000 } } };
/** Longer than any backoff: a create that was going to happen has happened by then. */
const QUIET_MS = 2500;

/** One line of the events file: what a function node made of an output's message or a Catch. */
interface Emitted {
  output: 1 | 2 | 'error';
  payload: string;
  sid?: string;
  status?: string;
  attempt?: number;
  message?: string;
}

/** A record of the store file, as far as these tests read it. */
interface StoredAttempt {
  id: string;
  stage: string;
  attempt: number;
  sid?: string;
  request: { payload?: string };
}

const RECORD_OUTPUT = (output: 1 | 2): string =>
  `msg.payload = { output: ${output}, payload: msg.payload.payload, sid: msg.payload.sid, status: msg.payload.status, attempt: msg.attempt };\nreturn msg;`;
const RECORD_ERROR = "msg.payload = { output: 'error', payload: msg.payload, message: msg.error && msg.error.message };\nreturn msg;";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 20_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

describe('keeping trying in a real Node-RED: SIGKILL, restart, redeploy, delete', function () {
  this.timeout(90_000);

  let simulator: Simulator;
  let userDir: string;
  let eventsFile: string;
  let storeFile: string;
  let nodeRed: NodeRedInstance | undefined;
  let accountCredentials: Record<string, object>;

  /** `ipNode`: properties to change in the IP node; undefined: the flows without it. */
  function flows(ipNode: Record<string, unknown> | undefined): object[] {
    const at = (x: number, y: number) => ({ z: 'tab', x, y });
    return [
      { id: 'tab', type: 'tab', label: 'durability' },
      {
        id: 'account',
        type: 'supersim-account',
        name: 'simulator',
        provider: 'kore',
        supersimUrl: simulator.supersimUrl,
        wirelessUrl: simulator.wirelessUrl,
        tokenUrl: simulator.tokenUrl,
        callbackBaseUrl: '',
      },
      { id: 'in', type: 'http in', ...at(100, 100), name: '', url: '/send', method: 'post', upload: false, swaggerDoc: '', wires: [ipNode ? ['ok', IP_NODE] : ['ok']] },
      { id: 'ok', type: 'http response', ...at(300, 60), name: '', statusCode: '', headers: {}, wires: [] },
      ...(ipNode
        ? [
            {
              id: IP_NODE,
              type: 'supersim-ip-command',
              ...at(300, 140),
              name: 'wake the thermostat',
              account: 'account',
              sim: SIM,
              devicePort: '6655',
              payloadType: 'text',
              callbackUrl: '',
              callbackMethod: '',
              track: true,
              trackTimeout: 30,
              waitAnswer: false,
              answerTimeout: 60,
              retryFor: 600,
              outputs: 2,
              wires: [['created'], ['status']],
              ...ipNode,
            },
          ]
        : []),
      { id: 'created', type: 'function', ...at(500, 100), name: 'output 1', func: RECORD_OUTPUT(1), outputs: 1, wires: [['log']] },
      { id: 'status', type: 'function', ...at(500, 140), name: 'output 2', func: RECORD_OUTPUT(2), outputs: 1, wires: [['log']] },
      { id: 'catch', type: 'catch', ...at(300, 220), name: '', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'function', ...at(500, 220), name: 'errors', func: RECORD_ERROR, outputs: 1, wires: [['log']] },
      {
        id: 'log',
        type: 'file',
        ...at(700, 140),
        name: '',
        filename: eventsFile,
        filenameType: 'str',
        appendNewline: true,
        createDir: true,
        overwriteFile: 'false',
        encoding: 'none',
        wires: [[]],
      },
    ];
  }

  function emitted(): Emitted[] {
    if (!existsSync(eventsFile)) return [];
    const lines = readFileSync(eventsFile, 'utf8').split('\n');
    // The last line may be half written.
    return lines.slice(0, -1).map((line) => JSON.parse(line) as Emitted);
  }

  function stored(): StoredAttempt[] {
    if (!existsSync(storeFile)) return [];
    return (JSON.parse(readFileSync(storeFile, 'utf8')) as { records: StoredAttempt[] }).records;
  }

  function createsOf(payload: string): IpCommand[] {
    return simulator.ipCommands().filter((command) => command.direction === 'to_sim' && command.payload === payload);
  }

  async function send(payload: string): Promise<void> {
    assert.ok(nodeRed);
    const response = await fetch(new URL('send', nodeRed.nodeUrl), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: payload });
    await response.arrayBuffer();
    assert.equal(response.status, 200);
  }

  /** Each message got its output 1 and at least one `failed` attempt on output 2. */
  async function waitForFailedAttempts(payloads: readonly string[]): Promise<void> {
    await waitUntil(() => {
      const events = emitted();
      return payloads.every(
        (payload) => events.some((e) => e.output === 1 && e.payload === payload) && events.some((e) => e.output === 2 && e.payload === payload && e.status === 'failed'),
      );
    }, `a failed attempt of each of ${payloads.join(', ')}`);
  }

  async function waitForCompletion(payloads: readonly string[]): Promise<void> {
    await waitUntil(() => stored().length === 0 && payloads.every((payload) => createsOf(payload).some((c) => c.status === 'sent')), `every message sent and the store empty; stored: ${JSON.stringify(stored())}`, 30_000);
    await sleep(QUIET_MS);
  }

  /**
   * What the statuses justify, per message: the simulator created failed attempts, then one sent
   * (none after it), each after the one before had failed; output 1 went out once, for the first;
   * output 2 reported the final status of every attempt, numbered; no Catch error.
   * Known bugs aside (see the skipped tests): `unreported`, commands whose status output 2 does not
   * show; `unannounced`, messages whose output 1 may be lost.
   */
  function assertJustified(payloads: readonly string[], known: { unreported?: ReadonlySet<string>; unannounced?: ReadonlySet<string> } = {}): void {
    const events = emitted();
    assert.deepEqual(events.filter((e) => e.output === 'error'), [], 'no Catch error');
    for (const payload of payloads) {
      const creates = createsOf(payload);
      const context = `${payload}: creates ${JSON.stringify(creates.map((c) => [c.sid, c.status, c.date_created, c.date_updated]))}\nemitted ${JSON.stringify(events.filter((e) => e.payload === payload))}`;
      assert.ok(creates.length >= 2, `${context}\nat least one failed attempt and one sent`);
      assert.deepEqual(creates.map((c) => c.status), [...creates.slice(1).map(() => 'failed'), 'sent'], context);
      for (let i = 1; i < creates.length; i++) {
        assert.ok(Date.parse(creates[i].date_created) >= Date.parse(creates[i - 1].date_updated), `${context}\nattempt ${i + 1} was created before attempt ${i} had failed`);
      }
      if (!known.unannounced?.has(payload)) {
        assert.deepEqual(events.filter((e) => e.output === 1 && e.payload === payload).map((e) => e.sid), [creates[0].sid], `${context}\noutput 1 once, the first attempt`);
      }
      const reported = events.filter((e) => e.output === 2 && e.payload === payload);
      for (const [index, command] of creates.entries()) {
        if (known.unreported?.has(command.sid)) continue;
        assert.ok(
          reported.some((e) => e.sid === command.sid && e.status === command.status && e.attempt === index + 1),
          `${context}\noutput 2 reports attempt ${index + 1} (${command.sid}) ${command.status}`,
        );
      }
      for (const event of reported) assert.ok(creates.some((c) => c.sid === event.sid), `${context}\noutput 2 reports only commands that exist`);
    }
  }

  before(async function () {
    // 700 ms before a command is sent or failed: time to attach the SIM while the held one is queued.
    simulator = await Simulator.start({ sims: [{ uniqueName: SIM }], timing: { ipSentMs: 700 } });
    userDir = mkdtempSync(join(tmpdir(), 'supersim-durable-'));
    eventsFile = join(userDir, 'events.jsonl');
    storeFile = join(userDir, 'supersim', 'pending', `${IP_NODE}.json`);
    const c = simulator.credentials;
    accountCredentials = { account: { clientId: c.clientId, clientSecret: c.clientSecret, webhookSecret: c.webhookSecret } };
    nodeRed = await startNodeRed({ userDir, settings: SETTINGS, flows: flows({}), credentials: accountCredentials });
  });

  after(async function () {
    await nodeRed?.stop();
    await simulator?.close();
    if (userDir) rmSync(userDir, { recursive: true, force: true });
  });

  /** Holds the next create of an IP Command in the simulator (the command exists, its answer waits); resolves with that command. */
  async function holdNextCreate(): Promise<IpCommand> {
    const before = simulator.ipCommands().length;
    const heldBefore = simulator.faults.held;
    simulator.faults.add({ target: 'ipCommands', method: 'POST' }, { kind: 'hold' });
    await waitUntil(() => simulator.faults.held === heldBefore + 1, 'a create held by the simulator', 10_000, 5);
    // The rule is taken by the first create to arrive after it, and the simulator creates in arrival order.
    const held = simulator.ipCommands().slice(before).find((c) => c.direction === 'to_sim');
    assert.ok(held, 'the held create made a command');
    return held;
  }

  /** The commands adopted after the restart, once that test has run: a first attempt, and a retry. */
  let adopted: { first: IpCommand; retry: IpCommand } | undefined;

  it('SIGKILL with attempts pending and two being created, restart: every message sent once, the held creates adopted', async function () {
    const payloads = ['kill-1', 'kill-2', 'kill-3', 'kill-4', 'kill-5'];
    simulator.sim(SIM).detach();
    // kill-1's first create is held: its output 1 cannot go out before the SIGKILL.
    const holding = holdNextCreate();
    await send('kill-1');
    const heldFirst = await holding;
    for (const payload of payloads.slice(1)) await send(payload);
    await waitForFailedAttempts(payloads.slice(1));
    assert.deepEqual(stored().map((r) => r.request.payload).sort(), payloads, 'the store lists every message');
    assert.deepEqual(emitted().filter((e) => e.payload === 'kill-1'), [], 'nothing of kill-1 went out');
    // And the retry of another message, failed before, is on the wire too.
    const heldRetry = await holdNextCreate();

    assert.ok(nodeRed);
    await nodeRed.kill();
    simulator.faults.release();
    simulator.faults.clear();
    simulator.sim(SIM).attach();
    assert.equal(simulator.ipCommands().find((c) => c.sid === heldRetry.sid)?.status, 'queued', 'the SIM was attached before the held retry was decided (the machine was too slow)');

    const left = stored();
    assert.deepEqual(left.map((r) => r.request.payload).sort(), payloads, 'every message is still pending after the SIGKILL');
    for (const held of [heldFirst, heldRetry]) {
      const record = left.find((r) => r.request.payload === held.payload);
      assert.equal(record?.stage, 'creating', `${held.payload}'s held attempt was recorded as being created`);
      assert.equal(record?.sid, undefined);
    }
    const retryCreatesAtKill = createsOf(heldRetry.payload).length;

    nodeRed = await startNodeRed({ userDir, settings: SETTINGS });
    await waitForCompletion(payloads);
    assert.match(nodeRed.logs(), /Resumed 5 commands this node was still trying to send/);

    // Adopted, not created again. The held retry: its message's last command, the one sent.
    const retryCreates = createsOf(heldRetry.payload);
    assert.equal(retryCreates.length, retryCreatesAtKill, `no create after the restart for ${heldRetry.payload}`);
    assert.equal(retryCreates.at(-1)?.sid, heldRetry.sid);
    // The held first attempt failed (the SIM was detached then): output 1 carries it, once, after the restart.
    assert.equal(createsOf('kill-1')[0].sid, heldFirst.sid);
    assert.equal(simulator.ipCommands().find((c) => c.sid === heldFirst.sid)?.status, 'failed');
    adopted = { first: heldFirst, retry: heldRetry };
    assertJustified(payloads, { unreported: new Set([heldFirst.sid, heldRetry.sid]) });
  });

  // Output 2 promises every status of every attempt: an adopted command's status is news to the flow.
  it('output 2 reports the status of the attempts adopted after the restart', function () {
    assert.ok(adopted, 'runs after the SIGKILL test');
    const statusOf = (sid: string): (string | undefined)[] => emitted().filter((e) => e.output === 2 && e.sid === sid).map((e) => e.status);
    assert.deepEqual(statusOf(adopted.first.sid), ['failed']);
    assert.deepEqual(statusOf(adopted.retry.sid), ['sent']);
  });

  it('redeploy: a changed node with the same id resumes its pending attempts, and creates nothing twice', async function () {
    const payloads = ['redeploy-1', 'redeploy-2', 'redeploy-3'];
    simulator.sim(SIM).detach();
    for (const payload of payloads) await send(payload);
    await waitForFailedAttempts(payloads);
    assert.equal(stored().length, payloads.length);

    assert.ok(nodeRed);
    const resumedBefore = nodeRed.logs().split('Resumed 3 commands').length;
    await deployFlows(nodeRed, flows({ name: 'wake the thermostat, renamed' }), accountCredentials);
    simulator.sim(SIM).attach();
    await waitForCompletion(payloads);
    assert.equal(nodeRed.logs().split('Resumed 3 commands').length, resumedBefore + 1, 'the redeployed node resumed the 3 from its store');
    assertJustified(payloads);
  });

  /** The message whose first create was on the wire during a redeploy, once that test has run. */
  let heldAtRedeploy: IpCommand | undefined;

  it('redeploy while a first create is on the wire: the node waits for its answer, and the attempt goes on in the new node', async function () {
    const payload = 'redeploy-held';
    simulator.sim(SIM).detach();
    const holding = holdNextCreate();
    await send(payload);
    const held = await holding;
    heldAtRedeploy = held;
    assert.ok(nodeRed);
    const deploying = deployFlows(nodeRed, flows({ name: 'wake the thermostat, renamed again' }), accountCredentials);
    await sleep(1000);
    assert.equal(stored().find((r) => r.request.payload === payload)?.stage, 'creating');
    assert.equal(simulator.faults.release(), 1, 'the old node still waits for the answer of its create');
    simulator.faults.clear();
    await deploying;
    simulator.sim(SIM).attach();
    await waitForCompletion([payload]);
    assert.match(nodeRed.logs(), /\[supersim-ip-command:wake the thermostat, renamed again\] Resumed 1 commands/);
    assert.equal(createsOf(payload)[0].sid, held.sid);
    assertJustified([payload], { unannounced: new Set([payload]) });
  });

  // Output 1 of a create answered while its node closed went nowhere: the resuming node sends it, once.
  it('redeploy while a first create is on the wire: output 1 goes out once, from the node that resumes it', function () {
    assert.ok(heldAtRedeploy, 'runs after the redeploy test');
    const sid = heldAtRedeploy.sid;
    assert.deepEqual(emitted().filter((e) => e.output === 1 && e.payload === heldAtRedeploy?.payload).map((e) => e.sid), [sid]);
  });

  it('delete: deploying without the node drops its pending attempts with a warning, and nothing more is created', async function () {
    const payloads = ['delete-1', 'delete-2'];
    simulator.sim(SIM).detach();
    for (const payload of payloads) await send(payload);
    await waitForFailedAttempts(payloads);
    assert.equal(stored().length, payloads.length);

    assert.ok(nodeRed);
    await deployFlows(nodeRed, flows(undefined), accountCredentials);
    const instance = nodeRed;
    const warning = /\[warn\] \[supersim-ip-command:[^\]]*\] This node was deleted: 2 commands it was still trying to send were dropped/;
    await waitUntil(() => warning.test(instance.logs()), 'the warning of the deleted node', 10_000);
    assert.equal(existsSync(storeFile), false, 'the store file is removed');

    const counts = (): number[] => payloads.map((payload) => createsOf(payload).length);
    const atDelete = counts();
    simulator.sim(SIM).attach();
    await sleep(QUIET_MS);
    assert.deepEqual(counts(), atDelete, 'no attempt after the node was deleted');
    assert.ok(
      payloads.every((payload) => createsOf(payload).every((c) => c.status === 'failed')),
      'the dropped messages were never sent',
    );
    assert.deepEqual(emitted().filter((e) => e.output === 'error'), [], 'dropping is a warning, not a Catch error');
  });
});
