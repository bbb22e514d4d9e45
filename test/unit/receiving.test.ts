import assert from 'node:assert/strict';
import { ApiError } from '../../src/api';
import type { Fleet, UpdateFleetParams } from '../../src/api';
import { CallbackReceiver, FORBIDDEN_ANSWER, KORE_IDEMPOTENCY_HEADER, TWILIO_SIGNATURE_HEADER, receive, toCommandEvent, twilioSignature } from '../../src/callbacks';
import type { CallbackRequest } from '../../src/callbacks';
import {
  FleetSetupError,
  IdempotencyShelf,
  RefusalLog,
  messageOf,
  outputsOf,
  pointFleet,
  readFleetQuery,
  readFleetUpdate,
  showFleet,
  webhookPathProblem,
  webhookPublicUrl,
  webhookServerPath,
} from '../../src/receiving';
import type { FleetAccount } from '../../src/receiving';

const HG = `HG${'0a'.repeat(16)}`;
const HC = `HC${'1b'.repeat(16)}`;
const DC = `DC${'2c'.repeat(16)}`;
const HS = `HS${'3d'.repeat(16)}`;
const AC = `AC${'4e'.repeat(16)}`;
const HF = `HF${'5f'.repeat(16)}`;

function form(params: Record<string, string>): Buffer {
  return Buffer.from(new URLSearchParams(params).toString(), 'utf8');
}

function post(body: Buffer, headers: Record<string, string> = {}): CallbackRequest {
  return { method: 'POST', url: '/hook', headers: { 'content-type': 'application/x-www-form-urlencoded', host: 'example.com', ...headers }, rawBody: body };
}

describe('receiving: webhook paths', () => {
  it('accepts paths a provider sends unencoded and explains every other', () => {
    for (const ok of ['/', '/hook', '/supersim/commands', "/a-b_c.d~e!$&'()*+,;=:@"]) assert.equal(webhookPathProblem(ok), undefined, ok);
    const cases: [unknown, RegExp][] = [
      ['', /empty/],
      [undefined, /empty/],
      ['hook', /start with "\/", as in \/hook/],
      ['/a?b=1', /"\?" or "#"/],
      ['/a#b', /"\?" or "#"/],
      ['/a b', /no spaces/],
      ['/caf%C3%A9', /no spaces or %/],
      ['/é', /only contain/],
      [`/${'a'.repeat(200)}`, /201 characters.*200/],
    ];
    for (const [path, pattern] of cases) assert.match(webhookPathProblem(path) ?? 'accepted', pattern, String(path));
  });

  it('joins base URL, httpNodeRoot and path with one slash each', () => {
    assert.equal(webhookServerPath('/', '/hook'), '/hook');
    assert.equal(webhookServerPath('/api/', '/hook/'), '/api/hook');
    assert.equal(webhookPublicUrl('https://n.example.com/', '/red', 'hook'), 'https://n.example.com/red/hook');
    assert.equal(webhookPublicUrl('https://n.example.com/prefix', '/', '/a/b'), 'https://n.example.com/prefix/a/b');
    assert.equal(webhookServerPath('//', '//'), '/');
  });

  it('trims slashes in linear time, whatever their number', () => {
    // /\/+$/ backtracked from every slash of the run: 40 000 of them took seconds.
    const slashes = '/'.repeat(40_000);
    assert.equal(webhookPublicUrl(`https://n.example.com${slashes}`, `${slashes}red${slashes}`, '/hook'), 'https://n.example.com/red/hook');
  });
});

