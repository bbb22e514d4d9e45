/**
 * Callbacks emitted once across instances, in the test helper with settings naming a real
 * redis-server (issue 15, item 2). "Another instance" is a second Redis connection of the test's own
 * (another instanceId) that claims a callback first, as another Node-RED given the same callback would.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sinon from 'sinon';
import type { SinonSpy } from 'sinon';
import { Agent, request } from 'undici';
import { KORE_IDEMPOTENCY_HEADER, KORE_SIGNATURE_HEADER, koreSignature, sharedClaimKeysOf } from '../../src/callbacks';
import { RedisClaimStore } from '../../src/shared-state';
import type { SharedRedis } from '../../src/shared-state';
import { Simulator } from '../../src/simulator';
import type { AccountNode } from '../../nodes/supersim-account';
import type { NodeAPI } from '../../nodes/lib/red';
import { sharedRedisOf } from '../../nodes/lib/shared-state';
import { accountFor, collectMessages, commandInModules, currentHttpNode, helper, logLines, serveHttpNode, waitFor } from '../support/flows';
import { redisFixture } from '../support/redis-server';

const HOOK = '/hooks/shared';
const HG = `HG${'0a'.repeat(16)}`;
const HS = `HS${'3d'.repeat(16)}`;
const DAY_MS = 24 * 60 * 60 * 1000;
const PREFIX = 'nodes:';

/** The helper's RED._ returns the key: substitute from the catalogue, so statuses read as users see them. */
const CATALOGUE = JSON.parse(readFileSync(join(__dirname, '..', '..', 'nodes', 'locales', 'en-US', 'supersim-command-in.json'), 'utf8')) as Record<string, unknown>;
function translate(key: string): string {
  let text: unknown = CATALOGUE;
  for (const part of key.split('.')) text = typeof text === 'object' && text !== null ? (text as Record<string, unknown>)[part] : undefined;
  return typeof text === 'string' ? text : key;
}
const MODULES = [(RED: NodeAPI) => void (RED._ = translate), ...commandInModules];

const agent = new Agent({ keepAliveTimeout: 1_000, headersTimeout: 5_000, bodyTimeout: 5_000 });
const quietly = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms));

function paramsOf(sim: Simulator, extra: Record<string, string> = {}): Record<string, string> {
  return { AccountSid: sim.credentials.accountSid, CommandSid: HG, SimSid: HS, SimUniqueName: 'thermostat', Payload: 'aGk=', PayloadType: 'binary', Direction: 'from_sim', Status: 'received', ApiVersion: 'v1', ...extra };
}

/** POSTs `params` to `path`, signed as KORE signs callbacks (the simulator runs in KORE mode). */
async function post(sim: Simulator, base: string, path: string, params: Record<string, string>, token: string): Promise<number> {
  const body = new URLSearchParams(params).toString();
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    [KORE_SIGNATURE_HEADER]: koreSignature(sim.credentials.webhookSecret, 'POST', base + path, body),
    [KORE_IDEMPOTENCY_HEADER]: token,
  };
  const response = await request(base + path, { method: 'POST', headers, body, dispatcher: agent });
  await response.body.text();
  return response.statusCode;
}

