import { strict as assert } from 'node:assert';
import { connectRedis, redactedRedisUrl, redisSettingsOf, RedisUnavailable } from '../../src/shared-state';
import type { RedisHealth, SharedRedis } from '../../src/shared-state';
import { requireRedis, startRedisServer } from '../support/redis-server';
import type { RedisServer } from '../support/redis-server';

async function until(check: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('shared state: settings', function () {
  it('reads supersim.redis from settings.js, with the default prefix and lease', function () {
    assert.deepEqual(redisSettingsOf({ redis: { url: 'redis://127.0.0.1:6379' } }, {}), {
      url: 'redis://127.0.0.1:6379',
      keyPrefix: 'supersim:',
      leaseMs: 30_000,
    });
    assert.deepEqual(redisSettingsOf({ redis: { url: 'rediss://h.example:6380/2', keyPrefix: 'site-a:', leaseMs: 5000 } }, {}), {
      url: 'rediss://h.example:6380/2',
      keyPrefix: 'site-a:',
      leaseMs: 5000,
    });
  });

  it('falls back to SUPERSIM_REDIS_URL; settings.js wins over it; neither gives undefined', function () {
    const env = { SUPERSIM_REDIS_URL: 'redis://env.example:6379' };
    assert.equal(redisSettingsOf(undefined, env)?.url, 'redis://env.example:6379');
    assert.equal(redisSettingsOf({ redis: { keyPrefix: 'x:' } }, env)?.keyPrefix, 'x:');
    assert.equal(redisSettingsOf({ redis: { url: 'redis://set.example' } }, env)?.url, 'redis://set.example');
    assert.equal(redisSettingsOf(undefined, {}), undefined);
    assert.equal(redisSettingsOf({}, {}), undefined);
    assert.equal(redisSettingsOf({ redis: {} }, { SUPERSIM_REDIS_URL: '  ' }), undefined);
  });

  it('a URL that is not redis:// or rediss:// is refused naming the setting, without the password', function () {
    const cases: [unknown, NodeJS.ProcessEnv, RegExp][] = [
      [{ redis: { url: 'http://:pw-secret@h:6379' } }, {}, /supersim\.redis\.url in settings\.js must start with redis:\/\/ or rediss:\/\//],
      [{ redis: { url: 'not a url' } }, {}, /supersim\.redis\.url in settings\.js is not a URL/],
      [{ redis: { url: 42 } }, {}, /supersim\.redis\.url in settings\.js must be a string/],
      [undefined, { SUPERSIM_REDIS_URL: 'tcp://:pw-secret@h' }, /SUPERSIM_REDIS_URL must start with redis:\/\//],
      [{ redis: 'redis://h' }, {}, /supersim\.redis in settings\.js must be an object/],
      [{ redis: { url: 'redis://h', keyPrefix: 'a b' } }, {}, /keyPrefix/],
      [{ redis: { url: 'redis://h', leaseMs: 10 } }, {}, /leaseMs/],
      [{ redis: { url: 'redis://h/abc' } }, {}, /database/],
    ];
    for (const [settings, env, pattern] of cases) {
      assert.throws(() => redisSettingsOf(settings, env), (error: Error) => {
        assert.match(error.message, pattern);
        assert.doesNotMatch(error.message, /pw-secret/);
        return error instanceof TypeError || error instanceof RangeError;
      });
    }
  });

  it('redactedRedisUrl hides the password, keeps user, host, port and database', function () {
    assert.equal(redactedRedisUrl('redis://:s3cr%40t@127.0.0.1:6379'), 'redis://:***@127.0.0.1:6379');
    assert.equal(redactedRedisUrl('rediss://app:s3cret@h.example:6380/1'), 'rediss://app:***@h.example:6380/1');
    assert.equal(redactedRedisUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
    assert.doesNotMatch(redactedRedisUrl('redis//:s3cret@'), /s3cret/);
  });
});

describe('shared state: the connection (real redis-server)', function () {
  this.timeout(30_000);
  let server: RedisServer | undefined;
  const opened: SharedRedis[] = [];

  before(function () {
    requireRedis(this);
  });

  afterEach(async function () {
    await Promise.all(opened.splice(0).map((redis) => redis.close()));
    await server?.stop();
    server = undefined;
  });

  function open(url: string, lines: string[] = []): SharedRedis {
    const redis = connectRedis(redisSettingsOf({ redis: { url, keyPrefix: 't:' } }, {})!, {
      log: (line) => lines.push(`log ${line}`),
      warn: (line) => lines.push(`warn ${line}`),
      maxReconnectDelayMs: 200,
    });
    opened.push(redis);
    return redis;
  }

  it('connects with a password in the URL, and logs it only redacted', async function () {
    server = await startRedisServer({ password: 'pw-Secret-1' });
    const lines: string[] = [];
    const redis = open(server.url, lines);
    await until(() => redis.health === 'up', 'up');
    assert.equal(redis.key('idem', 'a', 'b'), 't:idem:a:b');
    await redis.run((client) => client.set(redis.key('k'), 'v'));
    assert.equal(await redis.run((client) => client.get('t:k')), 'v');
    assert.deepEqual(lines, [`log connected to redis://:***@127.0.0.1:${server.port} (password hidden)`]);
    assert.match(redis.instanceId, /^[0-9a-f-]{36}$/);
  });

  it('a wrong password: down with a reason that carries no password, and run() refuses', async function () {
    server = await startRedisServer({ password: 'right-one' });
    const lines: string[] = [];
    const redis = open(`redis://:wrong-one@127.0.0.1:${server.port}`, lines);
    await until(() => redis.health === 'down', 'down');
    await assert.rejects(redis.run((client) => client.ping()), RedisUnavailable);
    assert.ok(lines.length >= 1);
    for (const line of lines) assert.doesNotMatch(line, /wrong-one|right-one/);
  });

  it('kill and restart: health goes down then up, logged once each; run() rejects fast while down, no buffering', async function () {
    server = await startRedisServer();
    const lines: string[] = [];
    const events: RedisHealth[] = [];
    const redis = open(server.url, lines);
    redis.onHealth((health) => events.push(health));
    await until(() => redis.health === 'up', 'up');
    await server.kill();
    await until(() => redis.health === 'down', 'down');

    const started = Date.now();
    const attempts = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => redis.run((client) => client.set(`t:offline:${i}`, '1'))));
    assert.ok(Date.now() - started < 500, 'run() rejects at once while down');
    for (const attempt of attempts) {
      assert.equal(attempt.status, 'rejected');
      assert.ok((attempt as PromiseRejectedResult).reason instanceof RedisUnavailable);
    }
    await assert.rejects(redis.publish('t:chan', 'x'), RedisUnavailable);
    await new Promise((resolve) => setTimeout(resolve, 700)); // several failed reconnects: still one line
    await server.restart();
    await until(() => redis.health === 'up', 'up again');
    // Nothing asked for during the outage reached Redis afterwards.
    assert.deepEqual(await redis.run((client) => client.keys('t:offline:*')), []);
    assert.deepEqual(events, ['up', 'down', 'up']);
    assert.equal(lines.filter((line) => line.startsWith('warn Redis unreachable')).length, 1);
    assert.equal(lines.filter((line) => line.startsWith('log Redis is back')).length, 1);
  });

  it('a command that outlasts the timeout rejects with RedisUnavailable', async function () {
    server = await startRedisServer();
    const redis = connectRedis(redisSettingsOf({ redis: { url: server.url } }, {})!, { commandTimeoutMs: 300 });
    opened.push(redis);
    await until(() => redis.health === 'up', 'up');
    const started = Date.now();
    await assert.rejects(redis.run((client) => client.blPop('t:never', 2)), RedisUnavailable);
    assert.ok(Date.now() - started < 900);
    await assert.rejects(redis.run((client) => client.sendCommand(['BLPOP', 't:never', '2'])), RedisUnavailable);
  });

  it('a Redis error reply is passed on as itself, not as unavailable', async function () {
    server = await startRedisServer();
    const redis = open(server.url);
    await until(() => redis.health === 'up', 'up');
    await redis.run((client) => client.set('t:s', 'text'));
    await assert.rejects(redis.run((client) => client.hGet('t:s', 'f')), (error: Error) => !(error instanceof RedisUnavailable) && /WRONGTYPE/.test(error.message));
  });

  it('pub/sub across two connections, resubscribed after a restart, each message once', async function () {
    server = await startRedisServer();
    const a = open(server.url);
    const b = open(server.url);
    const got: string[] = [];
    const unsubscribe = await b.subscribe('t:route', (message) => got.push(message));
    await until(() => a.health === 'up' && b.health === 'up', 'both up');
    await until(() => {
      a.publish('t:route', 'ping').catch(() => undefined);
      return got.length > 0;
    }, 'first message');
    got.length = 0;
    await a.publish('t:route', 'one');
    await until(() => got.includes('one'), 'one');
    await server.kill();
    await until(() => a.health === 'down' && b.health === 'down', 'down');
    await server.restart();
    await until(() => a.health === 'up', 'a up');
    await until(() => {
      a.publish('t:route', 'after').catch(() => undefined);
      return got.includes('after');
    }, 'resubscribed');
    await new Promise((resolve) => setTimeout(resolve, 200));
    got.length = 0;
    await a.publish('t:route', 'two');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(got, ['two']);
    await unsubscribe();
    await a.publish('t:route', 'three');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(got, ['two']);
  });

  it('close() ends both connections; run() then refuses', async function () {
    server = await startRedisServer();
    const redis = open(server.url);
    await redis.subscribe('t:x', () => undefined);
    await until(() => redis.health === 'up', 'up');
    await redis.close();
    await assert.rejects(redis.run((client) => client.ping()), RedisUnavailable);
    const watcher = open(server.url);
    await until(() => watcher.health === 'up', 'watcher up');
    const clients = await watcher.run((client) => client.sendCommand<string>(['CLIENT', 'LIST']));
    assert.equal(clients.trim().split('\n').length, 1, 'only the watcher is still connected');
  });
});
