import assert from 'node:assert/strict';
import {
  IP_PAYLOAD_MAX_BYTES,
  WIRELESS_BINARY_MAX_BYTES,
  decodeBase64,
  encodeIpPayload,
  encodeSupersimSmsPayload,
  encodeWirelessCommand,
  isValidBase64,
} from '../../src/commands/index.js';
import { assertRejects } from './commands-assert.js';

const EMPTY_PAYLOADS: readonly unknown[] = [undefined, null, '', Buffer.alloc(0), new Uint8Array(0)];
const EMOJI = '😀'; // 4 bytes in UTF-8, 2 UTF-16 units, 1 character

describe('commands: Base64', () => {
  it('accepts the standard alphabet with or without padding', () => {
    for (const ok of ['aGk=', 'aGk', 'aGVsbG8', 'aGVsbG8=', 'aA==', 'aA', 'AAAA', '+/+/', 'aGl=']) {
      assert.equal(isValidBase64(ok), true, ok);
    }
  });

  it('rejects what Buffer would skip, truncate or misread', () => {
    const bad = ['', 'a', 'aGVsb', '@@@@', 'aGk=x', 'aG k=', 'aGk===', 'aG=k', 'aA=', '=', '==', 'aGk=\n', ' aGk=', 'aG-k', 'aG_k', 'aGk=aGk='];
    for (const text of bad) assert.equal(isValidBase64(text), false, JSON.stringify(text));
  });

  it('decodes valid Base64, padded or not', () => {
    assert.equal(decodeBase64('aGk', 'payload').toString('utf8'), 'hi');
    assert.equal(decodeBase64('aGVsbG8=', 'payload').toString('utf8'), 'hello');
  });

  it('throws naming the field, the Base64 limit and the bad value', () => {
    assertRejects(() => decodeBase64('aGk=x', 'command'), { field: 'command', limit: 'Base64', actual: 'aGk=x', mentions: ['command', 'Base64', '"aGk=x"'] });
  });
});