describe('callbacks emitted once across instances (command-in and the account route, with Redis)', function () {
  this.timeout(30_000);
  const fixture = redisFixture({ keyPrefix: PREFIX, leaseMs: 30_000 }, { maxReconnectDelayMs: 100 });
  let server: { url: string; close(): Promise<void> };
  let sim: Simulator;

  before(async function () {
    server = await serveHttpNode();
    sim = await Simulator.start({ mode: 'kore' });
  });
  after(async function () {
    await server?.close();
    await sim?.close();
    await agent.close();
  });
  afterEach(async function () {
    sinon.restore();
    await helper.unload();
    helper.settings({});
    await fixture.reset();
  });

  /** Another instance's connection (its own instanceId), as the test plays it. */
  const otherInstance = (): Promise<SharedRedis> => fixture.ownConnection();

  /** What another Node-RED, given the same callback first, leaves in Redis. */
  async function claimedElsewhere(scope: string, token: string, params: Record<string, string>): Promise<void> {
    const store = new RedisClaimStore(await otherInstance());
    const keys = sharedClaimKeysOf(scope, { sid: params.CommandSid, status: params.Status as 'received', direction: params.Direction as 'from_sim', idempotencyToken: token });
    assert.equal(await store.claim(keys, DAY_MS), true);
    store.close();
  }

  async function load(withRedis = true): Promise<void> {
    helper.settings(withRedis ? { supersim: { redis: { url: fixture.server.url, keyPrefix: PREFIX } } } : {});
    const account = accountFor(sim, { callbackBaseUrl: server.url });
    await helper.load(
      MODULES,
      [
        { id: 'tab', type: 'tab', label: 'test' },
        account.node,
        { z: 'tab', x: 100, y: 100, id: 'in', type: 'supersim-command-in', name: '', account: account.node.id, url: HOOK, wires: [['fromDevices'], ['statuses']] },
        { z: 'tab', x: 100, y: 100, id: 'fromDevices', type: 'helper' },
        { z: 'tab', x: 100, y: 100, id: 'statuses', type: 'helper' },
      ],
      { [account.node.id as string]: account.credentials },
    );
    if (withRedis) await waitFor(() => helperRedisUp(), 10_000, 'the runtime\'s Redis connection');
  }

  /** The runtime connected: its first claim lands in Redis (anything before would be local-only). */
  function helperRedisUp(): boolean {
    const RED = { httpNode: currentHttpNode(), settings: {}, log: { info: () => undefined, warn: () => undefined, error: () => undefined } };
    return sharedRedisOf(RED as unknown as Parameters<typeof sharedRedisOf>[0])?.health === 'up';
  }

  async function redisKeys(): Promise<string[]> {
    return (await (await otherInstance()).run((client) => client.keys(`${PREFIX}*`))).sort();
  }

  it('a callback no other instance claimed is emitted once, and its claim is in Redis', async function () {
    await load();
    const fromDevices = collectMessages('fromDevices');
    assert.equal(await post(sim, server.url, HOOK, paramsOf(sim), 'tok-1'), 200);
    assert.equal(await post(sim, server.url, HOOK, paramsOf(sim), 'tok-1'), 200);
    await waitFor(() => fromDevices.length === 1, 3_000, 'the callback');
    await quietly();
    assert.equal(fromDevices.length, 1);
    const keys = await redisKeys();
    assert.equal(keys.length, 2, `its token and its event: ${keys.join(', ')}`);
    assert.ok(keys.every((key) => key.startsWith(`${PREFIX}idem:in:`) || key.startsWith(`${PREFIX}event:in:`)), keys.join(', '));
  });

  it('the same callback already claimed by another instance: answered 200 and emitted nothing; under a new token too', async function () {
    await load();
    const fromDevices = collectMessages('fromDevices');
    await claimedElsewhere('in', 'tok-1', paramsOf(sim));
    assert.equal(await post(sim, server.url, HOOK, paramsOf(sim), 'tok-1'), 200);
    assert.equal(await post(sim, server.url, HOOK, paramsOf(sim), 'tok-2'), 200);
    assert.equal(await post(sim, server.url, HOOK, paramsOf(sim, { CommandSid: `HG${'0b'.repeat(16)}` }), 'tok-3'), 200);
    await waitFor(() => fromDevices.length === 1, 3_000, 'the other command');
    await quietly();
    assert.deepEqual(fromDevices.map((m) => (m.command as Record<string, unknown>).sid), [`HG${'0b'.repeat(16)}`]);
  });

  it('the account\'s status route delivers a status another instance claimed not at all, and its own once', async function () {
    await load();
    const account = (helper.getNode('account') as unknown as AccountNode).account;
    const deliver = sinon.spy(account.hub, 'deliver');
    const status = paramsOf(sim, { Direction: 'to_sim', Status: 'sent' });
    const path = `/${account.callbackPath}`;
    await claimedElsewhere('account', 'st-1', status);
    assert.equal(await post(sim, server.url, path, status, 'st-1'), 200);
    assert.equal((deliver as SinonSpy).callCount, 0, 'claimed elsewhere: not delivered here');
    const delivered = paramsOf(sim, { Direction: 'to_sim', Status: 'delivered' });
    assert.equal(await post(sim, server.url, path, delivered, 'st-2'), 200);
    assert.equal(await post(sim, server.url, path, delivered, 'st-3'), 200);
    assert.equal((deliver as SinonSpy).callCount, 1);
    assert.equal(((deliver as SinonSpy).firstCall.args[0] as { status: string }).status, 'delivered');
  });

  it('without Redis settings the same flow emits the callback as before (the claim made in Redis is not consulted)', async function () {
    await load(false);
    const fromDevices = collectMessages('fromDevices');
    await claimedElsewhere('in', 'tok-1', paramsOf(sim));
    assert.equal(await post(sim, server.url, HOOK, paramsOf(sim), 'tok-1'), 200);
    await waitFor(() => fromDevices.length === 1, 3_000, 'the callback');
  });

  it('Redis down: the status says so, one warning is logged, callbacks are still emitted; once back, their claims are written', async function () {
    await load();
    const fromDevices = collectMessages('fromDevices');
    await fixture.server.kill();
    const node = helper.getNode('in');
    const statuses = (): { fill?: string; text?: string }[] => (node.status as unknown as SinonSpy).getCalls().map((c) => c.args[0] as { fill?: string; text?: string });
    await waitFor(() => statuses().some((s) => /Redis down/.test(String(s.text))), 10_000, 'the status to show the outage');
    assert.equal(await post(sim, server.url, HOOK, paramsOf(sim), 'tok-1'), 200);
    await waitFor(() => fromDevices.length === 1, 3_000, 'the callback accepted on local memory');
    await waitFor(() => /Redis down/.test(String(statuses().at(-1)?.text)), 3_000, 'the callback\'s status with the outage');
    await quietly(500);
    const warnings = logLines('in', 30).filter((line) => /Redis/.test(line));
    assert.equal(warnings.length, 1, warnings.join('\n'));

    await fixture.server.restart();
    await waitFor(() => !/Redis down/.test(String(statuses().at(-1)?.text)), 10_000, 'the status to clear');
    const deadline = Date.now() + 5_000;
    while ((await redisKeys()).length < 2 && Date.now() < deadline) await quietly(50);
    assert.equal((await redisKeys()).length, 2, 'the token and event accepted meanwhile are in Redis');
  });
});
