/**
 * What `npm publish` would upload from a fresh clone (the tarball test/support/clean-clone.ts packs
 * with no build before it, the one test/e2e/clean-clone.test.ts installs): exactly the files a user
 * needs (the compiled nodes and what they require, their editor files, locales and icons where
 * Node-RED looks for them, the examples, README, LICENSE, CHANGELOG), and the package.json fields the Node-RED flow
 * library checks (node-red-dev validate: license, repository/bugs, the node-red keyword, a
 * node-red.version that the current Node-RED satisfies, engines.node that its minimum Node satisfies,
 * few dependencies, an example for every node).
 *
 * Judgement calls: source maps are left out (they point at src/*.ts, which is not shipped, so they
 * map to nothing); declaration files only ship with a `types` entry point to serve. Type-only
 * modules, which tsc still emits as empty CommonJS files, are tolerated but not required.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, normalize, posix } from 'node:path';
import { installPackage } from '../../scripts/start';
import { cleanClonePack } from '../support/clean-clone';

const ROOT = join(__dirname, '..', '..');
const MODULE = 'node-red-contrib-supersim';

interface PackageJson {
  name: string;
  version: string;
  license?: string;
  keywords?: string[];
  repository?: { type?: string; url?: string } | string;
  bugs?: { url?: string } | string;
  homepage?: string;
  engines?: { node?: string };
  main?: string;
  types?: string;
  exports?: Record<string, string | { types?: string; default?: string }>;
  bin?: Record<string, string> | string;
  files?: string[];
  dependencies?: Record<string, string>;
  'node-red'?: { version?: string; nodes?: Record<string, string> };
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;

// ---- a small semver, enough for the ranges package.json files use ------------------------------

type Version = [number, number, number];

function parseVersion(text: string): Version {
  const match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+].*)?$/.exec(text.trim());
  if (!match) throw new Error(`not a version: ${text}`);
  return [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)];
}

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** `>=20.18.1`, `>=4.0.0 <6.0.0`, `^1.2.3`, `~1.2`, `1.x || >=3`; anything else throws rather than guess. */
export function satisfies(version: string, range: string): boolean {
  const v = parseVersion(version);
  return range.split('||').some((set) =>
    set
      .trim()
      .split(/\s+/)
      .filter((part) => part !== '')
      .every((comparator) => {
        const match = /^(>=|<=|>|<|=|\^|~)?\s*v?([\dx*.]+)$/.exec(comparator);
        if (!match) throw new Error(`unsupported range part: ${comparator}`);
        const [, op = '', raw] = match;
        const parts = raw.split('.');
        const wild = parts.findIndex((p) => p === 'x' || p === '*');
        const given = wild === -1 ? parts.length : wild;
        const base = parseVersion(parts.slice(0, Math.max(1, given)).join('.'));
        const c = compare(v, base);
        if (op === '>=') return c >= 0;
        if (op === '>') return c > 0;
        if (op === '<=') return c <= 0;
        if (op === '<') return c < 0;
        const upper: Version = op === '^' ? (base[0] > 0 ? [base[0] + 1, 0, 0] : [0, base[1] + 1, 0]) : given >= 2 ? [base[0], base[1] + 1, 0] : [base[0] + 1, 0, 0];
        if (op === '^' || op === '~' || given < 3) return c >= 0 && compare(v, upper) < 0;
        return c === 0;
      }),
  );
}

// ---- the tarball's file list -------------------------------------------------------------------

/** Where the packed files are read from: the clean clone, as `npm pack` built it. */
let packageDir: string;

const TYPE_ONLY = /^(?:"use strict";\s*)?(?:Object\.defineProperty\(exports, "__esModule", \{ value: true \}\);\s*)?(?:\/\/# sourceMappingURL=.*)?\s*$/;

/** What a compiled file requires: relative paths resolved within the package, bare module names. */
function requiresOf(file: string): { local: string[]; modules: string[] } {
  const text = readFileSync(join(packageDir, file), 'utf8');
  const local: string[] = [];
  const modules: string[] = [];
  for (const match of text.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)) {
    const spec = match[1];
    if (!spec.startsWith('.')) {
      modules.push(spec);
      continue;
    }
    const base = posix.join(posix.dirname(file), spec);
    const found = [base, `${base}.js`, `${base}/index.js`, `${base}.json`].find((candidate) => existsSync(join(packageDir, candidate)) && candidate.match(/\.(js|json)$/));
    if (!found) throw new Error(`${file} requires ${spec}, which is not built`);
    local.push(posix.normalize(found));
  }
  return { local, modules };
}

