import { strict as assert } from 'node:assert';
import { SuperSimClient } from '../../src/api';
import { findAdoptable, findAdoptableAll, matchesRequest, RECONCILE_SKEW_MS } from '../../src/reaching/reconcile';
import type { CommandResource, ListCommands, PendingAttempt } from '../../src/reaching';
import type { CommandKind } from '../../src/shared';
import { Simulator } from '../../src/simulator';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString();

function attemptOf(kind: CommandKind, request: Record<string, unknown>, over: Partial<PendingAttempt> = {}): PendingAttempt {
  return {
    id: 'p1',
    kind,
    sim: 'thermostat',
    request,
    message: '{}',
    attempt: 1,
    stage: 'creating',
    startedAt: T0,
    deadline: T0 + 3_600_000,
    attemptStartedAt: T0,
    earlierSids: [],
    announced: false,
    followMs: 300_000,
    ...over,
  };
}

const IP_REQUEST = { sim: 'thermostat', payload: 'setpoint=21', devicePort: 6655, payloadType: 'text' };

function ipCommand(sid: string, createdAt: number, over: CommandResource = {}): CommandResource {
  return { sid, sim_sid: 'HS01', direction: 'to_sim', status: 'queued', device_port: 6655, payload_type: 'text', payload: 'setpoint=21', date_created: iso(createdAt), ...over };
}

interface FakeList {
  list: ListCommands;
  calls: { kind: CommandKind; filter: { sim: string; direction: string; pageSize?: number } }[];
  /** How many resources the caller read. */
  read(): number;
}

/** Lists `resources` in the order given (newest first, as the API does); reading past `guardAfter` fails the test. */
function fakeList(resources: CommandResource[], guardAfter = Number.POSITIVE_INFINITY): FakeList {
  const calls: FakeList['calls'] = [];
  let read = 0;
  const list: ListCommands = (kind, filter) => {
    calls.push({ kind, filter });
    return (async function* () {
      for (const resource of resources) {
        if (read >= guardAfter) throw new Error('read past the window');
        read++;
        yield resource;
      }
    })();
  };
  return { list, calls, read: () => read };
}

