import assert from 'node:assert/strict';
import express from 'express';
import type { Application, RequestHandler } from 'express';
import { EDITOR_PATHS, adminRouteAt } from '../../src/receiving';
import type { AppLike } from '../../src/receiving';

const answer: RequestHandler = (_req, res) => {
  res.end();
};

/**
 * The apps of a Node-RED as it composes them: a server app, the admin API at httpAdminRoot with the
 * editor and the admin routes as mounted sub-apps (whose routes Express hides from the parent), the
 * nodes' admin app (RED.httpAdmin) inside it, and the HTTP nodes' app (RED.httpNode) at httpNodeRoot.
 */
function nodeRed(httpAdminRoot: string, httpNodeRoot: string): { httpAdmin: Application; httpNode: Application; admin: Application } {
  const server = express();
  const admin = express();
  admin.use((_req, _res, next) => next());
  admin.use(express.json());
  admin.get('/auth/login', answer);
  admin.post('/auth/token', answer);
  const editor = express();
  editor.get('/', answer);
  editor.get('/icons/:module/:icon', answer);
  admin.use(editor);
  const api = express();
  api.get('/flows', answer);
  api.post('/flows', answer);
  admin.use(api);
  const httpAdmin = express();
  httpAdmin.get('/supersim-command-in/fleet', answer);
  const router = express.Router();
  router.post('/save/:id', answer);
  httpAdmin.use('/other-module', router);
  httpAdmin.use('/dashboard', express.static(__dirname));
  httpAdmin.get(/^\/by-regexp\/[a-z]+$/, answer);
  admin.use(httpAdmin);
  server.use(httpAdminRoot, admin);
  const httpNode = express();
  server.use(httpNodeRoot, httpNode);
  return { httpAdmin, httpNode, admin };
}

function at(apps: { httpAdmin: Application; httpNode: Application }, path: string): string | undefined {
  return adminRouteAt({ httpAdmin: apps.httpAdmin as unknown as AppLike, httpNode: apps.httpNode as unknown as AppLike }, path);
}

describe('receiving: paths the admin API serves', () => {
  it('with both roots "/": the editor, its admin API, the login routes and the nodes’ own admin routes', () => {
    const apps = nodeRed('/', '/');
    const cases: [string, RegExp][] = [
      ['/', /editor's own page/],
      ['/flows', /editor's \/flows/],
      ['/flows/', /editor's \/flows/],
      ['//flows', /editor's \/flows/],
      ['/FLOWS', /editor's \/flows/],
      ['/flows/state', /editor's \/flows/],
      ['/auth/token', /editor's \/auth/],
      ['/settings', /editor's \/settings/],
      ['/nodes/some-module', /editor's \/nodes/],
      ['/credentials/supersim-account/1', /editor's \/credentials/],
      ['/red/main.min.js', /editor's \/red/],
      ['/supersim-command-in/fleet', /the route \/supersim-command-in\/fleet/],
      ['/other-module/save/1', /the route \/other-module\/save\/:id/],
      ['/dashboard/x/y', /what is mounted at \/dashboard/],
      ['/by-regexp/abc', /the route \/by-regexp\/abc/],
    ];
    for (const [path, expected] of cases) assert.match(at(apps, path) ?? 'nothing', expected, path);
    for (const path of ['/hooks/in', '/supersim/commands', '/flowsx', '/authority', '/other-module/save', '/by-regexp/1', '/supersim-command-in']) {
      assert.equal(at(apps, path), undefined, path);
    }
  });

  it('reads routes added to the admin app itself, outside the editor’s list', () => {
    const apps = nodeRed('/', '/');
    assert.equal(at(apps, '/auth-strategy/callback'), undefined);
    apps.admin.get('/auth-strategy/callback', answer);
    assert.match(at(apps, '/auth-strategy/callback') ?? '', /the route \/auth-strategy\/callback/);
  });

  it('compares full server paths: an admin API under its own root meets only webhooks under that root', () => {
    const underAdmin = nodeRed('/admin', '/');
    assert.match(at(underAdmin, '/admin/flows') ?? '', /editor's \/admin\/flows/);
    assert.match(at(underAdmin, '/admin') ?? '', /editor's own page/);
    assert.match(at(underAdmin, '/admin/supersim-command-in/fleet') ?? '', /the route \/admin\/supersim-command-in\/fleet/);
    assert.equal(at(underAdmin, '/flows'), undefined);
    assert.equal(at(underAdmin, '/'), undefined);

    const nodesUnderApi = nodeRed('/', '/api');
    assert.equal(at(nodesUnderApi, '/flows'), undefined, 'served at /api/flows');
    assert.equal(at(nodesUnderApi, '/'), undefined, 'served at /api');

    const nested = nodeRed('/red', '/red/hooks');
    assert.equal(at(nested, '/flows'), undefined, 'served at /red/hooks/flows');
  });

  it('finds nothing when the admin API and the HTTP nodes are different servers (as in the test helper)', () => {
    const httpAdmin = express();
    httpAdmin.post('/flows', answer);
    assert.equal(at({ httpAdmin, httpNode: express() }, '/flows'), undefined);
  });

  it('lists the editor’s paths sorted, each once, as a path', () => {
    assert.deepEqual([...EDITOR_PATHS].sort(), [...new Set(EDITOR_PATHS)]);
    for (const path of EDITOR_PATHS) assert.match(path, /^\/[a-z.-]+$/);
  });
});
