import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PENDING_FORMAT, PENDING_VERSION, PendingStore, PendingStoreFullError } from '../../src/reaching/pending-store';
import type { PendingAttempt } from '../../src/reaching';

function attemptOf(id: string, attempt = 1): PendingAttempt {
  const now = Date.now();
  return {
    id,
    kind: 'ip',
    sim: 'thermostat-0042',
    request: { sim: 'thermostat-0042', payload: `{"setpoint":21.5,"mode":"heat","seq":${attempt}}`, devicePort: 6655, payloadType: 'text' },
    message: JSON.stringify({ _msgid: `m-${id}`, topic: 'thermostat/setpoint', payload: { setpoint: 21.5, mode: 'heat' }, sim: 'thermostat-0042', correlation: 'a'.repeat(64) }),
    attempt,
    stage: 'backoff',
    startedAt: now - 60_000,
    deadline: now + 3_600_000,
    attemptStartedAt: now - 30_000,
    sid: 'HG' + 'c'.repeat(32),
    simSid: 'HS' + 'd'.repeat(32),
    createdAt: now - 29_000,
    earlierSids: ['HG' + 'e'.repeat(32)],
    nextAttemptAt: now + 30_000,
    lastErrorCode: 30017,
    announced: true,
    followMs: 300_000,
  };
}

function isAttempt(value: unknown): value is PendingAttempt {
  const v = value as Partial<PendingAttempt>;
  return typeof v === 'object' && v !== null && typeof v.id === 'string' && typeof v.kind === 'string' && typeof v.attempt === 'number' && Array.isArray(v.earlierSids);
}

