/**
 * Every fault the API side can throw at a send node, for every send node: each message ends in
 * exactly one output or one Catch error, the API holds each command at most once and only those the
 * node reported as sent (or reported as "may have reached the server"), and the node's status turns
 * green again after the next success.
 *
 * The account node has no timeout or backoff settings, and the client's defaults (30 s to the headers,
 * 250 ms first backoff) would make the timeout cases take minutes. The matrix shortens the client's
 * default timings for its own duration instead: the account, the send nodes and the client run as
 * shipped, only the numbers they start from are smaller.
 */
import assert from 'node:assert/strict';
import { DEFAULT_RETRY } from '../../src/api';
import { Simulator } from '../../src/simulator';
import { accountFor, collectMessages, helper, sendNodeModules, waitFor } from '../support/flows';
import { CASES, FAST_RETRY, FAST_TIMEOUTS, Gate, KINDS, MAY_HAVE_REACHED, MESSAGES, errorOf, fillOf, tagOf } from './fault-cases';
import type { CaseContext } from './fault-cases';

function startSimulator(port = 0): Promise<Simulator> {
  return Simulator.start({
    mode: 'kore',
    port,
    // Long enough that no status callback or device traffic runs during a case.
    timing: { ipSentMs: 5_000, smsSentMs: 5_000, smsDeliveredMs: 5_000 },
    sims: [{ uniqueName: 'thermostat' }, { uniqueName: 'meter', api: 'wireless' }],
  });
}

