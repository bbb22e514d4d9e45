/**
 * Every admin endpoint this package adds refuses callers Node-RED's adminAuth has not let in. The
 * endpoints are found by loading every node the package declares and reading the admin app's routes,
 * so one added later is covered; each must be listed in ROUTES below with what it does, which decides
 * whether a user who may only read may call it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { NodeAPI } from '../../nodes/lib/red';
import { Simulator } from '../../src/simulator';
import { helper, sendNodeModules } from '../support/flows';
import { adminToken, startNodeRed, TEST_ADMIN_AUTH, TEST_PASSWORD } from '../support/node-red-process';
import type { NodeRedInstance } from '../support/node-red-process';

const PROJECT_ROOT = resolve(__dirname, '..', '..');

interface AdminRoute {
  method: string;
  path: string;
}

const ACCOUNT_ID = 'a0c0a70000000001';
const FLEET = 'default';
const WIRELESS_SIM = 'wireless-1';

/**
 * What an endpoint does: only a read-only one may answer a user with read permission alone, and one
 * that reads the account's own lists (the SIM picker) answers a reader, but 403 to a user without
 * supersim-account.read.
 */
type RouteKind = 'changes' | 'calls out' | 'reads the account' | 'read-only' | 'reads the commands' | 'clears the commands';

/** Each endpoint by `METHOD path`: what it does and a request that, were it acted on, would reach the API. */
const ROUTES: Record<string, { kind: RouteKind; request: (sim: Simulator) => { query?: Record<string, string>; body?: object } }> = {
  // Tests the credentials typed in the dialog against the API.
  'POST /supersim-account/test': {
    kind: 'calls out',
    request: (sim) => ({
      body: {
        id: ACCOUNT_ID,
        provider: 'kore',
        supersimUrl: sim.supersimUrl,
        wirelessUrl: sim.wirelessUrl,
        tokenUrl: sim.tokenUrl,
        credentials: { clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret },
      },
    }),
  },
  // A GET, yet it reads the fleet from the API with the deployed account's credentials.
  'GET /supersim-command-in/fleet': { kind: 'calls out', request: () => ({ query: { account: ACCOUNT_ID, fleet: FLEET, url: '/supersim/in' } }) },
  // Points the fleet's webhooks at a node.
  'POST /supersim-command-in/fleet': { kind: 'changes', request: () => ({ body: { account: ACCOUNT_ID, fleet: FLEET, url: '/supersim/in', ip: true } }) },
  // Points a Wireless SIM's Commands Callback URL at a node.
  'POST /supersim-command-in/wireless-sims': { kind: 'changes', request: () => ({ body: { account: ACCOUNT_ID, url: '/supersim/in', sim: WIRELESS_SIM } }) },
  // Has KORE create a webhook secret and stores it as the account's credential.
  'POST /supersim-account/:id/webhook-secret': { kind: 'changes', request: () => ({ body: { name: 'admin-endpoints test' } }) },
  // The SIM picker: the deployed account's SIMs and Fleets, read from the API.
  'GET /supersim-account/:id/sims': { kind: 'reads the account', request: () => ({ query: { q: 'sim' } }) },
  'GET /supersim-account/:id/fleets': { kind: 'reads the account', request: () => ({ query: { q: 'def' } }) },
  // The Commands sidebar's first rows: what this Node-RED's nodes sent and received (supersim-account.read).
  'GET /supersim-sidebar/commands': { kind: 'reads the commands', request: () => ({}) },
  // The sidebar's clear button: empties the runtime's list for every editor (supersim-account.write).
  'POST /supersim-sidebar/clear': { kind: 'clears the commands', request: () => ({}) },
};

/** TEST_ADMIN_AUTH and a user who may read flows but not accounts (`read` would include supersim-account.read). */
const ADMIN_AUTH = {
  ...TEST_ADMIN_AUTH,
  users: [...TEST_ADMIN_AUTH.users, { username: 'outsider', password: TEST_ADMIN_AUTH.users[0].password, permissions: ['flows.read'] }],
};

function kindOf(route: AdminRoute): RouteKind | undefined {
  return ROUTES[`${route.method} ${route.path}`]?.kind;
}

