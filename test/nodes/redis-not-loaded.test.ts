/**
 * Users who configure no Redis pay nothing for it: with every node of the package deployed and no
 * supersim.redis setting (nor SUPERSIM_REDIS_URL), node-redis is never loaded. Checked in a child
 * process of its own (this file, run directly), because other test files of a mocha run load it.
 * The same probe with Redis configured must see it loaded, or the check proves nothing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import helper from 'node-red-node-test-helper';

const PROJECT_ROOT = resolve(__dirname, '..', '..');
const MARK = 'REDIS-PROBE ';

/** Paths in require.cache that belong to node-redis (the `redis` package or its `@redis/*` parts). */
function redisModulesLoaded(): string[] {
  const pattern = new RegExp(`node_modules\\${sep}(redis|@redis)\\${sep}`);
  return Object.keys(require.cache).filter((path) => pattern.test(path));
}

/** In the child: loads every node file of package.json, deploys one node of each type, prints what of node-redis got loaded. */
async function probe(withRedis: boolean): Promise<void> {
  helper.init(require.resolve('node-red'));
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
  const modules = Object.values(pkg['node-red'].nodes).map((file) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(join(PROJECT_ROOT, file)) as { default?: unknown } | ((RED: unknown) => void);
    return (typeof loaded === 'function' ? loaded : loaded.default) as (RED: unknown) => void;
  });
  helper.settings(withRedis ? { supersim: { redis: { url: 'redis://127.0.0.1:9' } } } : {});
  const z = 'tab';
  const node = (id: string, type: string, extra: Record<string, unknown> = {}) => ({ id, type, z, name: '', account: 'account', wires: [], ...extra });
  const flow = [
    { id: z, type: 'tab', label: 'all nodes' },
    { id: 'account', type: 'supersim-account', name: 'probe', provider: 'kore', supersimUrl: 'http://127.0.0.1:9', wirelessUrl: 'http://127.0.0.1:9', tokenUrl: 'http://127.0.0.1:9/token', callbackBaseUrl: 'http://127.0.0.1:9' },
    node('ip', 'supersim-ip-command', { sim: 'probe', devicePort: '6655', payloadType: 'text', track: true, trackTimeout: 30, waitAnswer: true, answerTimeout: 30, retryFor: 600, outputs: 3 }),
    node('sms', 'supersim-sms-command', { api: 'supersim', sim: 'probe', commandMode: 'text', includeSid: 'none', deliveryReceipt: false }),
    node('in', 'supersim-command-in', { url: '/probe' }),
    node('filter', 'supersim-status-filter', { statuses: [], maxCommands: 1000, store: '' }),
    node('sims', 'supersim-sims'),
    node('lookup', 'supersim-command-lookup'),
  ];
  const credentials = { account: { clientId: 'id', clientSecret: 'secret', webhookSecret: 'secret' } };
  await new Promise<void>((done) => helper.startServer(() => done()));
  await helper.load(modules as never, flow, credentials);
  // Whatever a node loads on its first tick or in its first status refresh.
  await new Promise((r) => setTimeout(r, 300));
  const types = flow.filter((n) => n.type !== 'tab').map((n) => (helper.getNode(n.id) ? n.type : `${n.type} (not created)`));
  console.log(MARK + JSON.stringify({ types, loaded: redisModulesLoaded() }));
  await helper.unload();
  await new Promise<void>((done) => helper.stopServer(() => done()));
  process.exit(0);
}

function runProbe(withRedis: boolean): Promise<{ types: string[]; loaded: string[] }> {
  const env = { ...process.env };
  delete env.SUPERSIM_REDIS_URL;
  delete env.NODE_V8_COVERAGE;
  return new Promise((resolvePromise, reject) => {
    execFile(process.execPath, ['--require', 'tsx/cjs', __filename, withRedis ? 'with-redis' : 'without-redis'], { cwd: PROJECT_ROOT, env, timeout: 30_000 }, (error, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith(MARK));
      if (line === undefined) return reject(new Error(`the probe printed no result${error ? `: ${error.message}` : ''}\n${stdout}\n${stderr}`));
      resolvePromise(JSON.parse(line.slice(MARK.length)) as { types: string[]; loaded: string[] });
    });
  });
}

if (require.main === module) {
  probe(process.argv[2] === 'with-redis').catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  describe('without Redis configured', function () {
    this.timeout(60_000);

    before(function () {
      for (const file of ['supersim-account.js', 'supersim-command-in.js']) {
        if (!existsSync(join(PROJECT_ROOT, 'dist', 'nodes', file))) throw new Error('dist/ is missing: run "npm run build" first');
      }
    });

    it('every node of the package deployed: node-redis is never loaded', async function () {
      const { types, loaded } = await runProbe(false);
      assert.ok(types.every((t) => !t.includes('not created')), `every node was created: ${types.join(', ')}`);
      assert.deepEqual(loaded, [], 'no module of redis or @redis/* in require.cache');
    });

    it('the same with supersim.redis set does load it, so the check above can fail', async function () {
      const { loaded } = await runProbe(true);
      assert.ok(loaded.some((path) => path.includes(`${sep}redis${sep}`)), `node-redis was loaded: ${loaded.slice(0, 3).join(', ')}`);
    });
  });
}