describe('receiving: events to messages', () => {
  const sim = { SimSid: HS, SimUniqueName: 'thermostat', SimIccid: '8988307000000000001', AccountSid: AC, ApiVersion: 'v1' };

  it('a binary IP Command from a device: output 1, a Buffer with the exact bytes, msg.command and the SIM as topic', () => {
    const bytes = Buffer.from([0x00, 0xff, 0x80, 0x7f, 0x0a]);
    const event = toCommandEvent({ ...sim, CommandSid: HG, Direction: 'from_sim', Status: 'received', PayloadType: 'binary', Payload: bytes.toString('base64') }, 'tok');
    const { output, msg } = messageOf(event, true);
    assert.equal(output, 0);
    assert.ok(Buffer.isBuffer(msg.payload));
    assert.deepEqual(msg.payload, bytes);
    assert.equal(msg.topic, 'thermostat');
    assert.deepEqual(msg.command, {
      sid: HG,
      kind: 'ip',
      direction: 'from_sim',
      status: 'received',
      sim: { sid: HS, uniqueName: 'thermostat', iccid: '8988307000000000001' },
      payloadType: 'binary',
      errorCode: null,
      errorMessage: null,
      accountSid: AC,
    });
    assert.deepEqual(msg.callback, { params: event.params, apiVersion: 'v1', idempotencyToken: 'tok', verified: true });
    assert.deepEqual(outputsOf({ output, msg }), [msg, null]);
  });

  it('text stays a string; a callback without data gives an empty payload of its type', () => {
    const text = messageOf(toCommandEvent({ CommandSid: HC, Direction: 'from_sim', Status: 'received', PayloadType: 'text', Payload: 'héllo' }, null), false);
    assert.equal(text.msg.payload, 'héllo');
    assert.equal(text.msg.callback.verified, false);
    const noText = messageOf(toCommandEvent({ CommandSid: HC, Direction: 'from_sim', Status: 'received' }, null), true);
    assert.equal(noText.msg.payload, '');
    const noBytes = messageOf(toCommandEvent({ CommandSid: HG, Direction: 'from_sim', Status: 'received', PayloadType: 'binary' }, null), true);
    assert.deepEqual(noBytes.msg.payload, Buffer.alloc(0));
  });

  it('a status callback: output 2 with the status as payload; the topic falls back to the SIM SID, else is absent', () => {
    const event = toCommandEvent({ CommandSid: DC, SimSid: HS, Direction: 'to_sim', Status: 'failed', ErrorCode: '32001', ErrorMessage: 'no signal', Command: 'reboot', CommandMode: 'text' }, null);
    const { output, msg } = messageOf(event, true);
    assert.equal(output, 1);
    assert.equal(msg.payload, 'failed');
    assert.equal(msg.topic, HS);
    assert.equal(msg.command.kind, 'wireless');
    assert.equal(msg.command.errorCode, 32001);
    assert.equal(msg.command.errorMessage, 'no signal');
    assert.equal(msg.callback.params.Command, 'reboot');
    assert.deepEqual(outputsOf({ output, msg }), [null, msg]);
    const anonymous = messageOf(toCommandEvent({ CommandSid: HG, Status: 'sent' }, null), true);
    assert.equal('topic' in anonymous.msg, false);
  });
});