/** The runtime modules package.json declares (nodes and plugins), from their TypeScript sources (those that exist yet). */
function declaredNodeModules(): { types: string[]; modules: ((red: NodeAPI) => void)[] } {
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string>; plugins?: Record<string, string> } };
  const load = createRequire(__filename);
  const types: string[] = [];
  // The account module from the shared helpers, which records RED.httpNode like every other node test.
  const modules: ((red: NodeAPI) => void)[] = [sendNodeModules[0]];
  for (const type of Object.keys(pkg['node-red'].nodes)) {
    const source = join(PROJECT_ROOT, 'nodes', `${type}.ts`);
    if (!existsSync(source)) continue;
    types.push(type);
    if (type === 'supersim-account') continue;
    modules.push((load(source) as { default: (red: NodeAPI) => void }).default);
  }
  // A plugin's runtime adds endpoints too (the Commands sidebar's); the helper's RED has a plugins API.
  for (const plugin of Object.keys(pkg['node-red'].plugins ?? {})) {
    modules.push((load(join(PROJECT_ROOT, 'nodes', `${plugin}.ts`)) as { default: (red: NodeAPI) => void }).default);
  }
  return { types, modules };
}

interface RouteLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

async function packageAdminRoutes(): Promise<AdminRoute[]> {
  const { modules } = declaredNodeModules();
  await helper.load(modules, []);
  const app = (helper as unknown as { _httpAdmin: { _router: { stack: RouteLayer[] } } })._httpAdmin;
  const routes: AdminRoute[] = [];
  for (const layer of app._router.stack) {
    if (!layer.route) continue;
    for (const method of Object.keys(layer.route.methods)) routes.push({ method: method.toUpperCase(), path: layer.route.path });
  }
  await helper.unload();
  return routes;
}