describe('commands: encodeIpPayload', () => {
  it('auto sends strings, objects and scalars as text', () => {
    assert.deepEqual(encodeIpPayload('héllo'), { payload: 'héllo', payloadType: 'text', byteLength: 6 });
    assert.deepEqual(encodeIpPayload({ led: 'on', level: 3 }, 'auto'), { payload: '{"led":"on","level":3}', payloadType: 'text', byteLength: 22 });
    assert.deepEqual(encodeIpPayload([1, 2]), { payload: '[1,2]', payloadType: 'text', byteLength: 5 });
    assert.deepEqual(encodeIpPayload(42), { payload: '42', payloadType: 'text', byteLength: 2 });
    assert.deepEqual(encodeIpPayload(false), { payload: 'false', payloadType: 'text', byteLength: 5 });
    assert.deepEqual(encodeIpPayload(10n), { payload: '10', payloadType: 'text', byteLength: 2 });
  });

  it('auto sends a Buffer or Uint8Array as binary, Base64 on the wire', () => {
    assert.deepEqual(encodeIpPayload(Buffer.from([0, 1, 254, 255])), { payload: 'AAH+/w==', payloadType: 'binary', byteLength: 4 });
    assert.deepEqual(encodeIpPayload(new Uint8Array([104, 105])), { payload: 'aGk=', payloadType: 'binary', byteLength: 2 });
  });

  it('text sends a Buffer as its UTF-8 text, keeping a byte-order mark', () => {
    assert.deepEqual(encodeIpPayload(Buffer.from('é€', 'utf8'), 'text'), { payload: 'é€', payloadType: 'text', byteLength: 5 });
    assert.equal(encodeIpPayload(Buffer.from([0xef, 0xbb, 0xbf, 0x61]), 'text').payload, '\ufeffa');
  });

  it('text rejects a Buffer that is not UTF-8, pointing at payloadType binary', () => {
    assertRejects(() => encodeIpPayload(Buffer.from([0x61, 0xff, 0x62]), 'text'), {
      field: 'payload',
      limit: 'UTF-8',
      actual: 3,
      mentions: ['3 bytes', 'UTF-8', 'Payload type to binary'],
    });
  });

  it('binary sends a Buffer as Base64 and re-encodes a Base64 string canonically', () => {
    assert.deepEqual(encodeIpPayload(Buffer.from('hi'), 'binary'), { payload: 'aGk=', payloadType: 'binary', byteLength: 2 });
    assert.deepEqual(encodeIpPayload('aGk', 'binary'), { payload: 'aGk=', payloadType: 'binary', byteLength: 2 });
    assert.deepEqual(encodeIpPayload('aGVsbG8=', 'binary'), { payload: 'aGVsbG8=', payloadType: 'binary', byteLength: 5 });
  });

  it('binary rejects a string that is not Base64, suggesting payloadType text', () => {
    for (const bad of ['a', '@@@@', 'aGk=x', 'aG k=', 'aGk===', 'hello world']) {
      assertRejects(() => encodeIpPayload(bad, 'binary'), { field: 'payload', limit: 'Base64', actual: bad, mentions: ['Base64', 'Payload type to text'] });
    }
  });

  it('binary rejects objects and numbers', () => {
    for (const bad of [{ a: 1 }, 42, true]) {
      assertRejects(() => encodeIpPayload(bad, 'binary'), { field: 'payload', limit: 'Buffer or Base64 string', mentions: ['binary needs a Buffer or a Base64 string'] });
    }
  });

  it('rejects an empty payload in every payloadType', () => {
    for (const type of ['auto', 'text', 'binary'] as const) {
      for (const empty of EMPTY_PAYLOADS) {
        assertRejects(() => encodeIpPayload(empty, type), { field: 'payload', limit: IP_PAYLOAD_MAX_BYTES, actual: 0, mentions: ['empty', '1300'] });
      }
    }
  });

  it('rejects payloads with no text form', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const err = assertRejects(() => encodeIpPayload(circular), { field: 'payload', mentions: ['an object', 'circular'] });
    assert.equal(err.message.includes('\n'), false, 'one line, so it reads well in a status and a log');
    assertRejects(() => encodeIpPayload({ n: 1n }), { field: 'payload', mentions: ['BigInt'] });
    assertRejects(() => encodeIpPayload(() => 1), { field: 'payload', mentions: ['a function'] });
  });

  it('rejects an unknown payloadType', () => {
    assertRejects(() => encodeIpPayload('x', 'base64' as never), { field: 'payloadType', actual: 'base64' });
  });

  describe('1300-byte limit on UTF-8 text (bytes, not characters)', () => {
    const cases: [string, string, number][] = [
      ['2-byte é', 'é'.repeat(650), 650],
      ['3-byte €', `${'€'.repeat(433)}a`, 434],
      ['4-byte emoji', EMOJI.repeat(325), 325],
    ];
    for (const [label, at, characters] of cases) {
      it(`${label}: 1300 bytes (${characters} characters) pass, 1301 fail`, () => {
        assert.equal([...at].length, characters);
        assert.equal(encodeIpPayload(at, 'text').byteLength, 1300);
        assert.equal(encodeIpPayload(at).byteLength, 1300);
        assertRejects(() => encodeIpPayload(`${at}a`, 'text'), {
          field: 'payload',
          limit: 1300,
          actual: 1301,
          mentions: ['payload is 1301 bytes (UTF-8 text); an IP Command carries at most 1300 bytes'],
        });
      });
    }

    it('counts JSON text of an object', () => {
      const object = { s: 'é'.repeat(644) }; // {"s":"…"} = 8 + 1288 bytes
      assert.equal(encodeIpPayload(object).byteLength, 1296);
      assertRejects(() => encodeIpPayload({ s: 'é'.repeat(647) }), { field: 'payload', limit: 1300, actual: 1302 });
    });
  });

  describe('1300-byte limit on binary (decoded bytes, not Base64 characters)', () => {
    it('a Buffer of 1300 bytes passes, 1301 fails', () => {
      assert.equal(encodeIpPayload(Buffer.alloc(1300, 7)).byteLength, 1300);
      assertRejects(() => encodeIpPayload(Buffer.alloc(1301, 7)), {
        field: 'payload',
        limit: 1300,
        actual: 1301,
        mentions: ['1301 bytes (decoded binary)', 'at most 1300 bytes'],
      });
    });

    it('a Base64 string of 1300 decoded bytes passes, 1301 fails', () => {
      const at = Buffer.alloc(1300, 0xab).toString('base64');
      assert.equal(at.length, 1736);
      assert.equal(encodeIpPayload(at, 'binary').byteLength, 1300);
      assertRejects(() => encodeIpPayload(Buffer.alloc(1301, 0xab).toString('base64'), 'binary'), { field: 'payload', limit: 1300, actual: 1301 });
    });
  });
});

