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
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { DEFAULT_RETRY } from '../../src/api';
import type { ClientTimeouts, RetryOptions } from '../../src/api';
import { Simulator } from '../../src/simulator';
import type { FaultTarget } from '../../src/simulator';
import { accountFor, collectMessages, helper, sendNodeModules, waitFor } from '../support/flows';
import { freePort } from '../support/net';

const MESSAGES = 4;
const FAST_TIMEOUTS: ClientTimeouts = { connectMs: 1_000, headersMs: 400, bodyMs: 400 };
// maxAttempts stays as shipped: the cases below count on the real number of tries.
const FAST_RETRY: Partial<RetryOptions> = { baseDelayMs: 40, maxDelayMs: 200 };
/** A Retry-After the client honours (capped by maxDelayMs), so the 429 path waits as it would for real. */
const RETRY_AFTER = '1';

/** The message of an error that admits the API may hold the command: the user must check before resending. */
const MAY_HAVE_REACHED = /may have been created|was created \(HTTP \d+\)/;
const NOT_SENT = /Nothing was sent/;

interface SendNodeKind {
  label: string;
  target: Exclude<FaultTarget, 'any' | 'token' | 'fleets'>;
  node: Record<string, unknown>;
  created(sim: Simulator): number;
  /** The payloads of the commands the API holds, one entry per command. */
  stored(sim: Simulator): string[];
}

const KINDS: SendNodeKind[] = [
  {
    label: 'supersim-ip-command',
    target: 'ipCommands',
    node: { type: 'supersim-ip-command', sim: 'thermostat', devicePort: '6655', payloadType: 'text' },
    created: (sim) => sim.stats.created.ip,
    stored: (sim) => sim.ipCommands().map((c) => c.payload),
  },
  {
    label: 'supersim-sms-command (Super SIM)',
    target: 'smsCommands',
    node: { type: 'supersim-sms-command', api: 'supersim', sim: 'thermostat', commandMode: 'text', includeSid: 'none', deliveryReceipt: true },
    created: (sim) => sim.stats.created.sms,
    stored: (sim) => sim.smsCommands().map((c) => c.payload),
  },
  {
    label: 'supersim-sms-command (Wireless)',
    target: 'wirelessCommands',
    node: { type: 'supersim-sms-command', api: 'wireless', sim: 'meter', commandMode: 'text', includeSid: 'none', deliveryReceipt: false },
    created: (sim) => sim.stats.created.wireless,
    stored: (sim) => sim.wirelessCommands().map((c) => c.command),
  },
];

/** A TCP forwarder on a fixed port: refused while closed, the simulator behind it once opened. */
class Gate {
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;

  private constructor(readonly port: number) {}