describe('admin endpoints under adminAuth', function () {
  this.timeout(60_000);
  let routes: AdminRoute[];
  let sim: Simulator;
  let nodeRed: NodeRedInstance;
  let viewerToken: string;
  let outsiderToken: string;

  before(async function () {
    routes = await packageAdminRoutes();
    sim = await Simulator.start({ mode: 'kore', fleets: [{ uniqueName: FLEET }], sims: [{ uniqueName: WIRELESS_SIM, api: 'wireless' }, { uniqueName: 'sim-1', fleet: FLEET }] });
    // A deployed account, so that the endpoints which use one would call the simulator if they let the caller in.
    nodeRed = await startNodeRed({
      settings: {
        adminAuth: ADMIN_AUTH,
      },
      flows: [
        { id: ACCOUNT_ID, type: 'supersim-account', name: 'simulator', provider: 'kore', supersimUrl: sim.supersimUrl, wirelessUrl: sim.wirelessUrl, tokenUrl: sim.tokenUrl, webhookUrl: sim.webhookUrl, callbackBaseUrl: 'https://nodered.example.com' },
      ],
      credentials: { [ACCOUNT_ID]: { clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret } },
    });
    viewerToken = await adminToken(nodeRed, 'viewer', TEST_PASSWORD, 'read');
    outsiderToken = await adminToken(nodeRed, 'outsider', TEST_PASSWORD, 'flows.read');
  });

  after(async function () {
    await nodeRed?.stop();
    await sim?.close();
  });

  /** The route's request from ROUTES (a request with nothing in it for a route not listed there). */
  function call(route: AdminRoute, token?: string): Promise<Response> {
    const { query, body } = ROUTES[`${route.method} ${route.path}`]?.request(sim) ?? {};
    const url = new URL(route.path.replace(/^\//, '').replace(/:[^/]+/g, ACCOUNT_ID), nodeRed.adminUrl);
    for (const [name, value] of Object.entries(query ?? {})) url.searchParams.set(name, value);
    return fetch(url, {
      method: route.method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: route.method === 'GET' || route.method === 'HEAD' ? undefined : JSON.stringify(body ?? {}),
    });
  }

  it('finds the package’s admin endpoints (Test connection among them)', function () {
    assert.ok(
      routes.some((r) => r.method === 'POST' && r.path === '/supersim-account/test'),
      `routes found: ${JSON.stringify(routes)}`,
    );
    assert.ok(routes.some((r) => r.method === 'GET' && r.path === '/supersim-command-in/fleet'), `supersim-command-in has its fleet endpoint: ${JSON.stringify(routes)}`);
    assert.ok(routes.some((r) => r.method === 'GET' && r.path === '/supersim-account/:id/sims'), `the SIM picker's endpoint: ${JSON.stringify(routes)}`);
  });

  it('every one is listed with what it does, so its permission is checked by that and not by its method', function () {
    assert.deepEqual(routes.filter((route) => kindOf(route) === undefined).map((route) => `${route.method} ${route.path}`), [], 'add these to ROUTES');
  });

  it('every one answers 401 without a login, and does nothing', async function () {
    for (const route of routes) {
      const response = await call(route);
      await response.arrayBuffer();
      assert.equal(response.status, 401, `${route.method} ${route.path}`);
    }
    assert.equal(sim.stats.requests, 0, 'no endpoint reached the API');
  });

  it('every one that changes or calls out refuses a read-only user', async function () {
    const guarded = routes.filter((r) => kindOf(r) === 'changes' || kindOf(r) === 'calls out');
    assert.ok(guarded.some((r) => r.method === 'GET'), 'a GET that calls out is among them');
    for (const route of guarded) {
      const response = await call(route, viewerToken);
      await response.arrayBuffer();
      assert.equal(response.status, 401, `${route.method} ${route.path}`);
    }
    assert.equal(sim.stats.requests, 0, 'no endpoint reached the API');
  });

  it('the SIM picker’s endpoints answer 403 to a user without supersim-account.read, and a reader', async function () {
    const picker = routes.filter((r) => kindOf(r) === 'reads the account');
    assert.equal(picker.length, 2, 'sims and fleets');
    for (const route of picker) {
      const response = await call(route, outsiderToken);
      await response.arrayBuffer();
      assert.equal(response.status, 403, `${route.method} ${route.path}`);
    }
    assert.equal(sim.stats.requests, 0, 'no endpoint reached the API');
    for (const route of picker) {
      const response = await call(route, viewerToken);
      const text = await response.text();
      assert.equal(response.status, 200, `${route.method} ${route.path}: ${text}`);
      assert.ok((JSON.parse(text) as { suggestions: unknown[] }).suggestions.length > 0, `${route.method} ${route.path} suggests`);
    }
  });

  it('the Commands sidebar: its rows answer 403 to a user without supersim-account.read, its clear 403 to a reader', async function () {
    const snapshot = routes.find((r) => kindOf(r) === 'reads the commands');
    const clear = routes.find((r) => kindOf(r) === 'clears the commands');
    assert.ok(snapshot && clear, `the sidebar's endpoints: ${JSON.stringify(routes)}`);
    const refused = await call(snapshot, outsiderToken);
    assert.equal(refused.status, 403, 'a user who may read flows but not accounts');
    assert.doesNotMatch(await refused.text(), /rows/);
    const read = await call(snapshot, viewerToken);
    assert.equal(read.status, 200);
    assert.ok(Array.isArray((JSON.parse(await read.text()) as { rows: unknown }).rows), 'a reader gets the rows');
    for (const token of [outsiderToken, viewerToken]) {
      const response = await call(clear, token);
      await response.arrayBuffer();
      assert.equal(response.status, 403, 'only a user who may change accounts clears the list');
    }
  });

  it('a bad or expired bearer token is refused like none', async function () {
    for (const route of routes) {
      const response = await call(route, 'not-a-token');
      await response.arrayBuffer();
      assert.equal(response.status, 401, `${route.method} ${route.path}`);
    }
  });

  // Last, as it reaches the simulator: the refusals above are the permission's, not a request that would fail anyway.
  it('an administrator making the same requests is let in, and each one that calls out or changes reaches the API', async function () {
    const token = await adminToken(nodeRed, 'admin', TEST_PASSWORD);
    for (const route of routes) {
      const before = sim.stats.requests;
      const response = await call(route, token);
      const text = await response.text();
      assert.equal(response.status, kindOf(route) === 'clears the commands' ? 204 : 200, `${route.method} ${route.path}: ${text}`);
      // The picker's lists were read for the reader above, and are kept for 30 s.
      if (kindOf(route) === 'changes' || kindOf(route) === 'calls out') assert.ok(sim.stats.requests > before, `${route.method} ${route.path} reached the API`);
    }
  });
});