describe('commands: encodeSupersimSmsPayload', () => {
  it('sends strings as they are, objects as JSON and scalars as text', () => {
    assert.equal(encodeSupersimSmsPayload('LED ON'), 'LED ON');
    assert.equal(encodeSupersimSmsPayload({ led: 1 }), '{"led":1}');
    assert.equal(encodeSupersimSmsPayload(42), '42');
    assert.equal(encodeSupersimSmsPayload(true), 'true');
  });

  it('160 characters pass, 161 fail', () => {
    assert.equal(encodeSupersimSmsPayload('a'.repeat(160)).length, 160);
    assertRejects(() => encodeSupersimSmsPayload('a'.repeat(161)), {
      field: 'payload',
      limit: 160,
      actual: 161,
      mentions: ['payload is 161 characters', 'at most 160 characters'],
    });
  });

  it('counts characters, not bytes or UTF-16 units', () => {
    assert.equal(encodeSupersimSmsPayload('é'.repeat(160)), 'é'.repeat(160));
    assert.equal(encodeSupersimSmsPayload(EMOJI.repeat(160)), EMOJI.repeat(160));
    assertRejects(() => encodeSupersimSmsPayload(EMOJI.repeat(161)), { field: 'payload', limit: 160, actual: 161 });
  });

  it('rejects a Buffer: Super SIM SMS Commands carry text only', () => {
    for (const bytes of [Buffer.from('hi'), new Uint8Array([1, 2])]) {
      assertRejects(() => encodeSupersimSmsPayload(bytes), { field: 'payload', limit: 'text', actual: 2, mentions: ['text only', 'IP Command', 'binary Command'] });
    }
  });

  it('rejects an empty payload', () => {
    for (const empty of EMPTY_PAYLOADS) {
      assertRejects(() => encodeSupersimSmsPayload(empty), { field: 'payload', limit: 160, actual: 0, mentions: ['empty', '160'] });
    }
  });
});