  static async reserve(): Promise<Gate> {
    return new Gate(await freePort());
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async open(upstreamPort: number): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection(upstreamPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.#server = server;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

interface CaseContext {
  kind: SendNodeKind;
  /** The simulator the node talks to now; replaced when a case restarts it. */
  sim: Simulator;
  /** Every simulator of the case, so counts survive a restart. */
  sims: Simulator[];
  gate?: Gate;
}

interface Expectation {
  outputs?: number;
  errors?: number;
  /** Messages reported as errors that the API nevertheless holds (an answer lost after it acted). */
  createdButFailed?: number;
  tokenRequests?: number;
  /** Every Catch error matches it. */
  errorPattern?: RegExp;
  /** The fault rule is still in force when the messages have ended (an unlimited one). */
  lingers?: boolean;
}

interface FaultCase {
  name: string;
  /** Send one message before the fault, so a token is cached and a connection is open. */
  warmUp: boolean;
  /** The account's API URLs go through a gate that starts closed. */
  gated?: boolean;
  inject(ctx: CaseContext): void | Promise<void>;
  /** Runs while the messages are under way. */
  meanwhile?(ctx: CaseContext): Promise<void>;
  /** Ends the fault before the message that must succeed. */
  heal?(ctx: CaseContext): Promise<void>;
  expect: Expectation;
}

const CASES: FaultCase[] = [
  {
    name: '429 with Retry-After, within the retries',
    warmUp: true,
    inject: ({ sim, kind }) => sim.faults.add({ target: kind.target, method: 'POST', times: 3 }, { kind: 'status', status: 429, retryAfter: RETRY_AFTER }),
    expect: { outputs: MESSAGES, errors: 0 },
  },
  {
    name: '429 past the retries',
    warmUp: true,
    inject: ({ sim, kind }) => sim.faults.add({ target: kind.target, method: 'POST', times: Infinity }, { kind: 'status', status: 429, retryAfter: RETRY_AFTER }),
    expect: { outputs: 0, errors: MESSAGES, lingers: true, errorPattern: /The provider is rate limiting this account \(HTTP 429.*still refused after 4 attempts/ },
  },
  {
    name: '500',
    warmUp: true,
    inject: ({ sim, kind }) => sim.faults.add({ target: kind.target, method: 'POST', times: 2 }, { kind: 'status', status: 500 }),
    expect: { outputs: MESSAGES - 2, errors: 2, createdButFailed: 0, errorPattern: /HTTP 500[,)].*may have been created anyway: it was not sent again/ },
  },
  {
    name: '503',
    warmUp: true,
    inject: ({ sim, kind }) => sim.faults.add({ target: kind.target, method: 'POST', times: 2 }, { kind: 'status', status: 503, retryAfter: RETRY_AFTER }),
    expect: { outputs: MESSAGES - 2, errors: 2, createdButFailed: 0, errorPattern: /HTTP 503[,)].*may have been created anyway: it was not sent again/ },
  },
  {
    name: 'connection reset before the API acts',
    warmUp: true,
    inject: ({ sim, kind }) => sim.faults.add({ target: kind.target, method: 'POST', times: 2 }, { kind: 'reset', when: 'before' }),
    // The request was written: the client cannot tell this from a reset after, so it must not resend.
    expect: { outputs: MESSAGES - 2, errors: 2, createdButFailed: 0, errorPattern: /may have been created: the connection to .* broke after the request was sent.*not sent again/ },
  },
  {
    name: 'connection reset after the API acted',
    warmUp: true,
    inject: ({ sim, kind }) => sim.faults.add({ target: kind.target, method: 'POST', times: 2 }, { kind: 'reset', when: 'after' }),
    expect: { outputs: MESSAGES - 2, errors: 2, createdButFailed: 2, errorPattern: /may have been created: the connection to .* broke after the request was sent.*not sent again/ },
  },
  {
    name: 'slow headers (past the headers timeout)',
    warmUp: true,
    inject: ({ sim, kind }) => sim.faults.add({ target: kind.target, method: 'POST', times: 2 }, { kind: 'delay', ms: 3 * FAST_TIMEOUTS.headersMs, phase: 'headers' }),
    expect: { outputs: MESSAGES - 2, errors: 2, createdButFailed: 2, errorPattern: /may have been created: .* did not answer in time after the request was sent.*UND_ERR_HEADERS_TIMEOUT.*not sent again/ },
  },
  {
    name: 'slow body (past the body timeout)',
    warmUp: true,
    inject: ({ sim, kind }) => sim.faults.add({ target: kind.target, method: 'POST', times: 2 }, { kind: 'delay', ms: 3 * FAST_TIMEOUTS.bodyMs, phase: 'body' }),
    expect: { outputs: MESSAGES - 2, errors: 2, createdButFailed: 2, errorPattern: /was created \(HTTP 201\), but its answer could not be read: .*stalled.*check the command list before resending/ },
  },
  {
    name: 'token endpoint 500',
    warmUp: false,
    // Every try of the one token request the messages share.
    inject: ({ sim }) => sim.faults.add({ target: 'token', times: DEFAULT_RETRY.maxAttempts }, { kind: 'status', status: 500 }),
    expect: { outputs: 0, errors: MESSAGES, createdButFailed: 0, tokenRequests: DEFAULT_RETRY.maxAttempts + 1, errorPattern: /The provider had an error while getting an access token \(HTTP 500.*Nothing was sent: .* needs an access token first/ },
  },
  {
    name: 'token endpoint timeout',
    warmUp: false,
    inject: ({ sim }) => sim.faults.add({ target: 'token', times: DEFAULT_RETRY.maxAttempts }, { kind: 'hang' }),
    expect: { outputs: 0, errors: MESSAGES, createdButFailed: 0, tokenRequests: DEFAULT_RETRY.maxAttempts + 1, errorPattern: /did not answer in time while getting an access token.*Nothing was sent: .* needs an access token first/ },
  },
  {
    name: 'expired token (401)',
    warmUp: true,
    inject: ({ sim }) => sim.revokeTokens(),
    // One refresh for all the messages rejected together, and each is sent once more, not twice.
    expect: { outputs: MESSAGES, errors: 0, tokenRequests: 2 },
  },
  {
    name: 'API host unreachable',
    warmUp: false,
    gated: true,
    inject: () => undefined,
    heal: async ({ gate, sim }) => (gate as Gate).open(sim.port),
    expect: { outputs: 0, errors: MESSAGES, createdButFailed: 0, errorPattern: /Could not reach .*: check the (Super SIM|Wireless) API URL.*ECONNREFUSED.*Nothing was sent/ },
  },
  {
    name: 'simulator down, then back',
    warmUp: true,
    inject: async (ctx) => {
      await ctx.sim.close();
    },
    meanwhile: async (ctx) => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      ctx.sim = await startSimulator(ctx.sim.port);
      ctx.sims.push(ctx.sim);
    },
    // Retries that fall before the restart fail as "not sent"; those after it succeed. Either way, once.
    expect: { createdButFailed: 0, errorPattern: NOT_SENT },
  },
];

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

const tagOf = (msg: Record<string, unknown>): string => String(msg.tag);
const errorOf = (msg: Record<string, unknown>): string => String((msg.error as { message?: unknown } | undefined)?.message);
const fillOf = (msg: Record<string, unknown>): unknown => (msg.status as { fill?: unknown } | undefined)?.fill;

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
          const current: CaseContext = { kind, sim, sims: [sim], gate: fault.gated ? await Gate.reserve() : undefined };
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
    ctx = { kind: KINDS[0], sim, sims: [sim] };
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
