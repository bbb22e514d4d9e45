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

/** What an endpoint does: only a read-only one may answer a user with read permission alone. */
type RouteKind = 'changes' | 'calls out' | 'read-only';

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
};

function kindOf(route: AdminRoute): RouteKind | undefined {
  return ROUTES[`${route.method} ${route.path}`]?.kind;
}

/** The runtime modules package.json declares, from their TypeScript sources (those that exist yet). */
function declaredNodeModules(): { types: string[]; modules: ((red: NodeAPI) => void)[] } {
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
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

  before(async function () {
    routes = await packageAdminRoutes();
    sim = await Simulator.start({ mode: 'kore', fleets: [{ uniqueName: FLEET }] });
    // A deployed account, so that the endpoints which use one would call the simulator if they let the caller in.
    nodeRed = await startNodeRed({
      settings: {
        adminAuth: TEST_ADMIN_AUTH,
      },
      flows: [
        { id: ACCOUNT_ID, type: 'supersim-account', name: 'simulator', provider: 'kore', supersimUrl: sim.supersimUrl, wirelessUrl: sim.wirelessUrl, tokenUrl: sim.tokenUrl, callbackBaseUrl: 'https://nodered.example.com' },
      ],
      credentials: { [ACCOUNT_ID]: { clientId: sim.credentials.clientId, clientSecret: sim.credentials.clientSecret } },
    });
    viewerToken = await adminToken(nodeRed, 'viewer', TEST_PASSWORD, 'read');
  });

  after(async function () {
    await nodeRed?.stop();
    await sim?.close();
  });

  /** The route's request from ROUTES (a request with nothing in it for a route not listed there). */
  function call(route: AdminRoute, token?: string): Promise<Response> {
    const { query, body } = ROUTES[`${route.method} ${route.path}`]?.request(sim) ?? {};
    const url = new URL(route.path.replace(/^\//, '').replace(/:[^/]+/g, 'account'), nodeRed.adminUrl);
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
    const guarded = routes.filter((r) => kindOf(r) !== 'read-only');
    assert.ok(guarded.some((r) => r.method === 'GET'), 'a GET that calls out is among them');
    for (const route of guarded) {
      const response = await call(route, viewerToken);
      await response.arrayBuffer();
      assert.equal(response.status, 401, `${route.method} ${route.path}`);
    }
    assert.equal(sim.stats.requests, 0, 'no endpoint reached the API');
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
      assert.equal(response.status, 200, `${route.method} ${route.path}: ${text}`);
      if (kindOf(route) !== 'read-only') assert.ok(sim.stats.requests > before, `${route.method} ${route.path} reached the API`);
    }
  });
});