describe('commands: encodeWirelessCommand', () => {
  it('defaults to text without the SID', () => {
    assert.deepEqual(encodeWirelessCommand('LED ON', {}), { command: 'LED ON', commandMode: 'text', length: 6 });
    assert.deepEqual(encodeWirelessCommand({ a: 1 }, { commandMode: 'text', includeSid: 'none' }), { command: '{"a":1}', commandMode: 'text', length: 7 });
  });

  it('text: 160 characters pass, 161 fail', () => {
    assert.equal(encodeWirelessCommand('a'.repeat(160), { includeSid: 'none' }).length, 160);
    assert.equal(encodeWirelessCommand(EMOJI.repeat(160), {}).length, 160);
    assertRejects(() => encodeWirelessCommand('a'.repeat(161), {}), {
      field: 'payload',
      limit: 160,
      actual: 161,
      mentions: ['payload is 161 characters', 'at most 160 characters'],
    });
  });

  for (const includeSid of ['start', 'end'] as const) {
    it(`text with includeSid ${includeSid}: 128 characters pass, 129 fail`, () => {
      assert.equal(encodeWirelessCommand('a'.repeat(128), { includeSid }).length, 128);
      assertRejects(() => encodeWirelessCommand('a'.repeat(129), { includeSid }), {
        field: 'payload',
        limit: 128,
        actual: 129,
        mentions: ['129 characters', 'at most 128 characters', `Include SID is "${includeSid}"`, 'SID', '160'],
      });
      assertRejects(() => encodeWirelessCommand('a'.repeat(160), { commandMode: 'text', includeSid }), { field: 'payload', limit: 128, actual: 160 });
    });
  }

  it('text rejects a Buffer, suggesting commandMode binary', () => {
    assertRejects(() => encodeWirelessCommand(Buffer.from([1, 2, 3]), {}), { field: 'payload', limit: 'text', actual: 3, mentions: ['3 bytes', 'Command mode to binary', '140'] });
  });

  it('binary sends a Buffer or Base64 string as canonical Base64', () => {
    assert.deepEqual(encodeWirelessCommand(Buffer.from('hi'), { commandMode: 'binary' }), { command: 'aGk=', commandMode: 'binary', length: 2 });
    assert.deepEqual(encodeWirelessCommand('aGk', { commandMode: 'binary', includeSid: 'none' }), { command: 'aGk=', commandMode: 'binary', length: 2 });
  });

  it('binary: 140 decoded bytes pass, 141 fail', () => {
    assert.equal(encodeWirelessCommand(Buffer.alloc(WIRELESS_BINARY_MAX_BYTES), { commandMode: 'binary' }).length, 140);
    assert.equal(encodeWirelessCommand(Buffer.alloc(140).toString('base64'), { commandMode: 'binary' }).length, 140);
    for (const over of [Buffer.alloc(141), Buffer.alloc(141).toString('base64')]) {
      assertRejects(() => encodeWirelessCommand(over, { commandMode: 'binary' }), {
        field: 'payload',
        limit: 140,
        actual: 141,
        mentions: ['141 bytes (decoded binary)', 'at most 140 bytes'],
      });
    }
  });

  it('binary rejects invalid Base64 and objects, suggesting commandMode text', () => {
    assertRejects(() => encodeWirelessCommand('aGk===', { commandMode: 'binary' }), { field: 'payload', limit: 'Base64', actual: 'aGk===', mentions: ['Command mode to text'] });
    assertRejects(() => encodeWirelessCommand({ a: 1 }, { commandMode: 'binary' }), { field: 'payload', mentions: ['Command mode binary needs a Buffer or a Base64 string'] });
  });

  for (const includeSid of ['start', 'end'] as const) {
    it(`binary rejects includeSid ${includeSid}: the API adds the SID in text mode only`, () => {
      assertRejects(() => encodeWirelessCommand(Buffer.from('hi'), { commandMode: 'binary', includeSid }), {
        field: 'includeSid',
        limit: 'none',
        actual: includeSid,
        mentions: [`Include SID is "${includeSid}"`, 'binary', 'set Include SID to none'],
      });
    });
  }

  it('rejects an empty payload in both modes', () => {
    for (const empty of EMPTY_PAYLOADS) {
      assertRejects(() => encodeWirelessCommand(empty, {}), { field: 'payload', limit: 160, actual: 0, mentions: ['empty'] });
      assertRejects(() => encodeWirelessCommand(empty, { includeSid: 'end' }), { field: 'payload', limit: 128, actual: 0 });
      assertRejects(() => encodeWirelessCommand(empty, { commandMode: 'binary' }), { field: 'payload', limit: 140, actual: 0, mentions: ['empty', '140 bytes'] });
    }
  });

  it('rejects an unknown commandMode or includeSid', () => {
    assertRejects(() => encodeWirelessCommand('x', { commandMode: 'pdu' as never }), { field: 'commandMode', actual: 'pdu' });
    assertRejects(() => encodeWirelessCommand('x', { includeSid: 'both' as never }), { field: 'includeSid', actual: 'both' });
  });
});