async function readStored(file: string): Promise<{ format: string; version: number; savedAt: string; records: PendingAttempt[] }> {
  return JSON.parse(await fs.readFile(file, 'utf8'));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('PendingStore: the durable record of pending attempts', function () {
  let dir: string;
  let file: string;
  const stores: PendingStore<PendingAttempt>[] = [];

  async function open(options: Partial<Parameters<typeof PendingStore.open<PendingAttempt>>[0]> = {}) {
    const opened = await PendingStore.open<PendingAttempt>({ file, maxRecords: 20_000, validate: isAttempt, ...options });
    stores.push(opened.store);
    return opened;
  }

  beforeEach(async function () {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'supersim-pending-'));
    file = path.join(dir, 'nested', 'node-1.json');
  });

  afterEach(async function () {
    for (const store of stores.splice(0)) await store.close().catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('starts empty without a file, creates the directory, and round-trips records across a reopen', async function () {
    const { store, records, problem } = await open();
    assert.deepEqual(records, []);
    assert.equal(problem, undefined);
    assert.equal((await fs.stat(path.dirname(file))).isDirectory(), true);
    const a = attemptOf('a');
    const b = attemptOf('b', 3);
    await Promise.all([store.put(a), store.put(b), store.put(attemptOf('c'))]);
    await store.delete('c');
    assert.equal(store.size, 2);
    assert.equal(store.has('a'), true);
    assert.equal(store.has('c'), false);
    assert.equal(store.get('b'), b, 'held as given, not a copy');
    assert.deepEqual([...store.values()], [a, b]);
    await store.close();

    const stored = await readStored(file);
    assert.equal(stored.format, PENDING_FORMAT);
    assert.equal(stored.format, 'node-red-contrib-supersim/pending');
    assert.equal(stored.version, PENDING_VERSION);
    assert.equal(stored.version, 1);
    assert.ok(Math.abs(Date.parse(stored.savedAt) - Date.now()) < 10_000);

    const reopened = await open();
    assert.equal(reopened.problem, undefined);
    assert.deepEqual(reopened.records, [a, b]);
    assert.equal(reopened.store.size, 2);
    assert.deepEqual(reopened.store.get('b'), b);
  });

  it('put replaces by id; its promise resolves only once the file holds that version', async function () {
    const { store } = await open();
    const seen: number[] = [];
    const first = store.put(attemptOf('a', 1)).then(async () => seen.push((await readStored(file)).records[0].attempt));
    const second = store.put(attemptOf('a', 2)).then(async () => seen.push((await readStored(file)).records[0].attempt));
    await Promise.all([first, second]);
    assert.deepEqual(seen, [2, 2]);
    await store.put(attemptOf('a', 3));
    const stored = await readStored(file);
    assert.equal(stored.records.length, 1);
    assert.equal(stored.records[0].attempt, 3);
    await store.delete('a');
    assert.deepEqual((await readStored(file)).records, []);
  });

  it('a put made while a write runs waits for the next write, which holds it', async function () {
    const { store } = await open({ minIntervalMs: 0 });
    const first = store.put(attemptOf('a'));
    await sleep(0); // the first write has started
    let laterResolved = false;
    const later = store.put(attemptOf('b')).then(async () => {
      laterResolved = true;
      assert.deepEqual((await readStored(file)).records.map((r) => r.id), ['a', 'b']);
    });
    await first;
    await later;
    assert.equal(laterResolved, true);
    assert.equal(store.writes, 2);
  });

  it('delete of an id that is not there resolves at once without a write', async function () {
    const { store } = await open();
    await store.delete('nothing');
    assert.equal(store.writes, 0);
  });

  it('is bounded: a new id past maxRecords throws PendingStoreFullError synchronously; replacing an id still works', async function () {
    const { store } = await open({ maxRecords: 3 });
    await Promise.all(['a', 'b', 'c'].map((id) => store.put(attemptOf(id))));
    assert.throws(
      () => store.put(attemptOf('d')),
      (err: unknown) => err instanceof PendingStoreFullError && err.limit === 3 && /at most 3/.test(err.message),
    );
    await store.put(attemptOf('b', 2));
    assert.equal(store.size, 3);
    await store.delete('a');
    await store.put(attemptOf('d'));
    assert.deepEqual((await readStored(file)).records.map((r) => r.id).sort(), ['b', 'c', 'd']);
  });

  it('batches: 1000 puts in one tick share one write', async function () {
    const { store } = await open();
    const promises: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) promises.push(store.put(attemptOf(`a${i}`)));
    await Promise.all(promises);
    assert.ok(store.writes >= 1 && store.writes <= 2, `writes: ${store.writes}`);
    assert.equal((await readStored(file)).records.length, 1000);
  });

  it('batches: a put every millisecond for a second costs about 20 writes', async function () {
    this.timeout(10_000);
    const { store } = await open();
    const promises: Promise<void>[] = [];
    const started = Date.now();
    let i = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        promises.push(store.put(attemptOf(`a${i % 200}`, i)));
        i++;
        if (Date.now() - started >= 1000) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    await Promise.all(promises);
    const elapsed = Date.now() - started;
    // One write at most every 50 ms, plus the one that takes the last puts.
    assert.ok(store.writes <= Math.ceil(elapsed / 50) + 1, `writes: ${store.writes} in ${elapsed} ms for ${i} puts`);
    assert.ok(store.writes >= 5, `writes: ${store.writes}`);
  });

  it('stretches the interval to 4× the last write’s duration', async function () {
    const { store } = await open({ minIntervalMs: 0 });
    for (let i = 0; i < 5000; i++) void store.put(attemptOf(`a${i}`));
    await store.flush();
    const duration = store.lastWriteMs;
    assert.ok(duration > 0, `a 5000-record write takes some time (${duration} ms)`);
    const startedAt = Date.now();
    const writes = store.writes;
    await store.put(attemptOf('a0', 2));
    assert.equal(store.writes, writes + 1);
    // The next write started no sooner than 4 × duration after the previous one started (some of it already passed).
    assert.ok(Date.now() - startedAt >= 4 * duration - duration - 5, `waited ${Date.now() - startedAt} ms after a ${duration} ms write`);
  });

  it('a failed write rejects the waiting puts, keeps the change, and a later write saves it; the previous file stays whole', async function () {
    const errors: Error[] = [];
    const { store } = await open({ onWriteError: (err) => errors.push(err) });
    await store.put(attemptOf('a', 1));
    // A directory where the temp file goes: the next write fails before the rename.
    await fs.mkdir(`${file}.tmp`);
    await assert.rejects(store.put(attemptOf('a', 2)), /EISDIR|EEXIST|illegal operation/i);
    assert.equal(errors.length, 1);
    assert.equal(store.get('a')?.attempt, 2, 'the change is kept');
    assert.equal((await readStored(file)).records[0].attempt, 1, 'the previous version is intact');
    const unwatched = store.put(attemptOf('b'));
    await assert.rejects(store.flush());
    await assert.rejects(unwatched);
    await fs.rmdir(`${file}.tmp`);
    await store.flush();
    const stored = await readStored(file);
    assert.equal(stored.records.find((r) => r.id === 'a')?.attempt, 2);
    assert.ok(stored.records.some((r) => r.id === 'b'));
  });

  it('a write that fails again and again is retried by itself, slower each time', async function () {
    this.timeout(10_000);
    const errors: Error[] = [];
    const { store } = await open({ onWriteError: (err) => errors.push(err) });
    await fs.mkdir(`${file}.tmp`);
    void store.put(attemptOf('a'));
    await sleep(1_300);
    // Right away, then after 1 s: not every 50 ms.
    assert.equal(errors.length, 2);
    await fs.rmdir(`${file}.tmp`);
    await sleep(2_200);
    assert.equal(store.writes, 1, 'the retry after 2 s succeeded without another put');
    assert.equal((await readStored(file)).records[0].id, 'a');
  });

  it('close flushes, then refuses changes; destroy removes the file and any temp file', async function () {
    const { store } = await open({ minIntervalMs: 10_000 });
    await store.put(attemptOf('a'));
    void store.put(attemptOf('b')); // waits 10 s for its write; close does not
    await store.close();
    assert.equal((await readStored(file)).records.length, 2);
    await assert.rejects(store.put(attemptOf('c')), /closed/);
    await assert.rejects(store.delete('a'), /closed/);

    const second = await open();
    await fs.writeFile(`${file}.tmp`, 'left over');
    await second.store.destroy();
    await assert.rejects(fs.stat(file), { code: 'ENOENT' });
    await assert.rejects(fs.stat(`${file}.tmp`), { code: 'ENOENT' });
    await assert.rejects(second.store.put(attemptOf('d')));
  });

  it('close while a write runs: a change made before it is saved, one made during it is refused, none waits forever', async function () {
    const { store } = await open({ minIntervalMs: 0 });
    for (let i = 0; i < 2000; i++) void store.put(attemptOf(`a${i}`));
    await sleep(0); // that write has started
    const before = store.put(attemptOf('before-close'));
    const closing = store.close();
    await assert.rejects(store.put(attemptOf('during-close')), /closed/);
    await closing;
    await before;
    const ids = new Set((await readStored(file)).records.map((r) => r.id));
    assert.equal(ids.size, 2001);
    assert.ok(ids.has('before-close') && !ids.has('during-close'));
  });

  it('destroy while changes wait: they are dropped, their promises reject, and no write recreates the file', async function () {
    const { store } = await open({ minIntervalMs: 200 });
    await store.put(attemptOf('a'));
    const waiting = store.put(attemptOf('b'));
    await store.destroy();
    await assert.rejects(waiting, /removed/);
    await sleep(300);
    await assert.rejects(fs.stat(file), { code: 'ENOENT' });
  });

  describe('a file it cannot use is set aside with a problem, and the store starts empty', function () {
    async function setAsideCase(content: string, expected: RegExp): Promise<void> {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, content);
      const { store, records, problem } = await open();
      assert.deepEqual(records, []);
      assert.equal(store.size, 0);
      assert.ok(problem !== undefined, 'a problem is reported');
      assert.match(problem, expected);
      const moved = (await fs.readdir(path.dirname(file))).filter((name) => name.startsWith('node-1.json.unreadable-'));
      assert.equal(moved.length, 1);
      assert.ok(problem.includes(path.join(path.dirname(file), moved[0])), `the problem names where it went: ${problem}`);
      assert.equal(await fs.readFile(path.join(path.dirname(file), moved[0]), 'utf8'), content, 'kept, not dropped');
      await assert.rejects(fs.stat(file), { code: 'ENOENT' });
      await store.put(attemptOf('fresh'));
      assert.equal((await readStored(file)).records.length, 1);
    }

    const valid = (over: Record<string, unknown>): string => JSON.stringify({ format: PENDING_FORMAT, version: 1, savedAt: new Date().toISOString(), records: [attemptOf('a')], ...over });

    it('corrupt JSON (cut short), without quoting its content', async function () {
      const content = valid({}).slice(0, 150);
      await setAsideCase(content, /not valid JSON/);
      const { problem } = await open();
      assert.equal(problem, undefined, 'the next open finds no file: nothing to report twice');
    });

    it('corrupt JSON: the problem never quotes the text (it holds users’ messages)', async function () {
      await setAsideCase('{"format": "node-red-contrib-supersim/pending", "secret-token-xyz": }', /^(?!.*secret-token-xyz).*$/s);
    });

    it('another format', async function () {
      await setAsideCase(valid({ format: 'something-else' }), /format "something-else"/);
    });

    it('a newer version', async function () {
      await setAsideCase(valid({ version: 2 }), /version 2.*newer/);
    });

    it('no records list, or not an object at all', async function () {
      await setAsideCase(valid({ records: 'many' }), /no list of records/);
    });

    it('a record the validator rejects', async function () {
      const bad = { ...attemptOf('b'), attempt: 'two' };
      await setAsideCase(valid({ records: [attemptOf('a'), bad] }), /record 2.*"b"/);
    });

    it('two records with one id', async function () {
      await setAsideCase(valid({ records: [attemptOf('a'), attemptOf('a')] }), /two records with the id "a"/);
    });

    it('an array instead of the object', async function () {
      await setAsideCase('[]', /not a pending attempts file/);
    });
  });

  it('a crash mid-write (SIGKILL of a process writing in a loop) leaves a whole previous or new version, never a torn one', async function () {
    this.timeout(30_000);
    const storeModule = path.resolve(__dirname, '../../src/reaching/pending-store.ts');
    const child = `
      const { PendingStore } = require(${JSON.stringify(storeModule)});
      (async () => {
        const { store } = await PendingStore.open({ file: ${JSON.stringify(file)}, maxRecords: 10000, minIntervalMs: 0 });
        process.send('ready');
        for (let round = 0; ; round++) {
          const puts = [];
          // About 2 MB a version: a write takes several write calls, so a kill often lands inside one.
          for (let i = 0; i < 1000; i++) puts.push(store.put({ id: 'r' + i, round, payload: 'x'.repeat(1800 + ((round * 7 + i) % 300)) }));
          await Promise.all(puts);
        }
      })();
    `;
    let versionsSeen = 0;
    for (let kill = 0; kill < 8; kill++) {
      const proc = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', child], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], cwd: path.resolve(__dirname, '../..') });
      let killed = false;
      const exited = new Promise<void>((resolve, reject) => {
        proc.once('exit', (code, signal) => (killed && signal === 'SIGKILL' ? resolve() : reject(new Error(`the writer exited by itself (${code ?? signal})`))));
      });
      await Promise.race([new Promise((resolve) => proc.once('message', resolve)), exited]);
      // A kill before the first version is whole leaves no file at all, which is right but tests nothing:
      // on a busy machine the first 2 MB can take longer than the wait below.
      for (let waited = 0; kill === 0 && !(await fs.stat(file).then(() => true, () => false)) && waited < 10_000; waited += 10) await sleep(10);
      await Promise.race([sleep(100 + kill * 37), exited]);
      killed = true;
      proc.kill('SIGKILL');
      await exited;
      const text = await fs.readFile(file, 'utf8');
      const stored = JSON.parse(text) as { format: string; records: { id: string; round: number }[] };
      assert.equal(stored.format, PENDING_FORMAT);
      assert.equal(stored.records.length, 1000);
      assert.equal(new Set(stored.records.map((r) => r.round)).size, 1, 'every record of one version');
      versionsSeen++;
      const { problem, records } = await PendingStore.open({ file, maxRecords: 10_000 });
      assert.equal(problem, undefined);
      assert.equal(records.length, 1000);
    }
    assert.equal(versionsSeen, 8);
  });

  it('opens a store of 10 000 realistic pending attempts well within 2 s', async function () {
    this.timeout(30_000);
    const { store } = await open();
    for (let i = 0; i < 10_000; i++) void store.put(attemptOf(`attempt-${i}`, (i % 5) + 1));
    await store.close();
    const bytes = (await fs.stat(file)).size;
    const started = process.hrtime.bigint();
    const { records, problem } = await open();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(`      opened 10 000 pending attempts (${(bytes / 1e6).toFixed(1)} MB) in ${ms.toFixed(0)} ms`);
    assert.equal(problem, undefined);
    assert.equal(records.length, 10_000);
    assert.ok(ms < 2000, `open took ${ms} ms`);
  });
});
