import { strict as assert } from 'node:assert';
import { ApiError } from '../../src/api';
import { CommandLog, MAX_PAYLOAD_CHARS, MAX_ROWS, MAX_STATUSES, cutText, errorOf, payloadText, withoutCredentials } from '../../src/activity';
import type { ReceivedCommand, RowNode } from '../../src/activity';
import { ReachError } from '../../src/reaching';

const NODE: RowNode = { id: 'n1', type: 'supersim-ip-command', name: 'to the fleet', z: 'tab1' };
const IN_NODE: RowNode = { id: 'in1', type: 'supersim-command-in', name: '', z: 'tab1' };
const T0 = Date.parse('2026-03-01T10:00:00.000Z');

function sid(prefix: string, n: number): string {
  return prefix + n.toString(16).padStart(32, '0');
}

function event(overrides: Partial<ReceivedCommand>): ReceivedCommand {
  return {
    sid: sid('HG', 1),
    kind: 'ip',
    direction: 'from_sim',
    status: 'received',
    sim: { sid: sid('HS', 1), uniqueName: 'tracker-7', iccid: null },
    payloadType: 'text',
    payload: 'hello',
    errorCode: null,
    errorMessage: null,
    ...overrides,
  };
}

describe('activity: the rows of the Commands sidebar', function () {
  describe('payloads', function () {
    it('are shown up to 64 characters, then cut with …', function () {
      assert.equal(MAX_PAYLOAD_CHARS, 64);
      assert.equal(payloadText('a'.repeat(64)), 'a'.repeat(64));
      assert.equal(payloadText('a'.repeat(65)), `${'a'.repeat(64)}…`);
      assert.equal(payloadText('x'.repeat(100_000))?.length, 65);
    });

    it('never split a character made of two UTF-16 units', function () {
      const text = `${'a'.repeat(63)}😀tail`;
      assert.equal(cutText(text, 64), `${'a'.repeat(63)}…`);
    });

    it('show bytes that read as text as that text, other bytes as Base64, cut the same way, and nothing as null', function () {
      assert.equal(payloadText(Buffer.from('ack:set temperature 21')), 'ack:set temperature 21');
      assert.equal(payloadText(Buffer.from('é'.repeat(300))), `${'é'.repeat(64)}…`);
      // 256 bytes of text then more: the slice cuts a wide character, which is not taken for broken UTF-8.
      assert.equal(payloadText(Buffer.from(`${'a'.repeat(255)}😀`)), `${'a'.repeat(64)}…`);
      assert.equal(payloadText(Buffer.from([0xff, 0xfe, 0x41])), '//5B');
      assert.equal(payloadText(Buffer.from([1, 2, 3])), 'AQID');
      const bytes = Buffer.alloc(1300, 7);
      const shown = payloadText(bytes) as string;
      assert.equal(shown, `${bytes.subarray(0, 48).toString('base64')}…`);
      assert.equal(shown.length, 65);
      assert.equal(payloadText(Buffer.alloc(48, 1)), Buffer.alloc(48, 1).toString('base64'));
      assert.equal(payloadText(null), null);
      assert.equal(payloadText(undefined), null);
      assert.equal(payloadText({ a: 1 }), null);
    });
  });

  describe('errors', function () {
    it('carry the API error code and the message users read', function () {
      const error = new ApiError('Creating an IP Command was refused: the SIM is not active (HTTP 400, code 20005).', {
        kind: 'api',
        operation: 'create',
        method: 'POST',
        path: '/v1/IpCommands',
        effect: 'none',
        status: 400,
        code: 20005,
        attempts: 1,
      });
      assert.deepEqual(errorOf(error), { code: 20005, message: error.message });
      const network = new ApiError('no connection', { kind: 'network', operation: 'create', method: 'POST', path: '/', effect: 'none', networkCode: 'ECONNREFUSED', attempts: 3 });
      assert.equal(errorOf(network).code, 'ECONNREFUSED');
      const timeout = new ApiError('no answer', { kind: 'timeout', operation: 'create', method: 'POST', path: '/', effect: 'unknown', attempts: 1 });
      assert.equal(errorOf(timeout).code, 'timeout');
      assert.deepEqual(errorOf(new ReachError('no-answer', { seconds: 60 }, 'No answer within 60 s')), { code: 'no-answer', message: 'No answer within 60 s' });
      assert.deepEqual(errorOf('plain'), { code: null, message: 'plain' });
    });

    it('never carry the user:password of a URL, even one past the part shown', function () {
      const secret = 'hunter2-very-secret';
      assert.equal(withoutCredentials(`POST https://bob:${secret}@hooks.example.com/x failed`), 'POST https://hooks.example.com/x failed');
      const long = `${'x'.repeat(290)} https://user:${secret}@example.com/`;
      assert.ok(!errorOf(new Error(long)).message.includes('hunter'), errorOf(new Error(long)).message);
      assert.ok(errorOf(new Error('y'.repeat(10_000))).message.length <= 301);
      // Plain addresses are no credentials.
      assert.equal(withoutCredentials('mail ops@example.com'), 'mail ops@example.com');
    });
  });

  describe('the log', function () {
    let now: number;
    let log: CommandLog;
    let changes: number;

    beforeEach(function () {
      now = T0;
      changes = 0;
      log = new CommandLog({ now: () => now, changed: () => changes++ });
    });

    it('follows a send from the create request through its statuses, its answer and its error', function () {
      const key = log.begin({ node: NODE, msgid: 'm1', kind: 'ip', sim: 'tracker-7', payload: 'ping' });
      assert.match(key, /^n:n1:m1:\d+$/);
      now += 100;
      log.created(key, { sid: sid('HG', 9), status: 'queued', sim_sid: sid('HS', 1), payload: 'ping', url: 'https://api.example.com/v1/IpCommands/HG…', account_sid: 'AC…' });
      now += 100;
      log.status(key, { sid: sid('HG', 9), status: 'sent' });
      log.status(key, { sid: sid('HG', 9), status: 'sent' });
      now += 100;
      log.answered(key, 'pong');
      const row = log.get(key);
      assert.deepEqual(row, {
        key,
        time: '2026-03-01T10:00:00.000Z',
        kind: 'ip',
        sim: 'tracker-7',
        direction: 'to_sim',
        sid: sid('HG', 9),
        payload: 'ping',
        statuses: [
          { status: 'creating', at: '2026-03-01T10:00:00.000Z' },
          { status: 'queued', at: '2026-03-01T10:00:00.100Z' },
          { status: 'sent', at: '2026-03-01T10:00:00.200Z' },
        ],
        error: null,
        answer: { payload: 'pong', at: '2026-03-01T10:00:00.300Z' },
        attempts: 1,
        node: NODE,
      });
      log.status(key, { sid: sid('HG', 9), status: 'failed', error_code: 30003, error_message: 'Unreachable' });
      assert.deepEqual(log.get(key)?.error, { code: 30003, message: 'Unreachable' });
      assert.ok(changes >= 5);
      assert.equal(log.keyOfSid(sid('HG', 9)), key);
    });

    it('a create refused ends the row with the error; unknown statuses are ignored', function () {
      const key = log.begin({ node: NODE, msgid: 'm1', kind: 'sms', sim: 'tracker-7', payload: 'x' });
      log.status(key, { status: 'exploded' });
      log.failed(key, new Error('refused'));
      assert.deepEqual(log.get(key)?.statuses.map((s) => s.status), ['creating']);
      assert.deepEqual(log.get(key)?.error, { code: null, message: 'refused' });
    });

    it('keeps at most 10 statuses, the newest', function () {
      const key = log.begin({ node: NODE, msgid: 'm1', kind: 'ip', sim: 's', payload: 'x' });
      for (let i = 0; i < 30; i++) log.status(key, { status: i % 2 === 0 ? 'queued' : 'sent' });
      assert.equal(log.get(key)?.statuses.length, MAX_STATUSES);
      assert.equal(log.get(key)?.statuses[MAX_STATUSES - 1].status, 'sent');
    });

    it('makes a new row when the same message goes through the same node again', function () {
      const first = log.begin({ node: NODE, msgid: 'm1', kind: 'ip', sim: 's', payload: 'a' });
      const second = log.begin({ node: NODE, msgid: 'm1', kind: 'ip', sim: 's', payload: 'b' });
      const third = log.begin({ node: NODE, msgid: 'm1', kind: 'ip', sim: 's', payload: 'c' });
      assert.match(first, /^n:n1:m1:/);
      assert.equal(new Set([first, second, third]).size, 3, 'a row each');
      assert.equal(log.size, 3);
      assert.deepEqual([second, third].map((key) => log.get(key)?.payload), ['b', 'c']);
    });

    it('gives a message sent many times through one node a row each time, the newest 500 kept, each key new', function () {
      const keys = new Set<string>();
      for (let i = 0; i < 2000; i++) keys.add(log.begin({ node: NODE, msgid: 'm1', kind: 'ip', sim: 's', payload: String(i) }));
      assert.equal(keys.size, 2000, 'never a key used before, even one whose row was dropped');
      assert.equal(log.size, 500);
      assert.equal(log.snapshot().rows[0].payload, '1999', 'the newest first');
    });

    it('keeps the newest 500 rows and tells the editor which rows it held were dropped', function () {
      assert.equal(MAX_ROWS, 500);
      const keys: string[] = [];
      for (let i = 0; i < 10; i++) {
        const key = log.begin({ node: NODE, msgid: `m${i}`, kind: 'ip', sim: 's', payload: 'x' });
        log.created(key, { sid: sid('HG', i), status: 'queued' });
        keys.push(key);
      }
      const first = log.takeBatch();
      assert.deepEqual(
        first?.rows.map((row) => row.key),
        [...keys].reverse(),
        'newest first',
      );
      for (let i = 10; i < 1000; i++) log.begin({ node: NODE, msgid: `m${i}`, kind: 'ip', sim: 's', payload: 'x' });
      assert.equal(log.size, 500);
      const batch = log.takeBatch();
      assert.equal(batch?.rows.length, 500);
      assert.match(batch?.rows[0].key ?? '', /^n:n1:m999:/);
      assert.match(batch?.rows[499].key ?? '', /^n:n1:m500:/);
      // Only the ten the editor was sent; the 490 born and dropped since were never news.
      assert.deepEqual(batch?.removed, keys);
      assert.equal(log.keyOfSid(sid('HG', 0)), undefined, 'a dropped row’s SID is forgotten');
      assert.equal(log.takeBatch(), undefined, 'nothing changed since');
      assert.equal(log.snapshot().rows.length, 500);
    });

    it('rows a snapshot held count as held when dropped later', function () {
      const old = log.begin({ node: NODE, msgid: 'old', kind: 'ip', sim: 's', payload: 'x' });
      assert.equal(log.snapshot().rows.length, 1);
      log.takeBatch();
      for (let i = 0; i < 500; i++) log.begin({ node: NODE, msgid: `m${i}`, kind: 'ip', sim: 's', payload: 'x' });
      assert.deepEqual(log.takeBatch()?.removed, [old]);
    });

    it('a command from a SIM is a row of its own; a status callback updates the sender’s row by SID', function () {
      const key = log.begin({ node: NODE, msgid: 'm1', kind: 'ip', sim: 'tracker-7', payload: 'ping' });
      log.created(key, { sid: sid('HG', 9), status: 'queued' });
      log.received(event({ sid: sid('HG', 9), direction: 'to_sim', status: 'sent' }), IN_NODE);
      log.received(event({ sid: sid('HG', 10), direction: 'from_sim', status: 'received', payload: Buffer.from('pong'), payloadType: 'binary' }), IN_NODE);
      assert.equal(log.size, 2);
      assert.deepEqual(log.get(key)?.statuses.map((s) => s.status), ['creating', 'queued', 'sent']);
      assert.equal(log.get(key)?.node, NODE);
      const received = log.get(`sid:${sid('HG', 10)}`);
      assert.equal(received?.direction, 'from_sim');
      assert.equal(received?.sim, 'tracker-7');
      assert.equal(received?.payload, 'pong');
      assert.equal(received?.node, IN_NODE);
      // A command sent elsewhere: its status is a row of command-in's.
      log.received(event({ sid: sid('HC', 3), kind: 'sms', direction: 'to_sim', status: 'failed', errorCode: 30008, errorMessage: 'Unknown error' }), IN_NODE);
      const other = log.get(`sid:${sid('HC', 3)}`);
      assert.equal(other?.node, IN_NODE);
      assert.deepEqual(other?.error, { code: 30008, message: 'Unknown error' });
      // The same callback again changes nothing.
      log.takeBatch();
      log.received(event({ sid: sid('HC', 3), kind: 'sms', direction: 'to_sim', status: 'failed' }), IN_NODE);
      assert.equal(log.takeBatch(), undefined);
    });

    it('keeps one row per message across attempts, the latest SID and the earlier ones', function () {
      const key = log.begin({ node: NODE, msgid: 'm1', kind: 'ip', sim: 'tracker-7', payload: 'ping' });
      log.created(key, { sid: sid('HG', 1), status: 'queued' });
      const record = { id: 'r1', kind: 'ip' as const, sim: 'tracker-7', attempt: 1, sid: sid('HG', 1), earlierSids: [] as string[] };
      assert.equal(log.followed(NODE, record), key);
      log.status(key, { status: 'failed' });
      const second = { ...record, attempt: 2, sid: sid('HG', 2), earlierSids: [sid('HG', 1)] };
      const again = log.followed(NODE, second);
      assert.equal(again, key);
      log.status(again, { status: 'queued' });
      const row = log.get(key);
      assert.equal(row?.attempts, 2);
      assert.equal(row?.sid, sid('HG', 2));
      assert.deepEqual(row?.earlierSids, [sid('HG', 1)]);
      assert.equal(log.keyOfSid(sid('HG', 2)), key);
      assert.equal(log.size, 1);
      for (let i = 3; i < 12; i++) log.followed(NODE, { ...record, attempt: i, sid: sid('HG', i), earlierSids: [sid('HG', i - 1)] });
      assert.equal(log.get(key)?.earlierSids?.length, 5, 'at most five earlier SIDs');
      assert.equal(log.keyOfSid(sid('HG', 1)), undefined);
    });

    it('a message resumed after a restart gets a row when its engine first reports it', function () {
      const key = log.followed(NODE, { id: 'r7', kind: 'sms', sim: 'tracker-7', attempt: 3, sid: sid('HC', 7), earlierSids: [sid('HC', 5), sid('HC', 6)] });
      assert.equal(key, 'n:n1:r7');
      const row = log.get(key);
      assert.equal(row?.kind, 'sms');
      assert.equal(row?.attempts, 3);
      assert.equal(row?.sid, sid('HC', 7));
      assert.equal(log.followed(NODE, { id: 'r7', kind: 'sms', sim: 'tracker-7', attempt: 3, sid: sid('HC', 7), earlierSids: [] }), key);
      assert.equal(log.size, 1);
    });

    it('a clear forgets every row, and the next batch says so first', function () {
      log.begin({ node: NODE, msgid: 'm1', kind: 'ip', sim: 's', payload: 'x' });
      log.takeBatch();
      log.clear();
      const m2 = log.begin({ node: NODE, msgid: 'm2', kind: 'ip', sim: 's', payload: 'y' });
      const batch = log.takeBatch();
      assert.equal(batch?.cleared, true);
      assert.deepEqual(
        batch?.rows.map((row) => row.key),
        [m2],
      );
      assert.equal(batch?.removed, undefined);
      log.clear();
      assert.deepEqual(log.takeBatch(), { rows: [], cleared: true });
    });

    it('rows carry only what the sidebar shows: no resource URL, account SID or callback URL', function () {
      const key = log.begin({ node: NODE, msgid: 'm1', kind: 'ip', sim: 'tracker-7', payload: 'ping' });
      log.created(key, {
        sid: sid('HG', 1),
        status: 'queued',
        account_sid: 'ACsecretaccount',
        url: 'https://supersim.example.com/v1/IpCommands/HG1',
        callback_url: 'https://user:pass@hooks.example.com/',
      });
      const text = JSON.stringify(log.snapshot());
      for (const hidden of ['ACsecretaccount', 'supersim.example.com', 'user:pass', 'hooks.example.com']) assert.ok(!text.includes(hidden), hidden);
    });
  });
});
