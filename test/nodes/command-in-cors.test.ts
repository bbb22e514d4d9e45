/**
 * httpNodeCors on command-in's route, compared with core http in under the very same settings: each
 * runs in a load of its own (core's OPTIONS handler would otherwise answer every preflight itself),
 * and the Access-Control-* headers of every request must be the same, header by header.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'undici';
import { Simulator } from '../../src/simulator';
import type { NodeAPI } from '../../nodes/lib/red';
import { accountFor, commandInModules, helper, serveHttpNode } from '../support/flows';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const coreHttpIn = require('@node-red/nodes/core/network/21-httpin.js') as (RED: NodeAPI) => void;

const PATH = '/cors/in';
const ALLOWED = 'https://allowed.example';
const DISALLOWED = 'https://elsewhere.example';
const CORS = { origin: /^https:\/\/allowed\.example$/, credentials: true, maxAge: 600 };

const agent = new Agent({ keepAliveTimeout: 1_000 });

type Headers = Record<string, string | undefined>;

/** The headers CORS decides: Access-Control-* and Vary, which says the answer depends on Origin. */
function corsHeadersOf(headers: IncomingHttpHeaders): Headers {
  const out: Headers = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('access-control-') || name === 'vary') out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

interface Exchange {
  label: string;
  method: 'OPTIONS' | 'POST';
  origin: string;
}

const EXCHANGES: Exchange[] = [
  { label: 'preflight from the allowed origin', method: 'OPTIONS', origin: ALLOWED },
  { label: 'preflight from another origin', method: 'OPTIONS', origin: DISALLOWED },
  { label: 'POST from the allowed origin', method: 'POST', origin: ALLOWED },
  { label: 'POST from another origin', method: 'POST', origin: DISALLOWED },
];

async function exchange(url: string, { method, origin }: Exchange): Promise<{ status: number; cors: Headers }> {
  const headers: Record<string, string> =
    method === 'OPTIONS'
      ? { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-custom' }
      : { origin, 'content-type': 'application/x-www-form-urlencoded' };
  const response = await request(url, { method, headers, body: method === 'POST' ? 'CommandSid=nope' : undefined, dispatcher: agent });
  await response.body.arrayBuffer();
  return { status: response.statusCode, cors: corsHeadersOf(response.headers) };
}

describe('supersim-command-in: httpNodeCors as core http in applies it', function () {
  this.timeout(20_000);
  let server: { url: string; close(): Promise<void> };
  let sim: Simulator;

  before(async function () {
    server = await serveHttpNode();
    sim = await Simulator.start({ mode: 'kore' });
    helper.settings({ httpNodeCors: CORS });
  });

  after(async function () {
    helper.settings({ httpNodeCors: undefined });
    await server.close();
    await sim.close();
    await agent.close();
  });

  afterEach(async function () {
    await helper.unload();
  });

  async function answersOf(): Promise<{ status: number; cors: Headers }[]> {
    const out = [];
    for (const item of EXCHANGES) out.push(await exchange(server.url + PATH, item));
    return out;
  }

  it('a RegExp origin with credentials and maxAge: the same Access-Control-* headers for preflight and POST, allowed origin or not', async function () {
    // commandInModules' account module records RED.httpNode, which serveHttpNode serves.
    await helper.load(
      [...commandInModules, coreHttpIn],
      [
        { id: 'tab', type: 'tab', label: 'core' },
        { z: 'tab', id: 'coreIn', type: 'http in', url: PATH, method: 'post', wires: [['coreOut']] },
        { z: 'tab', id: 'coreOut', type: 'http response', statusCode: '', headers: {}, wires: [] },
      ],
    );
    const core = await answersOf();
    await helper.unload();

    const account = accountFor(sim, { callbackBaseUrl: server.url });
    await helper.load(
      commandInModules,
      [{ id: 'tab', type: 'tab', label: 'supersim' }, account.node, { z: 'tab', id: 'in', type: 'supersim-command-in', account: 'account', url: PATH, wires: [[], []] }],
      { account: account.credentials },
    );
    const ours = await answersOf();

    // What core answers is what the cors package makes of these settings: check it is the case under test.
    assert.equal(core[0].cors['access-control-allow-origin'], ALLOWED);
    assert.equal(core[0].cors['access-control-allow-credentials'], 'true');
    assert.equal(core[0].cors['access-control-max-age'], '600');
    assert.equal(core[1].cors['access-control-allow-origin'], undefined);
    assert.equal(core[2].cors['access-control-allow-origin'], ALLOWED);
    EXCHANGES.forEach((item, index) => {
      assert.deepEqual(ours[index].cors, core[index].cors, item.label);
      if (item.method === 'OPTIONS') assert.deepEqual([ours[index].status, core[index].status], [204, 204], `${item.label}: answered by the preflight`);
    });
    // Ours refused the unsigned POST, core's flow answered it: CORS headers do not depend on that.
    assert.equal(ours[2].status, 403);
  });
});
