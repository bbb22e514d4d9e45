/**
 * Real redis-server processes for the shared-state tests: each on its own free port on 127.0.0.1,
 * with no persistence and no config file, so tests never touch a system Redis. The server is Debian's
 * (installed by scripts/install-redis.sh), or REDIS_SERVER_PATH.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connectRedis } from '../../src/shared-state';
import type { ConnectOptions, RedisCommandClient, RedisSettings, SharedRedis } from '../../src/shared-state';
import { freePort } from './net';

export const REDIS_SERVER_PATH = process.env.REDIS_SERVER_PATH ?? '/usr/bin/redis-server';

const INSTALL_HINT = 'install it with "sudo bash scripts/install-redis.sh" (Debian\'s redis-server at /usr/bin/redis-server, or set REDIS_SERVER_PATH)';
const READY_TIMEOUT_MS = 10_000;

export interface RedisServer {
  port: number;
  /** redis://127.0.0.1:<port> (with the password when one was asked for). */
  url: string;
  /** Everything the server wrote so far. */
  logs(): string;
  /** SIGTERM and wait for the process to end. Safe to call twice. */
  stop(): Promise<void>;
  /** SIGKILL and wait: Redis goes away mid-run, as a crash or a network cut would look. */
  kill(): Promise<void>;
  /** Start again on the same port (after stop or kill); the data is gone, as no persistence is configured. */
  restart(): Promise<void>;
  /** Whether the process is running now. */
  readonly running: boolean;
}

export interface RedisServerOptions {
  /** `requirepass`: the url then carries it as `redis://:<password>@127.0.0.1:<port>`. */
  password?: string;
}

export function redisAvailable(): { ok: true } | { ok: false; reason: string } {
  try {
    accessSync(REDIS_SERVER_PATH, constants.X_OK);
  } catch {
    return { ok: false, reason: `no redis-server at ${REDIS_SERVER_PATH}` };
  }
  return { ok: true };
}

/**
 * For a mocha `before` hook: skips the suite when redis-server is missing, with how to install it; on
 * CI (`CI=true`) a missing server is a failure instead, never a silent skip.
 */
export function requireRedis(context: Mocha.Context): void {
  const availability = redisAvailable();
  if (availability.ok) return;
  const message = `shared-state tests need redis-server: ${availability.reason}; ${INSTALL_HINT}`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`      skipped: ${message}`);
  context.skip();
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';

  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'notice'];
  if (options.password !== undefined) args.push('--requirepass', options.password);

  const launch = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const started = spawn(REDIS_SERVER_PATH, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = started;
      const timer = setTimeout(() => {
        started.kill('SIGKILL');
        reject(new Error(`redis-server did not get ready on port ${port} in ${READY_TIMEOUT_MS} ms:\n${output}`));
      }, READY_TIMEOUT_MS);
      const onData = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        if (/Ready to accept connections/.test(output.slice(-4096))) {
          clearTimeout(timer);
          resolve();
        }
      };
      started.stdout?.on('data', onData);
      started.stderr?.on('data', onData);
      started.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      started.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (child === started) child = undefined;
        reject(new Error(`redis-server exited (${signal ?? code}) before it was ready:\n${output}`));
      });
    });

  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill(signal);
    });
    child = undefined;
  };

  await launch();
  const auth = options.password !== undefined ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    logs: () => output,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    restart: async () => {
      await end('SIGTERM');
      await launch();
    },
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
  };
}

/** Polls `condition` every 20 ms; fails naming `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface RedisFixture {
  /** The suite's server, started by the fixture's `before` hook. */
  readonly server: RedisServer;
  /** A new connection as one Node-RED instance has it (its own instanceId), once it is up; reset() closes it. */
  connect(): Promise<SharedRedis>;
  /** The test's own connection beside those under test: opened on first use, kept until reset(). */
  ownConnection(): Promise<SharedRedis>;
  /** The test's own look at Redis: `fn` on ownConnection() once it is up (it may be coming back from an outage). */
  admin<T>(fn: (client: RedisCommandClient) => Promise<T>): Promise<T>;
  /**
   * For an afterEach hook, after the test's own clean-up: the server started again if a test stopped it,
   * every connection from connect() closed, and Redis emptied, so no test sees another's keys.
   */
  reset(): Promise<void>;
}

/**
 * Registers, in the calling `describe`, the `before` hook that starts one redis-server for the suite
 * (skipping it as requireRedis does) and the `after` hook that stops it; the connections it gives
 * use `settings` and `options` with that server's url.
 */
export function redisFixture(settings: Omit<RedisSettings, 'url'>, options: ConnectOptions = {}): RedisFixture {
  let server: RedisServer | undefined;
  let ownOne: SharedRedis | undefined;
  const connections: SharedRedis[] = [];

  before(async function () {
    requireRedis(this);
    server = await startRedisServer();
  });
  after(async function () {
    for (const connection of connections.splice(0)) await connection.close();
    await server?.stop();
  });

  const whenUp = (redis: SharedRedis, what: string): Promise<void> => waitFor(() => redis.health === 'up', what);

  const fixture: RedisFixture = {
    get server(): RedisServer {
      if (server === undefined) throw new Error('the redis-server is started in the before hook: use it from hooks and tests');
      return server;
    },
    async connect() {
      const redis = connectRedis({ ...settings, url: fixture.server.url }, options);
      connections.push(redis);
      await whenUp(redis, 'the connection');
      return redis;
    },
    async ownConnection() {
      ownOne ??= await fixture.connect();
      return ownOne;
    },
    async admin(fn) {
      const own = await fixture.ownConnection();
      await whenUp(own, 'the admin connection');
      return own.run(fn);
    },
    async reset() {
      if (!fixture.server.running) await fixture.server.restart();
      for (const connection of connections.splice(0)) await connection.close();
      ownOne = undefined;
      await fixture.admin((client) => client.flushAll());
      for (const connection of connections.splice(0)) await connection.close();
      ownOne = undefined;
    },
  };
  return fixture;
}