describe('receiving: receive()', () => {
  const body = form({ CommandSid: HG, Direction: 'from_sim', Status: 'received', PayloadType: 'text', Payload: 'x' });

  it('accepts, then answers a retry with the same token 200 without a message', () => {
    const receiver = new CallbackReceiver({ provider: 'kore' });
    const first = receive(receiver, post(body, { [KORE_IDEMPOTENCY_HEADER]: 't1' }));
    assert.equal(first.outcome, 'accepted');
    assert.equal(first.status, 200);
    const again = receive(receiver, post(body, { [KORE_IDEMPOTENCY_HEADER]: 't1' }));
    assert.equal(again.outcome, 'duplicate');
    assert.equal(again.status, 200);
  });

  it('answers a failed signature with a reason that tells a forger nothing, keeping the detail for the log', () => {
    const receiver = new CallbackReceiver({ provider: 'twilio', authToken: 'token', publicBaseUrl: 'https://n.example.com' });
    const params = { CommandSid: HG, Status: 'sent' };
    const signature = twilioSignature('wrong', 'https://n.example.com/hook', params);
    const result = receive(receiver, post(form(params), { [TWILIO_SIGNATURE_HEADER]: signature }));
    assert.equal(result.outcome, 'refused');
    if (result.outcome !== 'refused') return;
    assert.equal(result.status, 403);
    assert.equal(result.answer, FORBIDDEN_ANSWER);
    assert.match(result.reason, /X-Twilio-Signature does not match.*https:\/\/n\.example\.com\/hook/);
  });

  it('answers a KORE GET with a reason the sender and the owner can act on: KORE signs no GET, use POST', () => {
    const receiver = new CallbackReceiver({ provider: 'kore', webhookSecret: 'secret', publicBaseUrl: 'https://n.example.com' });
    const result = receive(receiver, { method: 'GET', url: `/hook?CommandSid=${HG}&Status=sent`, headers: { host: 'example.com' }, rawBody: Buffer.alloc(0) });
    assert.equal(result.outcome, 'refused');
    if (result.outcome !== 'refused') return;
    assert.deepEqual([result.status, result.refusal], [403, 'unsigned-get']);
    assert.match(result.answer, /^Forbidden: KORE does not sign GET callbacks.*POST$/);
    assert.match(result.reason, /KORE does not sign GET callbacks.*POST/);
  });

  it('answers the same event under a new token 200 without a message', () => {
    const receiver = new CallbackReceiver({ provider: 'kore' });
    assert.equal(receive(receiver, post(body, { [KORE_IDEMPOTENCY_HEADER]: 't1' })).outcome, 'accepted');
    assert.equal(receive(receiver, post(body, { [KORE_IDEMPOTENCY_HEADER]: 't2' })).outcome, 'duplicate');
  });

  it('answers a body that is neither form nor JSON 400 (not 415), and keeps 405 and 413', () => {
    const receiver = new CallbackReceiver({ provider: 'kore', maxBodyBytes: 200 });
    const cases: [CallbackRequest, number, RegExp][] = [
      [post(body, { 'content-type': 'text/plain' }), 400, /content type "text\/plain"/],
      [post(body, { 'content-type': 'application/x-www-form-urlencoded; charset=latin1' }), 400, /charset/],
      [post(Buffer.from('CommandSid=nope')), 400, /CommandSid/],
      [{ ...post(body), method: 'PUT' }, 405, /method "PUT"/],
      [post(Buffer.alloc(201, 'a')), 413, /201 bytes/],
    ];
    for (const [request, status, pattern] of cases) {
      const result = receive(receiver, request);
      assert.equal(result.status, status);
      assert.equal(result.outcome, 'refused');
      if (result.outcome === 'refused') assert.match(result.answer, pattern);
    }
  });
});

describe('receiving: RefusalLog', () => {
  it('reports the first refusal, then at most one per interval with the count of those left out', () => {
    let now = 1_000;
    const log = new RefusalLog({ intervalMs: 60_000, now: () => now });
    assert.deepEqual(log.note(403, 'a'), { status: 403, reason: 'a', unreported: 0 });
    for (let i = 0; i < 5; i++) assert.equal(log.note(400, 'b'), undefined);
    now += 59_999;
    assert.equal(log.note(400, 'c'), undefined);
    now += 1;
    assert.deepEqual(log.note(413, 'd'), { status: 413, reason: 'd', unreported: 6 });
    assert.equal(log.note(403, 'e'), undefined);
  });
});

describe('receiving: IdempotencyShelf', () => {
  it('gives a node id the same cache until the node is dropped', () => {
    const shelf = new IdempotencyShelf();
    const cache = shelf.take('n1');
    assert.equal(cache.seenBefore('t'), false);
    assert.equal(shelf.take('n1'), cache);
    assert.equal(shelf.take('n1').seenBefore('t'), true);
    assert.notEqual(shelf.take('n2'), cache);
    shelf.drop('n1');
    assert.equal(shelf.size, 1);
    assert.equal(shelf.take('n1').seenBefore('t'), false);
  });
});