describe('findAdoptable: reconcile before creating an attempt again', function () {
  describe('with a fake list', function () {
    it('lists the SIM’s to_sim commands of the attempt’s kind and returns the oldest match in the window', async function () {
      const fake = fakeList([
        ipCommand('HG3', T0 + 3_000),
        ipCommand('HGother', T0 + 2_500, { payload: 'setpoint=22' }),
        ipCommand('HG2', T0 + 2_000),
        ipCommand('HG1', T0 + 1_000),
        ipCommand('HGold', T0 - RECONCILE_SKEW_MS - 1),
      ]);
      const found = await findAdoptable({ list: fake.list, attempt: attemptOf('ip', IP_REQUEST), taken: new Set(), now: () => T0 + 5_000 });
      assert.equal(found?.sid, 'HG1');
      assert.deepEqual(fake.calls.map((c) => [c.kind, c.filter.sim, c.filter.direction]), [['ip', 'thermostat', 'to_sim']]);
    });

    it('stops reading once a command is older than the attempt’s start less the skew', async function () {
      const fake = fakeList([ipCommand('HG2', T0 + 1_000), ipCommand('HGold', T0 - RECONCILE_SKEW_MS - 1), ipCommand('HGolder', T0 - 120_000)], 2);
      const found = await findAdoptable({ list: fake.list, attempt: attemptOf('ip', IP_REQUEST), taken: new Set(), now: () => T0 + 5_000 });
      assert.equal(found?.sid, 'HG2');
      assert.equal(fake.read(), 2);
    });

    it('counts the clock skew: a match 30 s before the attempt is adopted with the default skew, not with none', async function () {
      const resources = [ipCommand('HGearly', T0 - 30_000)];
      const attempt = attemptOf('ip', IP_REQUEST);
      assert.equal((await findAdoptable({ list: fakeList(resources).list, attempt, taken: new Set(), now: () => T0 }))?.sid, 'HGearly');
      assert.equal(await findAdoptable({ list: fakeList(resources).list, attempt, taken: new Set(), now: () => T0, skewMs: 0 }), undefined);
    });

    it('an attempt dated in the future (the clock was set back) still finds what was created up to now', async function () {
      const attempt = attemptOf('ip', IP_REQUEST, { attemptStartedAt: T0 + 3_600_000 });
      const found = await findAdoptable({ list: fakeList([ipCommand('HG1', T0 - 10_000)]).list, attempt, taken: new Set(), now: () => T0, skewMs: 60_000 });
      assert.equal(found?.sid, 'HG1');
    });

    it('never adopts a command another attempt took, nor one of this message’s earlier attempts', async function () {
      const resources = [ipCommand('HG3', T0 + 3_000), ipCommand('HG2', T0 + 2_000), ipCommand('HG1', T0 + 1_000)];
      const attempt = attemptOf('ip', IP_REQUEST, { earlierSids: ['HG1'] });
      const found = await findAdoptable({ list: fakeList(resources).list, attempt, taken: new Set(['HG2']), now: () => T0 + 5_000 });
      assert.equal(found?.sid, 'HG3');
      const none = await findAdoptable({ list: fakeList(resources).list, attempt, taken: new Set(['HG2', 'HG3']), now: () => T0 + 5_000 });
      assert.equal(none, undefined);
    });

    it('skips a command from the SIM, and one of another SIM when the attempt knows its SIM SID', async function () {
      const resources = [ipCommand('HGfrom', T0 + 3_000, { direction: 'from_sim' }), ipCommand('HGelse', T0 + 2_000, { sim_sid: 'HS99' }), ipCommand('HGmine', T0 + 1_000)];
      const found = await findAdoptable({ list: fakeList(resources.slice(0, 2)).list, attempt: attemptOf('ip', IP_REQUEST, { simSid: 'HS01' }), taken: new Set(), now: () => T0 + 5_000 });
      assert.equal(found, undefined);
      const mine = await findAdoptable({ list: fakeList(resources).list, attempt: attemptOf('ip', IP_REQUEST, { simSid: 'HS01' }), taken: new Set(), now: () => T0 + 5_000 });
      assert.equal(mine?.sid, 'HGmine');
    });

    it('every field null: nothing adopted, nothing thrown; an unreadable date neither matches nor ends the listing', async function () {
      const allNull: CommandResource = { sid: null, sim_sid: null, direction: null, status: null, device_port: null, payload_type: null, payload: null, date_created: null, command: null, command_mode: null };
      const resources = [allNull, ipCommand('HGnodate', 0, { date_created: null }), ipCommand('HGbaddate', 0, { date_created: 'soon' }), ipCommand('HG1', T0 + 1_000)];
      for (const kind of ['ip', 'sms', 'wireless'] as const) {
        const found = await findAdoptable({ list: fakeList(resources).list, attempt: attemptOf(kind, IP_REQUEST), taken: new Set(), now: () => T0 + 5_000 });
        // SMS matches the IP resource's payload too; Wireless finds no command field.
        assert.equal(found?.sid, kind === 'wireless' ? undefined : 'HG1', kind);
      }
    });

    it('lets the list’s errors through, and stops when the signal aborts', async function () {
      const failing: ListCommands = () =>
        (async function* () {
          yield ipCommand('HG2', T0 + 2_000);
          throw new Error('503 from the API');
        })();
      await assert.rejects(findAdoptable({ list: failing, attempt: attemptOf('ip', IP_REQUEST), taken: new Set(), now: () => T0 + 5_000 }), /503/);

      const controller = new AbortController();
      const aborting: ListCommands = () =>
        (async function* () {
          yield ipCommand('HG2', T0 + 2_000);
          controller.abort(new Error('the node is closing'));
          yield ipCommand('HG1', T0 + 1_000);
        })();
      await assert.rejects(findAdoptable({ list: aborting, attempt: attemptOf('ip', IP_REQUEST), taken: new Set(), now: () => T0 + 5_000, signal: controller.signal }), /closing/);
      await assert.rejects(findAdoptable({ list: fakeList([]).list, attempt: attemptOf('ip', IP_REQUEST), taken: new Set(), signal: controller.signal }), /closing/);
    });
  });

  describe('matchesRequest', function () {
    it('IP: payload and device port as sent; the payload type when the resource shows it; Base64 spelled otherwise', function () {
      assert.equal(matchesRequest('ip', IP_REQUEST, ipCommand('HG1', T0)), true);
      assert.equal(matchesRequest('ip', IP_REQUEST, ipCommand('HG1', T0, { payload: 'setpoint=22' })), false);
      assert.equal(matchesRequest('ip', IP_REQUEST, ipCommand('HG1', T0, { device_port: 6656 })), false);
      assert.equal(matchesRequest('ip', IP_REQUEST, ipCommand('HG1', T0, { device_port: null })), false);
      assert.equal(matchesRequest('ip', IP_REQUEST, ipCommand('HG1', T0, { payload_type: null })), true);
      assert.equal(matchesRequest('ip', IP_REQUEST, ipCommand('HG1', T0, { payload_type: 'binary' })), false);
      assert.equal(matchesRequest('ip', { ...IP_REQUEST, payloadType: undefined }, ipCommand('HG1', T0)), true, 'text by default');
      const binary = { sim: 'thermostat', payload: 'AQID', devicePort: 6655, payloadType: 'binary' };
      assert.equal(matchesRequest('ip', binary, ipCommand('HG1', T0, { payload: 'AQID', payload_type: 'binary' })), true);
      assert.equal(matchesRequest('ip', { ...binary, payload: 'AQI=' }, ipCommand('HG1', T0, { payload: 'AQI', payload_type: 'binary' })), true);
      assert.equal(matchesRequest('ip', binary, ipCommand('HG1', T0, { payload: 'AQIE', payload_type: 'binary' })), false);
      assert.equal(matchesRequest('ip', { ...IP_REQUEST, payload: 'AQI=' }, ipCommand('HG1', T0, { payload: 'AQI' })), false, 'text is compared as text');
    });

    it('SMS: the payload', function () {
      assert.equal(matchesRequest('sms', { sim: 's', payload: 'reboot' }, { payload: 'reboot' }), true);
      assert.equal(matchesRequest('sms', { sim: 's', payload: 'reboot' }, { payload: 'Reboot' }), false);
      assert.equal(matchesRequest('sms', { sim: 's', payload: 'reboot' }, { payload: null }), false);
    });

    it('Wireless: command and command mode (text when not given, on either side)', function () {
      const request = { sim: 's', command: 'reboot' };
      assert.equal(matchesRequest('wireless', request, { command: 'reboot', command_mode: 'text' }), true);
      assert.equal(matchesRequest('wireless', request, { command: 'reboot', command_mode: null }), true);
      assert.equal(matchesRequest('wireless', request, { command: 'reboot', command_mode: 'binary' }), false);
      assert.equal(matchesRequest('wireless', { ...request, commandMode: 'binary', command: 'AQID' }, { command: 'AQID', command_mode: 'binary' }), true);
      assert.equal(matchesRequest('wireless', { ...request, commandMode: 'text' }, { command: 'reboot!', command_mode: 'text' }), false);
    });

    it('Wireless with IncludeSid: the plain text, or the text with that command’s own SID where IncludeSid puts it', function () {
      const sid = 'DC' + 'a'.repeat(32);
      const start = { sim: 's', command: 'reboot', includeSid: 'start' };
      const end = { sim: 's', command: 'reboot', includeSid: 'end' };
      assert.equal(matchesRequest('wireless', start, { sid, command: 'reboot', command_mode: 'text' }), true);
      assert.equal(matchesRequest('wireless', start, { sid, command: `${sid} reboot`, command_mode: 'text' }), true);
      assert.equal(matchesRequest('wireless', start, { sid, command: `reboot ${sid}`, command_mode: 'text' }), false);
      assert.equal(matchesRequest('wireless', end, { sid, command: `reboot ${sid}`, command_mode: 'text' }), true);
      assert.equal(matchesRequest('wireless', start, { sid, command: `${'DC' + 'b'.repeat(32)} reboot`, command_mode: 'text' }), false, 'another command’s SID');
      assert.equal(matchesRequest('wireless', { sim: 's', command: 'reboot', includeSid: 'none' }, { sid, command: `${sid} reboot` }), false);
    });
  });

  describe('against the simulator', function () {
    let simulator: Simulator;
    let client: SuperSimClient;

    beforeEach(async function () {
      simulator = await Simulator.start({ mode: 'kore', sims: [{ uniqueName: 'thermostat' }, { uniqueName: 'meter', api: 'wireless' }] });
      const c = simulator.credentials;
      client = new SuperSimClient({
        provider: 'kore',
        clientId: c.clientId,
        clientSecret: c.clientSecret,
        supersimUrl: simulator.supersimUrl,
        wirelessUrl: simulator.wirelessUrl,
        tokenUrl: simulator.tokenUrl,
      });
    });

    afterEach(async function () {
      await client.destroy();
      await simulator.close();
    });

    const list: ListCommands = (kind, filter) => {
      const iterator = kind === 'ip' ? client.listIpCommands(filter) : kind === 'sms' ? client.listSmsCommands(filter) : client.listWirelessCommands(filter);
      return iterator as unknown as AsyncIterable<CommandResource>;
    };

    it('IP: adopts the first of two creates of the same request, not another payload nor an earlier attempt’s command', async function () {
      const earlier = await client.createIpCommand({ ...IP_REQUEST, payloadType: 'text' });
      const attemptStartedAt = Date.now();
      await client.createIpCommand({ ...IP_REQUEST, payload: 'setpoint=25', payloadType: 'text' });
      const first = await client.createIpCommand({ ...IP_REQUEST, payloadType: 'text' });
      await client.createIpCommand({ ...IP_REQUEST, payloadType: 'text' });
      await client.createIpCommand({ ...IP_REQUEST, devicePort: 7000, payloadType: 'text' });
      const attempt = attemptOf('ip', IP_REQUEST, { attemptStartedAt, earlierSids: [earlier.sid] });
      const found = await findAdoptable({ list, attempt, taken: new Set() });
      assert.equal(found?.sid, first.sid);
    });

    it('IP binary: the Base64 payload as sent', async function () {
      const request = { sim: 'thermostat', payload: Buffer.from([1, 2, 3, 250]).toString('base64'), devicePort: 6655, payloadType: 'binary' as const };
      const created = await client.createIpCommand(request);
      const found = await findAdoptable({ list, attempt: attemptOf('ip', request, { attemptStartedAt: Date.now() - 1_000 }), taken: new Set() });
      assert.equal(found?.sid, created.sid);
    });

    it('SMS: finds the command by payload; nothing when it was never created', async function () {
      const attemptStartedAt = Date.now();
      const created = await client.createSmsCommand({ sim: 'thermostat', payload: 'reboot now' });
      assert.equal((await findAdoptable({ list, attempt: attemptOf('sms', { sim: 'thermostat', payload: 'reboot now' }, { attemptStartedAt }), taken: new Set() }))?.sid, created.sid);
      assert.equal(await findAdoptable({ list, attempt: attemptOf('sms', { sim: 'thermostat', payload: 'never sent' }, { attemptStartedAt }), taken: new Set() }), undefined);
    });

    it('Wireless with IncludeSid start: the listed command is matched', async function () {
      const request = { sim: 'meter', command: 'status?', commandMode: 'text' as const, includeSid: 'start' as const };
      const attemptStartedAt = Date.now();
      const created = await client.createWirelessCommand(request);
      const found = await findAdoptable({ list, attempt: attemptOf('wireless', request, { sim: 'meter', attemptStartedAt }), taken: new Set() });
      assert.equal(found?.sid, created.sid);
      const other = await findAdoptable({ list, attempt: attemptOf('wireless', { ...request, commandMode: 'binary' }, { sim: 'meter', attemptStartedAt }), taken: new Set() });
      assert.equal(other, undefined);
    });

    it('stops at the window: a match created before the attempt began (no skew) is not adopted', async function () {
      await client.createSmsCommand({ sim: 'thermostat', payload: 'old' });
      await new Promise((resolve) => setTimeout(resolve, 20));
      const attempt = attemptOf('sms', { sim: 'thermostat', payload: 'old' }, { attemptStartedAt: Date.now() });
      assert.equal(await findAdoptable({ list, attempt, taken: new Set(), skewMs: 0 }), undefined);
      assert.ok((await findAdoptable({ list, attempt, taken: new Set() })) !== undefined, 'with the default skew it is');
    });
  });
});

