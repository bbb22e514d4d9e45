import assert from 'node:assert/strict';
import { Account, normaliseCallbackBaseUrl, tuningOf } from '../../src/account/account';
import { joinPath } from '../../src/shared/text';

describe('account', function () {
  it('reads the operator’s tuning from settings, keeping only usable values', function () {
    assert.deepEqual(tuningOf(undefined), {});
    assert.deepEqual(tuningOf('fast'), {});
    assert.deepEqual(
      tuningOf({ timeouts: { connectMs: 500, headersMs: -1, bodyMs: 'x' }, retry: { maxAttempts: 2, extra: 9 }, maxInFlight: 4.5, maxQueue: 100 }),
      { timeouts: { connectMs: 500 }, retry: { maxAttempts: 2 }, maxInFlight: undefined, maxQueue: 100 },
    );
  });

  it('builds the client with the tuning', async function () {
    const account = new Account(
      'a1',
      { provider: 'twilio', supersimUrl: 'http://127.0.0.1:9' },
      { accountSid: 'AC1', authToken: 'token-value' },
      { maxInFlight: 1, maxQueue: 0, retry: { maxAttempts: 1 } },
    );
    try {
      const first = account.client.createSmsCommand({ sim: 'x', payload: 'y' });
      // One in flight and no queue: a second call is refused at once.
      await assert.rejects(account.client.createSmsCommand({ sim: 'x', payload: 'z' }), (err: Error & { kind?: string }) => err.kind === 'queue-full');
      await assert.rejects(first, (err: Error & { kind?: string; attempts?: number }) => err.kind === 'network' && err.attempts === 1);
    } finally {
      await account.close();
    }
  });

  it('says what to fix when the account cannot be used', function () {
    const account = new Account('a2', { provider: 'kore' }, { clientId: 'id' });
    assert.match(String(account.configError), /Client Secret/);
    assert.throws(() => account.client, /not usable.*Client Secret/);
  });

  it('checks the public base URL and builds callback URLs under httpNodeRoot', async function () {
    assert.equal(normaliseCallbackBaseUrl(' https://nodered.example.com/ '), 'https://nodered.example.com');
    assert.equal(normaliseCallbackBaseUrl(''), undefined);
    assert.throws(() => normaliseCallbackBaseUrl('ftp://x'), /Public URL must be an http\(s\) URL/);
    assert.throws(() => normaliseCallbackBaseUrl('not a url'), /Public URL must be an absolute http\(s\) URL/);
    assert.throws(() => normaliseCallbackBaseUrl('https://x/?q=1'), /Public URL must be an http\(s\) URL without a query/);
    assert.equal(joinPath('/api/', '/supersim', 'status/', 'a1'), '/api/supersim/status/a1');
    const account = new Account('a3', { provider: 'twilio', callbackBaseUrl: 'https://nodered.example.com' }, { accountSid: 'AC1', authToken: 'token-value' });
    try {
      assert.equal(account.callbackUrl('/api'), 'https://nodered.example.com/api/supersim/status/a3');
      assert.equal(account.callbackUrl('/'), 'https://nodered.example.com/supersim/status/a3');
    } finally {
      await account.close();
    }
  });

  it('caps the Public URL at 2048 characters, saying so by its label', function () {
    const base = 'https://nodered.example.com/';
    const longest = base + 'a'.repeat(2048 - base.length);
    assert.equal(normaliseCallbackBaseUrl(longest), longest);
    assert.throws(
      () => normaliseCallbackBaseUrl(`${longest}a`),
      (err: Error & { field?: string }) => err.field === 'callbackBaseUrl' && /^Public URL has 2049 characters; at most 2048 are allowed/.test(err.message),
    );
    const account = new Account('a4', { provider: 'twilio', callbackBaseUrl: `${longest}a` }, { accountSid: 'AC1', authToken: 'token-value' });
    assert.match(String(account.configError), /Public URL has 2049 characters/);
    assert.equal(account.receivesCallbacks, false);
  });

  it('trims slashes in linear time', function () {
    // A backtracking /\/+$/ needs minutes for runs this long (seconds for 40 000); a linear trim, milliseconds.
    this.timeout(2_000);
    const run = '/'.repeat(200_000);
    assert.equal(joinPath(`${run}api${run}`, `${run}x`), '/api/x');
    // A run that is not at the end is where backtracking starts over at every slash.
    assert.equal(joinPath(`a${run}b`, 'c'), `/a${run}b/c`);
    assert.equal(joinPath(run, run), '/');
    assert.equal(normaliseCallbackBaseUrl(`https://nodered.example.com${'/'.repeat(2000)}`), 'https://nodered.example.com');
  });

  it('says when KORE status callbacks arrive unsigned', async function () {
    const kore = { clientId: 'id', clientSecret: 'secret-value' };
    const cases: [string, ConstructorParameters<typeof Account>[1], ConstructorParameters<typeof Account>[2], boolean][] = [
      ['kore, Public URL, no secret', { provider: 'kore', callbackBaseUrl: 'https://n.example.com' }, kore, true],
      ['kore, Public URL, blank secret', { provider: 'kore', callbackBaseUrl: 'https://n.example.com' }, { ...kore, webhookSecret: ' ' }, true],
      ['kore, Public URL, secret', { provider: 'kore', callbackBaseUrl: 'https://n.example.com' }, { ...kore, webhookSecret: 'whsec' }, false],
      ['kore, no Public URL', { provider: 'kore' }, kore, false],
      ['twilio, Public URL', { provider: 'twilio', callbackBaseUrl: 'https://n.example.com' }, { accountSid: 'AC1', authToken: 'token-value' }, false],
    ];
    for (const [label, settings, credentials, unsigned] of cases) {
      const account = new Account('a5', settings, credentials);
      try {
        assert.equal(account.callbacksUnsigned, unsigned, label);
      } finally {
        await account.close();
      }
    }
  });

  it('remembers where it was deployed to send requests', async function () {
    const settings = { provider: 'kore', supersimUrl: 'http://127.0.0.1:1/s', wirelessUrl: '', tokenUrl: 'http://127.0.0.1:1/t', webhookUrl: 'http://127.0.0.1:1/w' };
    const account = new Account('a6', settings, { clientId: 'id', clientSecret: 'secret-value' });
    try {
      assert.deepEqual(account.endpoints, { supersimUrl: 'http://127.0.0.1:1/s', wirelessUrl: '', tokenUrl: 'http://127.0.0.1:1/t', webhookUrl: 'http://127.0.0.1:1/w' });
      assert.equal(account.client.webhookUrl, 'http://127.0.0.1:1/w', 'the Webhook API URL reaches the client');
    } finally {
      await account.close();
    }
  });

  it('can be closed twice (a failed deploy, then the next one)', async function () {
    const account = new Account('a7', { provider: 'twilio', supersimUrl: 'http://127.0.0.1:1/s' }, { accountSid: 'AC1', authToken: 'token-value' });
    // A request opens the origin's pool, which is what a second close used to trip over.
    await account.client.fetchIpCommand('HG' + '0'.repeat(32)).catch(() => undefined);
    await account.close();
    await account.close();
  });
});
