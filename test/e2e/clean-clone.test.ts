/**
 * A release from a fresh clone works: the repository copied as a clone has it (nothing built),
 * `npm ci`, `npm pack` with no build before it, the tarball installed into a new Node-RED user
 * directory as the palette manager installs it, and the Node-RED devDependency of that clone started
 * on it. Every node type package.json declares must load, enabled and without an error; before
 * `prepack` built the package, the tarball held no dist/ and every one failed with "Cannot find module".
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installPackage, startNodeRedProcess } from '../../scripts/start';
import type { NodeRedProcess } from '../../scripts/start';
import { cleanClonePack } from '../support/clean-clone';
import type { CleanClonePack } from '../support/clean-clone';
import { freePort } from '../support/net';

interface PackageJson {
  name: string;
  version: string;
  'node-red': { nodes: Record<string, string> };
}

interface NodeSet {
  id: string;
  module: string;
  version?: string;
  types: string[];
  enabled: boolean;
  loaded?: boolean;
  /** Why it failed to load: a string or { message, code }, depending on the Node-RED. */
  err?: unknown;
}

describe('a release packed from a clean clone', function () {
  // npm ci, a build and an install: about a minute on a busy two-core machine.
  this.timeout(300_000);

  let packed: CleanClonePack;
  let userDir: string;
  let nodeRed: NodeRedProcess;
  let pkg: PackageJson;

  before(async function () {
    packed = await cleanClonePack();
    pkg = JSON.parse(readFileSync(join(packed.dir, 'package.json'), 'utf8')) as PackageJson;
    userDir = mkdtempSync(join(tmpdir(), 'supersim-clean-clone-userdir-'));
    await installPackage(userDir, packed.tarball);
    nodeRed = await startNodeRedProcess({ port: await freePort(), userDir, nodeRedDir: join(packed.dir, 'node_modules', 'node-red'), flows: [] });
  });

  after(async function () {
    await nodeRed?.stop();
    if (userDir) rmSync(userDir, { recursive: true, force: true });
  });

  it('installs from the tarball, as a copy rather than a link to the repository', function () {
    const installed = join(userDir, 'node_modules', pkg.name);
    assert.ok(lstatSync(installed).isDirectory() && !lstatSync(installed).isSymbolicLink());
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { version: string };
    assert.equal(manifest.version, pkg.version);
  });

  it('loads every node type package.json declares, enabled and without an error', async function () {
    const response = await fetch(new URL('nodes', `${nodeRed.url}/`), { headers: { accept: 'application/json' } });
    assert.equal(response.status, 200);
    const sets = ((await response.json()) as NodeSet[]).filter((set) => set.module === pkg.name);
    const problems = sets.filter((set) => set.err !== undefined || !set.enabled || set.loaded === false).map((set) => `${set.id}: ${set.err === undefined ? 'not loaded or disabled' : JSON.stringify(set.err)}`);
    assert.deepEqual(problems, [], `Node-RED output:\n${nodeRed.logs()}`);
    assert.deepEqual(sets.flatMap((set) => set.types).sort(), Object.keys(pkg['node-red'].nodes).sort());
  });
});
