import assert from 'node:assert/strict';
import { Account, joinPath, normaliseCallbackBaseUrl, tuningOf } from '../../src/account/account';

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
    assert.throws(() => normaliseCallbackBaseUrl('ftp://x'), /callbackBaseUrl/);
    assert.throws(() => normaliseCallbackBaseUrl('https://x/?q=1'), /without a query/);
    assert.equal(joinPath('/api/', '/supersim', 'status/', 'a1'), '/api/supersim/status/a1');
    const account = new Account('a3', { provider: 'twilio', callbackBaseUrl: 'https://nodered.example.com' }, { accountSid: 'AC1', authToken: 'token-value' });
    try {
      assert.equal(account.callbackUrl('/api'), 'https://nodered.example.com/api/supersim/status/a3');
      assert.equal(account.callbackUrl('/'), 'https://nodered.example.com/supersim/status/a3');
    } finally {
      await account.close();
    }
  });
});
