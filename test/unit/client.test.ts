import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import type { ServerResponse } from 'node:http';
import sinon from 'sinon';
import { ApiError, SuperSimClient, ClientConfigError } from '../../src/api';
import type { SuperSimClientOptions } from '../../src/api';
import { Simulator } from '../../src/simulator';
import type { SimulatorMode } from '../../src/simulator';
import { freePort, sendJson, startTestServer } from '../support/net';
import type { TestServer } from '../support/net';

const FAST_RETRY = { baseDelayMs: 10, maxDelayMs: 2_000 };

function credentialsOf(sim: Simulator): Partial<SuperSimClientOptions> {
  const c = sim.credentials;
  return sim.mode === 'kore' ? { clientId: c.clientId, clientSecret: c.clientSecret } : { accountSid: c.accountSid, authToken: c.authToken };
}

function clientFor(sim: Simulator, overrides: Partial<SuperSimClientOptions> = {}): SuperSimClient {
  return new SuperSimClient({
    provider: sim.mode,
    ...credentialsOf(sim),
    supersimUrl: sim.supersimUrl,
    wirelessUrl: sim.wirelessUrl,
    tokenUrl: sim.tokenUrl,
    retry: FAST_RETRY,
    ...overrides,
  });
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApiError, `expected an ApiError, got ${inspect(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterator) items.push(item);
  return items;
}

const IP_PATH = '/supersim/v1/IpCommands';

describe('SuperSimClient', function () {
  let sim: Simulator;
  let client: SuperSimClient | undefined;
  let extraServer: TestServer | undefined;
  let clock: sinon.SinonFakeTimers | undefined;

  afterEach(async function () {
    clock?.restore();
    clock = undefined;
    await client?.destroy();
    client = undefined;
    await extraServer?.close();
    extraServer = undefined;
    await sim?.close();
  });

  for (const mode of ['kore', 'twilio'] as SimulatorMode[]) {
    describe(`every operation against the simulator (${mode})`, function () {
      beforeEach(async function () {
        sim = await Simulator.start({
          mode,
          sims: [
            { uniqueName: 'thermostat' },
            { uniqueName: 'meter', api: 'wireless' },
          ],
        });
        client = clientFor(sim);
      });

      it('creates, fetches and lists IP Commands, following next_page_url', async function () {
        const created = await client!.createIpCommand({ sim: 'thermostat', payload: 'hello', devicePort: 6655, payloadType: 'text' });
        assert.match(created.sid, /^HG[0-9a-f]{32}$/i);
        assert.equal(created.status, 'queued');
        assert.equal(created.payload, 'hello');
        assert.equal(created.device_port, 6655);
        const fetched = await client!.fetchIpCommand(created.sid);
        assert.equal(fetched.sid, created.sid);
        for (let i = 0; i < 6; i++) await client!.createIpCommand({ sim: 'thermostat', payload: `m${i}`, devicePort: 6655 });
        const listed = await collect(client!.listIpCommands({ sim: 'thermostat', pageSize: 3 }));
        assert.equal(listed.length, 7);
        assert.equal(new Set(listed.map((c) => c.sid)).size, 7);
        // Three pages were read: 3 + 3 + 1.
        assert.equal(sim.stats.count('GET', IP_PATH), 3);
      });

      it('creates, fetches and lists SMS Commands', async function () {
        const created = await client!.createSmsCommand({ sim: 'thermostat', payload: 'reboot' });
        assert.match(created.sid, /^HC[0-9a-f]{32}$/i);
        assert.equal((await client!.fetchSmsCommand(created.sid)).payload, 'reboot');
        const listed = await collect(client!.listSmsCommands());
        assert.deepEqual(listed.map((c) => c.sid), [created.sid]);
      });

      it('creates, fetches, lists and deletes Wireless Commands', async function () {
        const created = await client!.createWirelessCommand({ sim: 'meter', command: 'AQID', commandMode: 'binary', deliveryReceiptRequested: false });
        assert.match(created.sid, /^DC[0-9a-f]{32}$/i);
        assert.equal(created.command_mode, 'binary');
        assert.equal(created.delivery_receipt_requested, false);
        assert.equal((await client!.fetchWirelessCommand(created.sid)).command, 'AQID');
        assert.equal((await collect(client!.listWirelessCommands({ sim: 'meter' }))).length, 1);
        await client!.deleteWirelessCommand(created.sid);
        const gone = await rejection(client!.fetchWirelessCommand(created.sid));
        assert.equal(gone.status, 404);
        assert.equal(gone.kind, 'api');
        assert.equal(gone.code, 20404);
      });

      it('fetches and updates a Fleet', async function () {
        const fleet = sim.fleet();
        const fetched = await client!.fetchFleet(fleet.sid);
        assert.equal(fetched.sid, fleet.sid);
        const updated = await client!.updateFleet(fleet.sid, {
          ipCommandsUrl: 'https://example.invalid/ip',
          ipCommandsMethod: 'GET',
          smsCommandsUrl: 'https://example.invalid/sms',
          smsCommandsMethod: 'POST',
        });
        assert.equal(updated.ip_commands_url, 'https://example.invalid/ip');
        assert.equal(updated.ip_commands_method, 'GET');
        assert.equal(updated.sms_commands_url, 'https://example.invalid/sms');
        assert.equal(sim.fleet(fleet.sid).ip_commands_url, 'https://example.invalid/ip');
      });

      it('maps an API refusal to an ApiError with status, code, message and more_info', async function () {
        const err = await rejection(client!.createIpCommand({ sim: 'no-such-sim', payload: 'x', devicePort: 1 }));
        assert.equal(err.status, 404);
        assert.equal(err.code, 20404);
        assert.equal(err.operation, 'createIpCommand');
        assert.equal(err.effect, 'none');
        assert.ok(err.apiMessage && err.message.includes(err.apiMessage));
        assert.ok(err.moreInfo && err.moreInfo.startsWith('https://'));
        // What the user can act on comes first, the provider's own words after it.
        assert.ok(err.message.startsWith('SIM no-such-sim is not in this account (HTTP 404, code 20404). The provider said: '), err.message);
        assert.ok(err.message.endsWith(`(${err.moreInfo})`));
      });

      it('verifies the credentials, and says when they are wrong', async function () {
        await client!.verifyCredentials();
        await client!.destroy();
        client = clientFor(sim, mode === 'kore' ? { clientSecret: 'wrong-secret-value' } : { authToken: 'wrong-token-value' });
        const err = await rejection(client.verifyCredentials());
        assert.equal(err.kind, 'auth');
        assert.equal(err.status, 401);
        assert.match(err.message, mode === 'kore' ? /Client ID and Client Secret/ : /Account SID and Auth Token/);
        assert.match(err.message, /^The provider refused the credentials \(HTTP 401, code 20003\): check the /);
        assert.doesNotMatch(err.message, /verifyCredentials|fetchToken/);
      });

      it('a 429 with Retry-After is waited out and retried; one command is created', async function () {
        sim.faults.add({ target: 'ipCommands', method: 'POST' }, { kind: 'status', status: 429, retryAfter: '1' });
        const started = Date.now();
        const created = await client!.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 1 });
        assert.ok(Date.now() - started >= 900, 'the Retry-After second was honoured');
        assert.equal(created.status, 'queued');
        assert.equal(sim.stats.count('POST', IP_PATH), 2);
        assert.equal(sim.stats.created.ip, 1);
      });

      it('a 500 on a create is reported, not retried: the simulator saw exactly one POST', async function () {
        sim.faults.add({ target: 'ipCommands', method: 'POST' }, { kind: 'status', status: 500 });
        const err = await rejection(client!.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 1 }));
        assert.equal(err.status, 500);
        assert.equal(err.effect, 'unknown');
        assert.match(err.message, /not sent again/);
        assert.equal(sim.stats.count('POST', IP_PATH), 1);
      });

      it('a reset after the create was written is reported, not retried', async function () {
        sim.faults.add({ target: 'ipCommands', method: 'POST' }, { kind: 'reset', when: 'after' });
        const err = await rejection(client!.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 1 }));
        assert.equal(err.kind, 'network');
        assert.equal(err.effect, 'unknown');
        assert.ok(err.networkCode);
        assert.equal(sim.stats.count('POST', IP_PATH), 1);
        assert.equal(sim.stats.created.ip, 1, 'the server did act on it, so a retry would have made a duplicate');
      });

      it('a timeout after the create was written is reported, not retried', async function () {
        await client!.destroy();
        client = clientFor(sim, { timeouts: { headersMs: 150 } });
        sim.faults.add({ target: 'ipCommands', method: 'POST' }, { kind: 'delay', ms: 1_000 });
        const err = await rejection(client.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 1 }));
        assert.equal(err.kind, 'timeout');
        assert.equal(err.networkCode, 'UND_ERR_HEADERS_TIMEOUT');
        assert.equal(err.effect, 'unknown');
        assert.equal(sim.stats.count('POST', IP_PATH), 1);
      });

      it('reads are retried on 5xx and resets', async function () {
        const created = await client!.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 1 });
        sim.faults.add({ target: 'ipCommands', method: 'GET' }, { kind: 'status', status: 503 });
        sim.faults.add({ target: 'ipCommands', method: 'GET' }, { kind: 'reset', when: 'before' });
        const fetched = await client!.fetchIpCommand(created.sid);
        assert.equal(fetched.sid, created.sid);
        assert.equal(sim.stats.count('GET', `${IP_PATH}/${created.sid}`), 3);
      });
    });
  }

  describe('KORE tokens', function () {
    beforeEach(async function () {
      sim = await Simulator.start({ mode: 'kore', sims: [{ uniqueName: 'thermostat' }] });
    });

    it('100 concurrent creates cause exactly one token request', async function () {
      client = clientFor(sim);
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => client!.createIpCommand({ sim: 'thermostat', payload: `n${i}`, devicePort: 1 })),
      );
      assert.equal(results.length, 100);
      assert.equal(sim.stats.tokenRequests, 1);
      assert.equal(client.tokenFetches, 1);
      assert.equal(sim.stats.created.ip, 100);
    });

    it('refreshes the token once it expires', async function () {
      clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
      client = clientFor(sim);
      await client.createIpCommand({ sim: 'thermostat', payload: 'a', devicePort: 1 });
      clock.tick(30 * 60_000);
      await client.createIpCommand({ sim: 'thermostat', payload: 'b', devicePort: 1 });
      assert.equal(sim.stats.tokenRequests, 1, 'a token halfway through its life is reused');
      clock.tick(31 * 60_000);
      await client.createIpCommand({ sim: 'thermostat', payload: 'c', devicePort: 1 });
      assert.equal(sim.stats.tokenRequests, 2, 'an expired token is replaced before use');
      assert.equal(sim.stats.count('POST', IP_PATH), 3, 'no request was refused for a stale token');
    });

    it('refreshes shortly before expiry rather than at it', async function () {
      clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
      client = clientFor(sim);
      await client.createIpCommand({ sim: 'thermostat', payload: 'a', devicePort: 1 });
      clock.tick(3_600_000 - 30_000);
      await client.createIpCommand({ sim: 'thermostat', payload: 'b', devicePort: 1 });
      assert.equal(sim.stats.tokenRequests, 2);
    });

    it('a 401 leads to one refresh, one retry and one created command', async function () {
      client = clientFor(sim);
      await client.verifyCredentials();
      sim.revokeTokens();
      const created = await client.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 1 });
      assert.equal(created.status, 'queued');
      assert.equal(sim.stats.tokenRequests, 2);
      assert.equal(sim.stats.count('POST', IP_PATH), 2);
      assert.equal(sim.stats.created.ip, 1);
    });

    it('a second 401 in a row is reported, not looped on', async function () {
      client = clientFor(sim);
      sim.faults.add({ target: 'ipCommands', method: 'POST', times: 2 }, { kind: 'status', status: 401, code: 20003 });
      const err = await rejection(client.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 1 }));
      assert.equal(err.kind, 'auth');
      assert.equal(sim.stats.count('POST', IP_PATH), 2);
      assert.equal(sim.stats.created.ip, 0);
    });

    it('a failing token endpoint is retried, and a refused one says which credentials to check', async function () {
      client = clientFor(sim);
      sim.faults.add({ target: 'token' }, { kind: 'status', status: 500 });
      await client.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 1 });
      assert.equal(sim.stats.tokenRequests, 2);

      await client.destroy();
      client = clientFor(sim, { clientSecret: 'not-the-secret' });
      sim.stats.reset();
      const err = await rejection(client.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 1 }));
      assert.equal(err.kind, 'auth');
      assert.equal(err.effect, 'none');
      assert.equal(err.operation, 'createIpCommand');
      assert.match(err.message, /^The provider refused the credentials \(HTTP 401, code 20003\): check the Client ID and Client Secret of the account node\. The provider said: /);
      assert.match(err.message, /Nothing was sent: creating the IP Command needs an access token first\.$/);
      assert.doesNotMatch(err.message, /fetchToken|createIpCommand/);
      assert.equal(sim.stats.count('POST', IP_PATH), 0);
    });
  });

  describe('connections', function () {
    it('a refused connection is retried until the server is up', async function () {
      const port = await freePort();
      client = new SuperSimClient({
        provider: 'kore',
        clientId: 'sim-client-id',
        clientSecret: 'sim-client-secret',
        supersimUrl: `http://127.0.0.1:${port}/supersim`,
        wirelessUrl: `http://127.0.0.1:${port}/wireless`,
        tokenUrl: `http://127.0.0.1:${port}/api-services/v1/auth/token`,
        retry: { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 400 },
      });
      const pending = client.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 1 });
      await new Promise((resolve) => setTimeout(resolve, 150));
      sim = await Simulator.start({ mode: 'kore', port, sims: [{ uniqueName: 'thermostat' }] });
      const created = await pending;
      assert.equal(created.status, 'queued');
      assert.equal(sim.stats.created.ip, 1);
      assert.equal(sim.stats.count('POST', IP_PATH), 1);
    });

    it('an unreachable host ends in a clear error saying nothing was sent', async function () {
      const port = await freePort();
      client = new SuperSimClient({
        provider: 'twilio',
        accountSid: 'AC00000000000000000000000000000000',
        authToken: 'an-auth-token-value',
        supersimUrl: `http://127.0.0.1:${port}`,
        retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 10 },
      });
      const err = await rejection(client.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 1 }));
      assert.equal(err.kind, 'network');
      assert.equal(err.networkCode, 'ECONNREFUSED');
      assert.equal(err.effect, 'none');
      assert.equal(err.attempts, 3);
      assert.match(err.message, /^Could not reach 127\.0\.0\.1:\d+: check the Super SIM API URL of the account node .*\(the connection was refused, ECONNREFUSED, 3 attempts\)\. Nothing was sent\.$/);
    });

    it('a full queue fails at once with a clear error', async function () {
      sim = await Simulator.start({ mode: 'twilio', sims: [{ uniqueName: 'thermostat' }] });
      client = clientFor(sim, { maxInFlight: 2, maxQueue: 3 });
      sim.faults.add({ target: 'ipCommands', method: 'POST', times: 2 }, { kind: 'delay', ms: 300 });
      const send = (i: number) => client!.createIpCommand({ sim: 'thermostat', payload: `q${i}`, devicePort: 1 });
      const accepted = [0, 1, 2, 3, 4].map(send);
      const err = await rejection(send(5));
      assert.equal(err.kind, 'queue-full');
      assert.equal(err.effect, 'none');
      assert.match(err.message, /3 requests are already waiting/);
      // Still 2 + 3: the refusal did not wait for a slot to free up.
      assert.equal(client.inFlight, 2);
      assert.equal(client.queued, 3);
      const results = await Promise.all(accepted);
      assert.equal(results.length, 5);
      assert.equal(sim.stats.created.ip, 5);
    });

    it('close() fails queued requests, lets requests on the wire finish and refuses new ones', async function () {
      sim = await Simulator.start({ mode: 'twilio', sims: [{ uniqueName: 'thermostat' }] });
      client = clientFor(sim, { maxInFlight: 1 });
      sim.faults.add({ target: 'ipCommands', method: 'POST' }, { kind: 'delay', ms: 200 });
      const onTheWire = client.createIpCommand({ sim: 'thermostat', payload: 'a', devicePort: 1 });
      const waiting = client.createIpCommand({ sim: 'thermostat', payload: 'b', devicePort: 1 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const closing = client.close();
      const waitingErr = await rejection(waiting);
      assert.equal(waitingErr.kind, 'closed');
      assert.equal(waitingErr.effect, 'none');
      assert.equal((await onTheWire).status, 'queued');
      await closing;
      const lateErr = await rejection(client.createIpCommand({ sim: 'thermostat', payload: 'c', devicePort: 1 }));
      assert.equal(lateErr.kind, 'closed');
      assert.equal(sim.stats.created.ip, 1);
    });

    it('close() cancels a retry that is waiting out a Retry-After', async function () {
      sim = await Simulator.start({ mode: 'twilio', sims: [{ uniqueName: 'thermostat' }] });
      client = clientFor(sim);
      sim.faults.add({ target: 'ipCommands', method: 'POST' }, { kind: 'status', status: 429, retryAfter: '30' });
      const pending = client.createIpCommand({ sim: 'thermostat', payload: 'a', devicePort: 1 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = Date.now();
      await client.close();
      const err = await rejection(pending);
      assert.ok(Date.now() - started < 1_000);
      assert.equal(err.kind, 'closed');
      assert.equal(err.effect, 'none');
      assert.equal(sim.stats.created.ip, 0);
    });

    it('does not follow a next_page_url that leaves the configured API', async function () {
      extraServer = await startTestServer((_req, res) =>
        sendJson(res, 200, { ip_commands: [], meta: { key: 'ip_commands', next_page_url: 'http://127.0.0.2:9/v1/IpCommands?PageToken=x' } }),
      );
      client = new SuperSimClient({ provider: 'twilio', accountSid: 'AC1', authToken: 'token-value-123', supersimUrl: extraServer.url });
      const err = await rejection(collect(client.listIpCommands()));
      assert.equal(err.kind, 'invalid-response');
      assert.match(err.message, /outside the configured API/);
      assert.equal(extraServer.requests.length, 1);
    });

    it('rejects bad configuration with the field at fault', function () {
      assert.throws(() => new SuperSimClient({ provider: 'kore', clientId: 'id' }), (err: unknown) => err instanceof ClientConfigError && err.field === 'clientSecret');
      assert.throws(
        () => new SuperSimClient({ provider: 'twilio', accountSid: 'AC1', authToken: 't', supersimUrl: 'ftp://x' }),
        (err: unknown) => err instanceof ClientConfigError && err.field === 'supersimUrl',
      );
      assert.throws(
        () => new SuperSimClient({ provider: 'twilio', accountSid: 'AC1', authToken: 't', supersimUrl: 'https://user:pw@host' }),
        (err: unknown) => err instanceof ClientConfigError && err.field === 'supersimUrl',
      );
    });
  });

  describe('hardening', function () {
    const twilioOptions = { provider: 'twilio', accountSid: 'AC1', authToken: 'twilio-auth-token-value', retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 10 } } as const;
    const TWO_MB = 2 * 1024 * 1024;
    const OPERATION_NAMES = /createIpCommand|createSmsCommand|fetchToken|verifyCredentials|fetchFleet|listIpCommands/;

    /** Writes `bytes` of a JSON string in 64 KiB chunks, with or without announcing the length first. */
    function sendHuge(res: ServerResponse, status: number, bytes: number, announce: boolean): void {
      res.writeHead(status, { 'content-type': 'application/json', ...(announce ? { 'content-length': String(bytes) } : {}) });
      res.on('error', () => undefined);
      const chunk = Buffer.alloc(64 * 1024, 'a');
      let left = bytes - 2;
      res.write('"');
      const more = (): void => {
        while (left > 0 && !res.destroyed) {
          const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
          left -= part.length;
          if (!res.write(part)) return void res.once('drain', more);
        }
        if (!res.destroyed) res.end('"');
      };
      more();
    }

    it('refuses a URL over 2048 characters, naming the field by its label, and trims trailing slashes', function () {
      const long = `https://api.example.com/${'/'.repeat(40_000)}`;
      assert.throws(
        () => new SuperSimClient({ ...twilioOptions, supersimUrl: long }),
        (err: unknown) =>
          err instanceof ClientConfigError && err.field === 'supersimUrl' && /^The Super SIM API URL is 40024 characters long; at most 2048/.test(err.message),
      );
      assert.throws(
        () => new SuperSimClient({ ...twilioOptions, wirelessUrl: `https://x.example/${'a'.repeat(2100)}` }),
        (err: unknown) => err instanceof ClientConfigError && err.field === 'wirelessUrl' && err.message.includes('Wireless API URL'),
      );
      const trimmed = new SuperSimClient({ ...twilioOptions, supersimUrl: `https://api.example.com/base${'/'.repeat(1_000)}` });
      assert.equal(trimmed.supersimUrl, 'https://api.example.com/base');
    });

    it('configuration errors name fields by their editor labels, never by option names', function () {
      const cases: [Partial<SuperSimClientOptions>, RegExp][] = [
        [{ supersimUrl: 'ftp://x' }, /^The Super SIM API URL must start with http:\/\/ or https:\/\//],
        [{ wirelessUrl: 'not a url' }, /^The Wireless API URL must be an absolute/],
        [{ supersimUrl: 'https://user:pw@host' }, /^The Super SIM API URL must not carry a user name or password/],
      ];
      for (const [options, pattern] of cases) {
        assert.throws(
          () => new SuperSimClient({ ...twilioOptions, ...options }),
          (err: unknown) => err instanceof ClientConfigError && pattern.test(err.message) && !/supersimUrl|wirelessUrl|tokenUrl/.test(err.message),
        );
      }
      assert.throws(
        () => new SuperSimClient({ provider: 'kore', clientId: 'id', clientSecret: 'secret-value', tokenUrl: 'mailto:x' }),
        (err: unknown) => err instanceof ClientConfigError && err.field === 'tokenUrl' && /^The Token URL must start with http/.test(err.message),
      );
    });

    it('caps PageSize at each list endpoint’s documented maximum', async function () {
      extraServer = await startTestServer((req, res) => {
        const key = req.url?.includes('/IpCommands') ? 'ip_commands' : req.url?.includes('/SmsCommands') ? 'sms_commands' : 'commands';
        sendJson(res, 200, { [key]: [], meta: { key, next_page_url: null } });
      });
      client = new SuperSimClient({ ...twilioOptions, supersimUrl: extraServer.url, wirelessUrl: `${extraServer.url}/wireless` });
      await collect(client.listIpCommands({ pageSize: 5000 }));
      await collect(client.listSmsCommands({ pageSize: 5000 }));
      await collect(client.listWirelessCommands({ pageSize: 5000 }));
      await collect(client.listSmsCommands({ pageSize: 20 }));
      const sizes = extraServer.requests.map((r) => new URL(r.url, 'http://x').searchParams.get('PageSize'));
      assert.deepEqual(sizes, ['100', '1000', '100', '20']);
    });

    it('redacts an error body before cutting it, so a secret across the cut leaks no prefix', async function () {
      // The snippet keeps 200 characters: the token starts at 190 and ends past the cut.
      extraServer = await startTestServer((_req, res) => {
        res.writeHead(400, { 'content-type': 'text/html' });
        res.end(`${'x'.repeat(190)}twilio-auth-token-value${'y'.repeat(100)}`);
      });
      client = new SuperSimClient({ ...twilioOptions, supersimUrl: extraServer.url });
      const err = await rejection(client.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 1 }));
      assert.equal(err.status, 400);
      assert.ok(!err.message.includes('twilio-aut'), err.message);
      assert.match(err.message, /\[redacted\]/);
    });

    for (const announce of [true, false]) {
      const how = announce ? 'with a Content-Length' : 'chunked';
      it(`a create answered with 2 MB (${how}) fails with a clear error, effect done, and is not sent again`, async function () {
        extraServer = await startTestServer((_req, res) => sendHuge(res, 201, TWO_MB, announce));
        client = new SuperSimClient({ ...twilioOptions, supersimUrl: extraServer.url });
        const err = await rejection(client.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 1 }));
        assert.equal(err.kind, 'invalid-response');
        assert.equal(err.effect, 'done');
        assert.equal(err.status, 201);
        assert.match(err.message, /^The provider's answer to creating the IP Command is larger than 1048576 bytes \(1 MB\), so it was not read/);
        assert.match(err.message, /the IP Command was created, but it was not sent again/);
        assert.equal(extraServer.requests.length, 1);
      });
    }

    it('an error answer of 2 MB, and a token answer of 2 MB, end in errors that say so', async function () {
      extraServer = await startTestServer((req, res) => sendHuge(res, req.url === '/token' ? 200 : 400, TWO_MB, false));
      client = new SuperSimClient({ ...twilioOptions, supersimUrl: extraServer.url });
      const err = await rejection(client.fetchIpCommand('HG00000000000000000000000000000000'));
      assert.equal(err.status, 400);
      assert.match(err.message, /The provider said: an answer larger than 1048576 bytes, not read/);
      await client.destroy();
      const before = extraServer.requests.length;

      client = new SuperSimClient({ provider: 'kore', clientId: 'id', clientSecret: 'secret-value', supersimUrl: extraServer.url, tokenUrl: `${extraServer.url}/token`, retry: { maxAttempts: 1 } });
      const tokenErr = await rejection(client.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 1 }));
      assert.equal(tokenErr.effect, 'none');
      assert.match(tokenErr.message, /^The provider's answer to getting an access token is larger than 1048576 bytes/);
      assert.match(tokenErr.message, /Nothing was sent: creating the IP Command needs an access token first/);
      assert.deepEqual(extraServer.requests.slice(before).map((r) => r.url), ['/token'], 'only the token was asked for');
    });

    it('error messages lead with what to do and never name internal operations', async function () {
      sim = await Simulator.start({ mode: 'twilio', sims: [{ uniqueName: 'thermostat' }] });
      client = clientFor(sim, { retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 10 } });
      sim.faults.add({ target: 'ipCommands', method: 'POST', times: 1 }, { kind: 'status', status: 500 });
      const serverError = await rejection(client.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 1 }));
      assert.match(serverError.message, /^The provider had an error while creating the IP Command \(HTTP 500[,)].*the IP Command may have been created anyway: it was not sent again/);
      sim.faults.add({ target: 'ipCommands', method: 'POST', times: 2 }, { kind: 'status', status: 429 });
      const limited = await rejection(client.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 1 }));
      assert.match(limited.message, /^The provider is rate limiting this account \(HTTP 429[,)].*still refused after 2 attempts/);
      const missing = await rejection(client.fetchSmsCommand('HC00000000000000000000000000000000'));
      assert.match(missing.message, /^SMS Command HC0+ is not in this account \(HTTP 404, code 20404\)/);
      const fleet = await rejection(client.fetchFleet('nope'));
      assert.match(fleet.message, /^Fleet nope is not in this account/);
      for (const err of [serverError, limited, missing, fleet]) assert.doesNotMatch(err.message, OPERATION_NAMES);
      assert.equal(serverError.operation, 'createIpCommand', 'the operation stays a property for flows');
    });
  });

  describe('secrets', function () {
    const secrets = ['kore-client-secret-value', 'twilio-auth-token-value'];

    function assertNoSecret(label: string, text: string, extra: string[] = []): void {
      for (const secret of [...secrets, ...extra]) {
        assert.ok(!text.includes(secret), `${label} contains a secret`);
      }
    }

    function renderings(value: unknown): string[] {
      const err = value as Error;
      return [String(value), JSON.stringify(value), inspect(value, { depth: 5, showHidden: true }), err.stack ?? ''];
    }

    it('serialized errors and the client itself contain no secret, even when the server echoes one', async function () {
      let issuedToken = '';
      extraServer = await startTestServer((req, res, body) => {
        if (req.url === '/token') {
          issuedToken = 'token-' + 'abcdef0123456789';
          sendJson(res, 200, { access_token: issuedToken, expires_in: 3600, token_type: 'Bearer' });
          return;
        }
        // A badly behaved server that quotes what it was sent.
        sendJson(res, 400, { status: 400, code: 20001, message: `bad request ${req.headers.authorization} ${body}`, more_info: 'https://x' });
      });
      const basicOf = Buffer.from('AC1:twilio-auth-token-value').toString('base64');

      client = new SuperSimClient({
        provider: 'kore',
        clientId: 'kore-client-id',
        clientSecret: 'kore-client-secret-value',
        supersimUrl: extraServer.url,
        tokenUrl: `${extraServer.url}/token`,
      });
      const koreErr = await rejection(client.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 1 }));
      assert.ok(issuedToken);
      for (const text of renderings(koreErr)) assertNoSecret('KORE error', text, [issuedToken]);
      for (const text of [String(client), JSON.stringify(client), inspect(client, { depth: 5, showHidden: true })]) {
        assertNoSecret('KORE client', text, [issuedToken]);
      }
      assert.match(koreErr.message, /\[redacted\]/);

      const twilio = new SuperSimClient({ provider: 'twilio', accountSid: 'AC1', authToken: 'twilio-auth-token-value', supersimUrl: extraServer.url });
      try {
        const twilioErr = await rejection(twilio.createIpCommand({ sim: 'thermostat', payload: 'x', devicePort: 1 }));
        for (const text of renderings(twilioErr)) assertNoSecret('Twilio error', text, [basicOf]);
        for (const text of [String(twilio), JSON.stringify(twilio), inspect(twilio, { depth: 5, showHidden: true })]) {
          assertNoSecret('Twilio client', text, [basicOf]);
        }
      } finally {
        await twilio.destroy();
      }
    });

    it('network and auth errors carry no secret either', async function () {
      sim = await Simulator.start({ mode: 'kore', clientSecret: 'kore-client-secret-value' });
      client = clientFor(sim, { clientSecret: 'twilio-auth-token-value' });
      const authErr = await rejection(client.verifyCredentials());
      for (const text of renderings(authErr)) assertNoSecret('auth error', text);
      const port = await freePort();
      const offline = new SuperSimClient({
        provider: 'kore',
        clientId: 'id',
        clientSecret: 'kore-client-secret-value',
        tokenUrl: `http://127.0.0.1:${port}/token`,
        retry: { maxAttempts: 1 },
      });
      try {
        const netErr = await rejection(offline.createSmsCommand({ sim: 'x', payload: 'y' }));
        for (const text of renderings(netErr)) assertNoSecret('network error', text);
      } finally {
        await offline.destroy();
      }
    });
  });
});