describe('findAdoptableAll: one listing per SIM when many attempts resume at once', function () {
  it('lists each SIM once, however many attempts wait on it, and gives each attempt its own command', async function () {
    const requests = [0, 1, 2, 3].map((n) => ({ ...IP_REQUEST, payload: `setpoint=${n}` }));
    const fake = fakeList([
      ipCommand('HGc3', T0 + 4_000, { payload: 'setpoint=3' }),
      ipCommand('HGc1', T0 + 2_000, { payload: 'setpoint=1' }),
      ipCommand('HGc0', T0 + 1_000, { payload: 'setpoint=0' }),
      ipCommand('HGold', T0 - RECONCILE_SKEW_MS - 1, { payload: 'setpoint=2' }),
    ]);
    const attempts = requests.map((request, n) => attemptOf('ip', request, { id: `p${n}`, attemptStartedAt: T0 + n }));
    const adopted = await findAdoptableAll({ list: fake.list, attempts, taken: new Set(), now: () => T0 + 10_000 });
    assert.equal(fake.calls.length, 1);
    assert.deepEqual(Object.fromEntries([...adopted].map(([id, resource]) => [id, resource.sid])), { p0: 'HGc0', p1: 'HGc1', p3: 'HGc3' });
  });

  it('two identical messages adopt two commands, oldest first; taken and earlier SIDs are never adopted', async function () {
    const fake = fakeList([ipCommand('HGnewest', T0 + 3_000), ipCommand('HGtaken', T0 + 2_500), ipCommand('HGmiddle', T0 + 2_000), ipCommand('HGearlier', T0 + 1_500), ipCommand('HGfirst', T0 + 1_000)]);
    const attempts = [
      attemptOf('ip', IP_REQUEST, { id: 'b', attemptStartedAt: T0 + 20 }),
      attemptOf('ip', IP_REQUEST, { id: 'a', attemptStartedAt: T0 + 10, earlierSids: ['HGearlier'] }),
    ];
    const adopted = await findAdoptableAll({ list: fake.list, attempts, taken: new Set(['HGtaken']), now: () => T0 + 10_000 });
    assert.equal(adopted.get('a')?.sid, 'HGfirst');
    assert.equal(adopted.get('b')?.sid, 'HGmiddle');
  });

  it('keeps kinds and SIMs apart, and stops listing at the oldest window', async function () {
    const fake = fakeList([ipCommand('HG1', T0 + 1_000), ipCommand('HGold', T0 - RECONCILE_SKEW_MS - 1)], 1);
    const attempts = [attemptOf('ip', IP_REQUEST, { id: 'x' }), attemptOf('ip', IP_REQUEST, { id: 'y', sim: 'other' }), attemptOf('sms', { sim: 'thermostat', payload: 'hi' }, { id: 'z' })];
    await assert.rejects(findAdoptableAll({ list: fake.list, attempts, taken: new Set(), now: () => T0 + 10_000 }), /read past the window/);
    const fresh = fakeList([ipCommand('HG1', T0 + 1_000)]);
    const adopted = await findAdoptableAll({ list: fresh.list, attempts, taken: new Set(), now: () => T0 + 10_000 });
    assert.deepEqual(
      fresh.calls.map((call) => `${call.kind}:${call.filter.sim}`),
      ['ip:thermostat', 'ip:other', 'sms:thermostat'],
    );
    // The fake answers every SIM and kind with the same list: only the IP attempts can match it.
    assert.equal(adopted.get('x')?.sid, 'HG1');
    assert.equal(adopted.has('z'), false);
  });
});