/** Every file reachable by require() from the entry points, and the bare modules they need. */
function requireGraph(entries: string[]): { files: Set<string>; modules: Set<string> } {
  const files = new Set<string>();
  const modules = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    if (!file.endsWith('.js')) continue;
    const found = requiresOf(file);
    for (const name of found.modules) modules.add(name);
    queue.push(...found.local);
  }
  return { files, modules };
}

function binEntries(): string[] {
  if (pkg.bin === undefined) return [];
  return typeof pkg.bin === 'string' ? [pkg.bin] : Object.values(pkg.bin);
}

/** The files the `exports` map lets a user require. */
function exportEntries(): string[] {
  return Object.values(pkg.exports ?? {})
    .map((target) => (typeof target === 'string' ? target : target.default))
    .filter((target): target is string => target !== undefined && target.endsWith('.js'))
    .map(clean);
}

function clean(path: string): string {
  return posix.normalize(path.replace(/^\.\//, ''));
}

function nodeSets(): { type: string; js: string; html: string; name: string }[] {
  return Object.entries(pkg['node-red']?.nodes ?? {}).map(([type, file]) => {
    const js = clean(file);
    return { type, js, html: js.replace(/\.js$/, '.html'), name: posix.basename(js, '.js') };
  });
}

describe('the published package', function () {
  this.timeout(60_000);

  let files: string[];

  before(async function () {
    // npm ci and a build in the clean clone, unless the install test made it already.
    this.timeout(300_000);
    const packed = await cleanClonePack();
    packageDir = packed.dir;
    files = packed.files;
  });

  it('holds exactly what a user needs', function () {
    const sets = nodeSets();
    // Plugins (the Commands sidebar) are loaded from node-red.plugins like nodes, with their .html and locales when present.
    const plugins = Object.values((pkg['node-red'] as { plugins?: Record<string, string> } | undefined)?.plugins ?? {}).map(clean);
    for (const plugin of plugins) {
      const name = posix.basename(plugin, '.js');
      for (const file of [plugin.replace(/\.js$/, '.html'), posix.join(posix.dirname(plugin), 'locales', 'en-US', `${name}.json`)]) {
        if (existsSync(join(packageDir, file))) sets.push({ type: name, js: plugin, html: file, name });
      }
    }
    const entries = [...plugins, ...sets.map((set) => set.js), ...binEntries().map(clean), ...exportEntries(), ...(pkg.main ? [clean(pkg.main)] : [])];
    const graph = requireGraph(entries.filter((entry) => existsSync(join(packageDir, entry))));
    const expected = new Set<string>(['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', ...graph.files]);
    for (const set of sets) {
      expected.add(set.html);
      for (const ext of ['json', 'html']) {
        const locale = posix.join(posix.dirname(set.js), 'locales', 'en-US', `${set.name}.${ext}`);
        if (existsSync(join(packageDir, locale))) expected.add(locale);
      }
    }
    const icons = posix.join(posix.dirname(sets[0].js), 'icons');
    for (const file of files) if (file.startsWith(`${icons}/`) && file.endsWith('.svg')) expected.add(file);
    for (const file of files) if (/^examples\/.+\.json$/.test(file)) expected.add(file);
    for (const file of files) if (/^extras\/.+\.json$/.test(file)) expected.add(file);
    for (const file of files) if (/^resources\//.test(file)) expected.add(file);
    if (pkg.types) for (const file of files) if (file.endsWith('.d.ts') && file.startsWith(posix.dirname(clean(pkg.types)))) expected.add(file);

    const typeOnly = (file: string): boolean => file.endsWith('.js') && TYPE_ONLY.test(readFileSync(join(packageDir, file), 'utf8'));
    const extra = files.filter((file) => !expected.has(file) && !typeOnly(file));
    const missing = [...expected].filter((file) => !files.includes(file)).sort();
    assert.deepEqual({ extra, missing }, { extra: [], missing: [] });

    assert.deepEqual(files.filter((file) => /(^|\/)(src|nodes|test|bench|scripts)\/.*\.ts$/.test(file) && !file.endsWith('.d.ts')), [], 'no TypeScript sources');
    assert.deepEqual(files.filter((file) => /^(test|bench|bench-results|coverage|docs|scripts|\.node-red|\.ci)\//.test(file)), [], 'no tests, benchmarks or tooling');
    assert.deepEqual(files.filter((file) => file.endsWith('.map')), [], 'no source maps: they point at sources that are not shipped');
    assert.deepEqual(files.filter((file) => file.endsWith('.d.ts') && !pkg.types), [], 'declarations only with a types entry point');
    for (const examples of files.filter((file) => file.startsWith('examples/'))) assert.ok(examples.endsWith('.json'), `${examples}: Node-RED lists only .json files as examples`);
  });

  it('main, types and bin point at files in the tarball', function () {
    for (const [field, path] of [['main', pkg.main], ['types', pkg.types], ...binEntries().map((bin) => ['bin', bin])] as [string, string | undefined][]) {
      if (path === undefined) continue;
      assert.ok(files.includes(clean(path)), `package.json ${field} is ${path}, which is not in the tarball`);
    }
  });

  it('the simulator has its own entry, and the main entry is the client alone, from an install', async function () {
    this.timeout(300_000);
    const { tarball } = await cleanClonePack();
    const dir = mkdtempSync(join(tmpdir(), 'supersim-exports-'));
    try {
      await installPackage(dir, tarball);
      const script = [
        `const main = require('${MODULE}');`,
        `const sim = require('${MODULE}/simulator');`,
        `const manifest = require('${MODULE}/package.json');`,
        'console.log(JSON.stringify({ main: Object.keys(main).sort(), sim: Object.keys(sim).sort(), name: manifest.name }));',
      ].join('\n');
      const out = execFileSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8' });
      const seen = JSON.parse(out) as { main: string[]; sim: string[]; name: string };
      assert.equal(seen.name, MODULE);
      assert.ok(seen.main.includes('SuperSimClient') && seen.main.includes('ApiError'), `main entry: ${seen.main.join(', ')}`);
      assert.deepEqual(seen.main.filter((name) => /^(Simulat|FaultInjector)/.test(name)), [], 'no simulator export in the main entry');
      for (const name of ['Simulator', 'SimulatedDevice', 'FaultInjector']) assert.ok(seen.sim.includes(name), `${MODULE}/simulator exports ${name}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every module the shipped code requires is a dependency or built into Node', function () {
    const sets = nodeSets();
    const graph = requireGraph([...sets.map((set) => set.js), ...binEntries().map(clean)].filter((entry) => existsSync(join(packageDir, entry))));
    const builtins = new Set(builtinModules);
    const undeclared = [...graph.modules].filter((name) => {
      const bare = name.startsWith('node:') ? name.slice(5) : name;
      if (builtins.has(bare) || builtins.has(bare.split('/')[0])) return false;
      const packageName = bare.startsWith('@') ? bare.split('/').slice(0, 2).join('/') : bare.split('/')[0];
      return !Object.hasOwn(pkg.dependencies ?? {}, packageName);
    });
    assert.deepEqual(undeclared, []);
    assert.ok(!Object.hasOwn(pkg.dependencies ?? {}, 'node-red'), 'node-red is never a dependency of a node module');
    assert.ok(Object.keys(pkg.dependencies ?? {}).length <= 6, 'the flow library asks for at most 6 dependencies');
  });

  it('every icon and resource an editor file names is where Node-RED looks for it', function () {
    for (const set of nodeSets()) {
      assert.ok(files.includes(set.html), `${set.html} is packed`);
      const html = readFileSync(join(packageDir, set.html), 'utf8');
      assert.match(html, new RegExp(`registerType\\(\\s*["']${set.type}["']`), `${set.html} registers ${set.type}`);
      const icons = [...html.matchAll(/\bicon\s*:\s*["']([^"']+)["']/g)].map((match) => match[1]);
      assert.ok(icons.length > 0, `${set.html} names an icon`);
      for (const icon of icons) {
        // "font-awesome/fa-x" and "node-red/x.svg" come with Node-RED; anything else from this module's icons folder.
        if (/^(font-awesome|node-red)\//.test(icon)) continue;
        const path = posix.join(posix.dirname(set.js), 'icons', icon);
        assert.ok(files.includes(path), `${set.html} uses icon ${icon}: ${path} must be in the tarball`);
      }
      for (const match of html.matchAll(/src=["']resources\/([^/"']+)\/([^"']+)["']/g)) {
        assert.equal(match[1], MODULE, `${set.html} loads a resource of another module: ${match[0]}`);
        assert.ok(files.includes(`resources/${match[2]}`), `${set.html} loads resources/${MODULE}/${match[2]}: resources/${match[2]} must be in the tarball`);
      }
      for (const ext of ['json', 'html']) {
        const locale = posix.join(posix.dirname(set.js), 'locales', 'en-US', `${set.name}.${ext}`);
        assert.ok(files.includes(locale), `${locale} (the labels and help of ${set.type}) is packed`);
      }
    }
  });

  it('meets the flow library\'s checks in package.json', function () {
    assert.equal(pkg.name, MODULE);
    assert.ok(pkg.license && pkg.license !== 'UNLICENSED', 'a license');
    assert.ok(files.includes('LICENSE'));
    assert.ok(pkg.keywords?.includes('node-red'), 'the node-red keyword, which the library indexes');
    const repository = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
    assert.match(repository ?? '', /^(git\+)?https:\/\/.+\.git$/, 'a repository URL');
    const bugs = typeof pkg.bugs === 'string' ? pkg.bugs : pkg.bugs?.url;
    assert.match(bugs ?? '', /^https:\/\//, 'a bugs URL');

    const range = pkg['node-red']?.version;
    assert.ok(range, 'node-red.version declares the Node-RED versions this runs on');
    const nodeRed4 = (JSON.parse(readFileSync(require.resolve('node-red/package.json'), 'utf8')) as { version: string; engines: { node: string } });
    assert.ok(satisfies(nodeRed4.version, range), `node-red.version ${range} takes the devDependency Node-RED ${nodeRed4.version}`);
    // The library checks against Node-RED's latest release; the compatibility run installs it into the cache.
    const cached = join(ROOT, '.compat-cache', 'node-red-5', 'node_modules', 'node-red', 'package.json');
    const nodeRed5 = existsSync(cached) ? (JSON.parse(readFileSync(cached, 'utf8')) as { version: string; engines: { node: string } }) : { version: '5.0.0', engines: { node: '>=22.9' } };
    assert.ok(satisfies(nodeRed5.version, range), `node-red.version ${range} takes Node-RED ${nodeRed5.version}`);

    const engines = pkg.engines?.node;
    assert.ok(engines, 'engines.node declared');
    const minimumOfLatest = /(\d+(?:\.\d+){0,2})/.exec(nodeRed5.engines.node)?.[1] ?? '';
    assert.ok(satisfies(minimumOfLatest, engines), `engines.node ${engines} takes Node ${minimumOfLatest}, the oldest Node-RED ${nodeRed5.version} runs on`);
    assert.ok(satisfies(process.version, engines), `engines.node ${engines} takes the Node running this (${process.version})`);
  });

  it('has an example for every node with a place in the palette', function () {
    const inPalette = nodeSets()
      .filter((set) => !/category:\s*["']config["']/.test(readFileSync(join(packageDir, set.html), 'utf8')))
      .map((set) => set.type);
    const used = new Set(
      files
        .filter((file) => file.startsWith('examples/'))
        .flatMap((file) => (JSON.parse(readFileSync(join(packageDir, normalize(file)), 'utf8')) as { type: string }[]).map((node) => node.type)),
    );
    assert.deepEqual(inPalette.filter((type) => !used.has(type)), []);
  });
});

describe('satisfies (the test\'s own semver)', function () {
  it('reads the ranges package.json files use', function () {
    assert.equal(satisfies('4.1.8', '>=4.0.0 <6.0.0'), true);
    assert.equal(satisfies('6.0.0', '>=4.0.0 <6.0.0'), false);
    assert.equal(satisfies('22.9.0', '>=20.18.1'), true);
    assert.equal(satisfies('20.18.0', '>=20.18.1'), false);
    assert.equal(satisfies('v20.20.2', '^20.17.0 || >=22.9.0'), true);
    assert.equal(satisfies('21.0.0', '^20.17.0 || >=22.9.0'), false);
    assert.equal(satisfies('1.4.9', '~1.4'), true);
    assert.equal(satisfies('1.5.0', '~1.4'), false);
    assert.equal(satisfies('3.2.0', '3.x'), true);
    assert.throws(() => satisfies('1.0.0', '1.0.0 - 2.0.0'));
  });
});