function flowFor(ctx: CaseContext, gated: boolean) {
  const account = accountFor(ctx.sim);
  if (gated) {
    const gate = ctx.gate as Gate;
    account.node.supersimUrl = `${gate.url}/supersim`;
    account.node.wirelessUrl = `${gate.url}/wireless`;
  }
  return {
    flow: [
      { id: 'tab', type: 'tab', label: 'faults' },
      account.node,
      { z: 'tab', x: 100, y: 100, id: 'send', account: account.node.id, name: '', callbackUrl: '', callbackMethod: '', track: false, trackTimeout: 5, ...ctx.kind.node, wires: [['out'], []] },
      { z: 'tab', x: 100, y: 100, id: 'out', type: 'helper' },
      { z: 'tab', x: 100, y: 100, id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { z: 'tab', x: 100, y: 100, id: 'caught', type: 'helper' },
      { z: 'tab', x: 100, y: 100, id: 'watch', type: 'status', scope: ['send'], wires: [['statuses']] },
      { z: 'tab', x: 100, y: 100, id: 'statuses', type: 'helper' },
    ],
    credentials: { [account.node.id as string]: account.credentials },
  };
}

describe('fault matrix: every send node under every API fault', function () {
  this.timeout(15_000);
  let ctx: CaseContext | undefined;

  // Through settings.js, as an operator would: the account nodes build their clients with these.
  before(function () {
    helper.settings({ supersim: { timeouts: FAST_TIMEOUTS, retry: FAST_RETRY } });
  });

  after(function () {
    helper.settings({ supersim: undefined });
  });

  afterEach(async function () {
    await helper.unload();
    await ctx?.gate?.close();
    for (const sim of ctx?.sims ?? []) await sim.close();
    ctx = undefined;
  });

  for (const kind of KINDS) {
    describe(kind.label, function () {
      for (const fault of CASES) {
        it(fault.name, async function () {
          const sim = await startSimulator();
          const current: CaseContext = { kind, sim, sims: [sim], gate: fault.gated ? await Gate.reserve() : undefined, restart: startSimulator };
          ctx = current;
          const { flow, credentials } = flowFor(current, fault.gated === true);
          await helper.load(sendNodeModules, flow, credentials);
          const outputs = collectMessages('out');
          const caught = collectMessages('caught');
          const statuses = collectMessages('statuses');
          const send = helper.getNode('send');

          const tags: string[] = [];
          const sendOne = (tag: string): void => {
            tags.push(tag);
            send.receive({ payload: tag, tag });
          };
          const settled = (): number => outputs.length + caught.length;

          if (fault.warmUp) {
            sendOne('warm');
            await waitFor(() => outputs.length === 1, 3_000, 'the warm-up output');
          }
          const atFault = { outputs: outputs.length, caught: caught.length };

          await fault.inject(current);
          for (let i = 0; i < MESSAGES; i++) sendOne(`m${i}`);
          await fault.meanwhile?.(current);
          await waitFor(() => settled() >= tags.length, 8_000, `all ${tags.length} messages to end (${outputs.length} outputs, ${caught.length} errors)`);

          const faultOutputs = outputs.slice(atFault.outputs);
          const faultErrors = caught.slice(atFault.caught);
          const pendingFaults = current.sims.reduce((sum, s) => sum + s.faults.pending, 0);

          for (const simulator of current.sims) simulator.faults.clear();
          await fault.heal?.(current);
          sendOne('recover');
          await waitFor(() => settled() >= tags.length, 5_000, 'the message after the fault to end');
          // Anything reported late (a second answer for one message) would show up here.
          await new Promise((resolve) => setTimeout(resolve, 100));

          // Exactly one ending per message.
          const endings = [...outputs.map(tagOf), ...caught.map(tagOf)];
          assert.deepEqual([...endings].sort(), [...tags].sort(), `each message ends once: outputs ${outputs.map(tagOf)}, errors ${caught.map(tagOf)}`);
          assert.equal(tagOf(outputs[outputs.length - 1]), 'recover', `the message after the fault succeeds (errors: ${caught.map(errorOf).join(' | ')})`);

          // The API holds each command at most once, every output, and no command reported as not sent.
          const stored = current.sims.flatMap((s) => kind.stored(s));
          assert.equal(new Set(stored).size, stored.length, `no command is created twice: ${stored}`);
          const created = current.sims.reduce((sum, s) => sum + kind.created(s), 0);
          const outputTags = new Set(outputs.map(tagOf));
          for (const tag of outputTags) assert.ok(stored.includes(tag), `${tag} was output but the API does not hold it`);
          const createdButFailed = caught.filter((m) => stored.includes(tagOf(m)));
          for (const msg of createdButFailed) {
            assert.match(errorOf(msg), MAY_HAVE_REACHED, `${tagOf(msg)} reached the API, so its error must say it may have`);
          }
          assert.equal(created, outputs.length + createdButFailed.length, 'created commands = messages reported sent + those reported as possibly sent');

          const expect = fault.expect;
          if (expect.outputs !== undefined) assert.equal(faultOutputs.length, expect.outputs, `outputs during the fault (errors: ${faultErrors.map(errorOf).join(' | ')})`);
          if (expect.errors !== undefined) assert.equal(faultErrors.length, expect.errors, 'errors during the fault');
          if (expect.createdButFailed !== undefined) assert.equal(createdButFailed.length, expect.createdButFailed, 'errors for commands the API holds');
          if (expect.errorPattern) for (const msg of faultErrors) assert.match(errorOf(msg), expect.errorPattern);
          if (expect.tokenRequests !== undefined) {
            assert.equal(current.sims.reduce((sum, s) => sum + s.stats.tokenRequests, 0), expect.tokenRequests, 'token requests');
          }
          assert.equal(pendingFaults > 0, fault.expect.lingers === true, 'every limited fault was used up, so each one did hit a request');

          // Green again after the later success.
          await waitFor(() => statuses.length > 0 && fillOf(statuses[statuses.length - 1]) === 'green', 2_000, 'a green status after the recovery');
        });
      }
    });
  }

  // Messages that fail together (one token request here) each ask for the throttled "sending (n)"
  // status while the others settle; the last of them, with n = 0, must not hide the failures.
  it('after messages fail together, the idle status is the red failure, not "sending (0)"', async function () {
    const sim = await startSimulator();
    ctx = { kind: KINDS[0], sim, sims: [sim], restart: startSimulator };
    const { flow, credentials } = flowFor(ctx, false);
    await helper.load(sendNodeModules, flow, credentials);
    const caught = collectMessages('caught');
    const statuses = collectMessages('statuses');
    sim.faults.add({ target: 'token', times: DEFAULT_RETRY.maxAttempts }, { kind: 'status', status: 500 });
    for (let i = 0; i < MESSAGES; i++) helper.getNode('send').receive({ payload: `m${i}`, tag: `m${i}` });
    await waitFor(() => caught.length === MESSAGES, 5_000, 'the failures');
    // Longer than the status throttle, so whatever is pending has been shown.
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(fillOf(statuses[statuses.length - 1]), 'red', JSON.stringify(statuses[statuses.length - 1]?.status));
  });
});