describe('receiving: Fleet set-up', () => {
  function fleetOf(overrides: Partial<Fleet> = {}): Fleet {
    return {
      sid: HF,
      account_sid: AC,
      unique_name: 'default',
      data_enabled: true,
      data_limit: 1000,
      data_metering: 'payg',
      sms_commands_enabled: true,
      sms_commands_url: null,
      sms_commands_method: 'POST',
      ip_commands_url: 'https://old.example.com/ip',
      ip_commands_method: 'GET',
      network_access_profile_sid: null,
      date_created: '2024-01-01T00:00:00Z',
      date_updated: '2024-01-01T00:00:00Z',
      url: 'https://example.com/v1/Fleets/HF',
      ...overrides,
    };
  }

  class FakeAccount implements FleetAccount {
    provider: 'kore' | 'twilio' = 'twilio';
    configError: string | undefined = undefined;
    callbackBaseUrl: string | undefined = 'https://n.example.com';
    updates: { id: string; params: UpdateFleetParams }[] = [];
    failure: Error | undefined;
    readonly client = {
      fetchFleet: async (id: string): Promise<Fleet> => {
        if (this.failure) throw this.failure;
        return fleetOf({ unique_name: id });
      },
      updateFleet: async (id: string, params: UpdateFleetParams): Promise<Fleet> => {
        if (this.failure) throw this.failure;
        this.updates.push({ id, params });
        return fleetOf({
          ip_commands_url: params.ipCommandsUrl ?? 'https://old.example.com/ip',
          ip_commands_method: params.ipCommandsMethod ?? 'GET',
          sms_commands_url: params.smsCommandsUrl ?? null,
          sms_commands_method: params.smsCommandsMethod ?? 'POST',
        });
      },
    };
  }

  it('reads the query and the update, refusing what cannot work with a reason', () => {
    assert.deepEqual(readFleetQuery({ account: 'a1', fleet: ' default ', url: '/hook' }), { account: 'a1', fleet: 'default', url: '/hook' });
    assert.deepEqual(readFleetQuery({ account: 'a1', fleet: HF }), { account: 'a1', fleet: HF });
    assert.deepEqual(readFleetUpdate({ account: 'a1', fleet: HF, url: '/hook', ip: true }), { account: 'a1', fleet: HF, url: '/hook', ip: true, sms: false, method: 'POST' });
    const bad: [() => unknown, RegExp][] = [
      [() => readFleetQuery({ fleet: HF }), /account is missing/],
      [() => readFleetQuery({ account: 'a1', fleet: '' }), /Fleet SID or unique name is missing/],
      [() => readFleetQuery({ account: 'a1', fleet: ['a', 'b'] }), /Fleet SID or unique name is missing/],
      [() => readFleetQuery({ account: 'a1', fleet: 'x\u0000' }), /SID \(HF/],
      [() => readFleetQuery({ account: 'a1', fleet: HF, url: 'hook' }), /URL cannot be used: .*start with/],
      [() => readFleetUpdate(null), /JSON object/],
      [() => readFleetUpdate({ account: 'a1', fleet: HF, url: '/hook' }), /IP Commands, SMS Commands or both/],
      [() => readFleetUpdate({ account: 'a1', fleet: HF, url: '/hook', ip: 'yes' }), /ip must be true or false/],
      [() => readFleetUpdate({ account: 'a1', fleet: HF, url: '/hook', sms: true, method: 'PUT' }), /POST or GET/],
      [() => readFleetUpdate({ account: 'a1', fleet: HF, url: '/a b', sms: true }), /URL cannot be used/],
    ];
    for (const [read, pattern] of bad) assert.throws(read, (err: unknown) => err instanceof FleetSetupError && pattern.test(err.message));
  });

  it('shows the fleet and the URL this node would give it', async () => {
    const account = new FakeAccount();
    const answer = await showFleet(account, '/red', { account: 'a1', fleet: 'default', url: '/hook' });
    assert.deepEqual(answer, {
      fleet: { sid: HF, unique_name: 'default', ip_commands_url: 'https://old.example.com/ip', ip_commands_method: 'GET', sms_commands_url: null, sms_commands_method: 'POST' },
      target: 'https://n.example.com/red/hook',
    });
    assert.equal((await showFleet(account, '/', { account: 'a1', fleet: 'default' })).target, null);
  });

  it('points IP, SMS or both at the node with the method asked for, leaving the other alone', async () => {
    const account = new FakeAccount();
    const answer = await pointFleet(account, '/', { account: 'a1', fleet: HF, url: '/hook', ip: false, sms: true, method: 'GET' });
    assert.deepEqual(account.updates, [{ id: HF, params: { smsCommandsUrl: 'https://n.example.com/hook', smsCommandsMethod: 'GET' } }]);
    assert.equal(answer.fleet.sms_commands_url, 'https://n.example.com/hook');
    assert.equal(answer.fleet.ip_commands_url, 'https://old.example.com/ip');
    assert.equal(answer.target, 'https://n.example.com/hook');
    await pointFleet(account, '/', { account: 'a1', fleet: HF, url: '/hook', ip: true, sms: true, method: 'POST' });
    assert.deepEqual(account.updates[1].params, {
      ipCommandsUrl: 'https://n.example.com/hook',
      ipCommandsMethod: 'POST',
      smsCommandsUrl: 'https://n.example.com/hook',
      smsCommandsMethod: 'POST',
    });
  });

  it('never points a KORE Fleet at this node with GET, which KORE does not sign', async () => {
    const account = new FakeAccount();
    account.provider = 'kore';
    for (const [ip, sms] of [[true, false], [false, true], [true, true]]) {
      await assert.rejects(pointFleet(account, '/', { account: 'a1', fleet: HF, url: '/hook', ip, sms, method: 'GET' }), (err: Error) => {
        assert.ok(err instanceof FleetSetupError);
        assert.match(err.message, /KORE does not sign GET callbacks.*choose POST/);
        return true;
      });
    }
    assert.equal(account.updates.length, 0, 'nothing was sent to KORE');
    await pointFleet(account, '/', { account: 'a1', fleet: HF, url: '/hook', ip: true, sms: false, method: 'POST' });
    assert.deepEqual(account.updates[0].params, { ipCommandsUrl: 'https://n.example.com/hook', ipCommandsMethod: 'POST' });
  });

  it('says what to set up first: a deployed, usable account with a Public URL, and HTTP nodes', async () => {
    const update = { account: 'a1', fleet: HF, url: '/hook', ip: true, sms: false, method: 'POST' as const };
    await assert.rejects(pointFleet(undefined, '/', update), /not deployed yet: deploy the flow first/);
    const broken = new FakeAccount();
    broken.configError = 'the Client Secret is missing';
    await assert.rejects(pointFleet(broken, '/', update), /cannot be used: the Client Secret is missing/);
    await assert.rejects(pointFleet(new FakeAccount(), false, update), /httpNodeRoot is false/);
    const noBase = new FakeAccount();
    noBase.callbackBaseUrl = undefined;
    await assert.rejects(pointFleet(noBase, '/', update), (err: Error) => {
      assert.ok(err instanceof FleetSetupError);
      assert.match(err.message, /no Public URL.*public address.*Advanced tab.*https:\/\/nodered\.example\.com.*tunnel/);
      return true;
    });
    assert.equal(noBase.updates.length, 0);
  });

  it('passes on an API refusal with its status, code and message', async () => {
    const account = new FakeAccount();
    account.failure = new ApiError('Fleet nope is not in this account (HTTP 404, code 20404). The provider said: The requested resource /Fleets/nope was not found', {
      kind: 'api',
      operation: 'fetchFleet',
      method: 'GET',
      path: '/v1/Fleets/nope',
      effect: 'none',
      status: 404,
      code: 20404,
      attempts: 1,
    });
    await assert.rejects(showFleet(account, '/', { account: 'a1', fleet: 'nope' }), (err: Error) => {
      assert.ok(err instanceof FleetSetupError);
      // The client's message leads with what to do and has the status and code: passed on as it is.
      assert.equal(err.message, 'Fleet nope is not in this account (HTTP 404, code 20404). The provider said: The requested resource /Fleets/nope was not found');
      assert.deepEqual(err.toJSON(), { message: err.message, status: 404, code: 20404 });
      return true;
    });
    account.failure = new ApiError('Could not reach 127.0.0.1: check the Super SIM API URL of the account node (connection refused). Nothing was sent.', { kind: 'network', operation: 'fetchFleet', method: 'GET', path: '/v1/Fleets/x', effect: 'none', attempts: 1 });
    await assert.rejects(showFleet(account, '/', { account: 'a1', fleet: 'x' }), /Could not reach 127\.0\.0\.1: .*connection refused/);
    account.failure = new TypeError('a bug');
    await assert.rejects(showFleet(account, '/', { account: 'a1', fleet: 'x' }), TypeError);
  });
});
