import assert from 'node:assert/strict';
import {
  CommandValidationError,
  SIM_SID_PATTERN,
  validateCallbackMethod,
  validateCallbackUrl,
  validateCommandMode,
  validateDevicePort,
  validateIncludeSid,
  validateIpPayloadType,
  validateSimReference,
} from '../../src/commands/index.js';
import { assertRejects } from './commands-assert.js';

const HEX32 = '0123456789abcdefABCDEF0123456789';

describe('commands: CommandValidationError', () => {
  it('is an Error carrying field, limit and actual', () => {
    const err = new CommandValidationError('payload', 'payload is 1301 bytes', { limit: 1300, actual: 1301 });
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'CommandValidationError');
    assert.equal(err.message, 'payload is 1301 bytes');
    assert.deepEqual([err.field, err.limit, err.actual], ['payload', 1300, 1301]);
  });

  it('leaves limit and actual unset when not given', () => {
    const err = new CommandValidationError('sim', 'sim is blank');
    assert.equal(err.limit, undefined);
    assert.equal(err.actual, undefined);
  });

  it('truncates a string actual to 40 characters, so a huge payload never lands in a log', () => {
    assert.equal(new CommandValidationError('x', 'm', { actual: 'a'.repeat(40) }).actual, 'a'.repeat(40));
    const long = new CommandValidationError('x', 'm', { actual: 'a'.repeat(41) }).actual;
    assert.equal(typeof long === 'string' && long.length, 40);
    assert.notEqual(long, 'a'.repeat(40));
  });
});

describe('commands: validateSimReference', () => {
  it('accepts Super SIM (HS) and Wireless (DE) SIDs in either hex case', () => {
    assert.equal(validateSimReference(`HS${HEX32}`), `HS${HEX32}`);
    assert.equal(validateSimReference(`DE${HEX32}`), `DE${HEX32}`);
    assert.ok(SIM_SID_PATTERN.test(`HS${'a'.repeat(32)}`));
    assert.equal(SIM_SID_PATTERN.test(`HG${'a'.repeat(32)}`), false);
  });

  it('trims surrounding whitespace', () => {
    assert.equal(validateSimReference(`  HS${HEX32}\n`), `HS${HEX32}`);
    assert.equal(validateSimReference(' pump-7 '), 'pump-7');
  });

  it('accepts unique names, including ones that merely start with HS or DE', () => {
    for (const name of ['pump-7', 'my sensor', 'DEADBEEF', 'HSBC01', 'Déjà-vu', 'x'.repeat(64)]) {
      assert.equal(validateSimReference(name), name);
    }
  });

  it('stringifies a finite number (a numeric unique name from a function node)', () => {
    assert.equal(validateSimReference(12345), '12345');
  });

  it('rejects blank values', () => {
    for (const blank of ['', '   ', '\t']) {
      assertRejects(() => validateSimReference(blank), { field: 'sim', actual: 0, mentions: ['SIM', 'blank', 'unique name'] });
    }
  });

  it('rejects what is not a string', () => {
    for (const value of [undefined, null, {}, true, Number.NaN, Number.POSITIVE_INFINITY]) {
      assertRejects(() => validateSimReference(value), { field: 'sim', mentions: ['SIM', 'SID'] });
    }
  });

  it('rejects names longer than 64 characters, naming the length and the limit', () => {
    assertRejects(() => validateSimReference('x'.repeat(65)), { field: 'sim', limit: 64, actual: 65, mentions: ['65', '64'] });
  });

  it('rejects "/" and control characters', () => {
    for (const bad of ['pump/7', 'pump\n7', 'pump\u00007', 'pump\u007f']) {
      assertRejects(() => validateSimReference(bad), { field: 'sim', mentions: ['"/"', 'control'] });
    }
  });

  it('rejects a 34-character HS/DE string with non-hex characters as a malformed SID', () => {
    assertRejects(() => validateSimReference(`HS${HEX32.slice(1)}g`), {
      field: 'sim',
      limit: 32,
      mentions: ['32 hex digits', 'not all of them hex'],
    });
    assertRejects(() => validateSimReference(`DE${'O'.repeat(32)}`), { field: 'sim', limit: 32, mentions: ['32 hex digits'] });
  });

  it('rejects HS/DE followed by one hex digit too few or too many', () => {
    assertRejects(() => validateSimReference(`HS${HEX32.slice(1)}`), { field: 'sim', limit: 32, mentions: ['32 hex digits', '31 characters'] });
    assertRejects(() => validateSimReference(`DE${HEX32}a`), { field: 'sim', limit: 32, mentions: ['33 characters'] });
  });

  it('names a custom field', () => {
    assertRejects(() => validateSimReference('', 'msg.sim'), { field: 'msg.sim', mentions: ['msg.sim'] });
  });
});

describe('commands: validateDevicePort', () => {
  it('accepts 1 and 65535, as numbers or decimal strings', () => {
    assert.equal(validateDevicePort(1), 1);
    assert.equal(validateDevicePort(65535), 65535);
    assert.equal(validateDevicePort('80'), 80);
    assert.equal(validateDevicePort(' 6000 '), 6000);
    assert.equal(validateDevicePort('65535'), 65535);
  });

  it('rejects 0 and 65536 with the range in the message', () => {
    assertRejects(() => validateDevicePort(0), { field: 'devicePort', limit: '1-65535', actual: 0, mentions: ['1 to 65535', 'got 0'] });
    assertRejects(() => validateDevicePort(65536), { field: 'devicePort', limit: '1-65535', actual: 65536, mentions: ['65536'] });
    assertRejects(() => validateDevicePort('65536'), { field: 'devicePort', actual: '65536' });
  });

  it('rejects text, fractions and non-numbers with the exact wording users see', () => {
    const err = assertRejects(() => validateDevicePort('abc'), { field: 'devicePort', limit: '1-65535', actual: 'abc' });
    assert.equal(err.message, 'Device port must be a whole number from 1 to 65535; got "abc"');
    for (const bad of [1.5, '1.5', '', '  ', Number.NaN, null, undefined, '-1', '1e3', '0x50', true, [80]]) {
      assertRejects(() => validateDevicePort(bad), { field: 'devicePort', limit: '1-65535' });
    }
  });

  it('names a custom field', () => {
    assertRejects(() => validateDevicePort(0, 'msg.devicePort'), { field: 'msg.devicePort', mentions: ['msg.devicePort'] });
  });
});

describe('commands: validateCallbackUrl', () => {
  it('treats blank as not set', () => {
    for (const blank of [undefined, null, '', '  ']) assert.equal(validateCallbackUrl(blank), undefined);
  });

  it('accepts absolute http and https URLs, trimmed and otherwise unchanged', () => {
    assert.equal(validateCallbackUrl('https://nodered.example.com/supersim?x=1'), 'https://nodered.example.com/supersim?x=1');
    assert.equal(validateCallbackUrl(' http://localhost:1880/cb '), 'http://localhost:1880/cb');
  });

  it('rejects relative URLs, other schemes and non-strings', () => {
    for (const bad of ['/supersim/cb', 'nodered.example.com/cb', 'ftp://example.com/cb', 'mailto:ops@example.com', 'http//x', 42]) {
      assertRejects(() => validateCallbackUrl(bad), { field: 'callbackUrl', limit: 'absolute http(s) URL', mentions: ['Callback URL', 'http'] });
    }
    assertRejects(() => validateCallbackUrl('ftp://example.com/cb'), { field: 'callbackUrl', actual: 'ftp://example.com/cb', mentions: ['"ftp://example.com/cb"'] });
  });
});

describe('commands: enumerated fields', () => {
  it('callbackMethod: blank is not set, GET/POST in any case', () => {
    assert.equal(validateCallbackMethod(''), undefined);
    assert.equal(validateCallbackMethod(undefined), undefined);
    assert.equal(validateCallbackMethod('get'), 'GET');
    assert.equal(validateCallbackMethod(' Post '), 'POST');
    assertRejects(() => validateCallbackMethod('PUT'), { field: 'callbackMethod', limit: 'GET, POST', actual: 'PUT', mentions: ['GET, POST', '"PUT"'] });
    assertRejects(() => validateCallbackMethod(1), { field: 'callbackMethod' });
  });

  it('payloadType: blank is auto; auto, text, binary', () => {
    assert.equal(validateIpPayloadType(undefined), 'auto');
    assert.equal(validateIpPayloadType(''), 'auto');
    assert.equal(validateIpPayloadType('text'), 'text');
    assert.equal(validateIpPayloadType('Binary'), 'binary');
    assertRejects(() => validateIpPayloadType('base64'), { field: 'payloadType', limit: 'auto, text, binary', actual: 'base64' });
  });

  it('commandMode: blank is text; text, binary', () => {
    assert.equal(validateCommandMode(undefined), 'text');
    assert.equal(validateCommandMode(''), 'text');
    assert.equal(validateCommandMode('binary'), 'binary');
    assertRejects(() => validateCommandMode('pdu'), { field: 'commandMode', limit: 'text, binary', actual: 'pdu' });
  });

  it('includeSid: blank is none; none, start, end', () => {
    assert.equal(validateIncludeSid(undefined), 'none');
    assert.equal(validateIncludeSid(''), 'none');
    assert.equal(validateIncludeSid('start'), 'start');
    assert.equal(validateIncludeSid('END'), 'end');
    assertRejects(() => validateIncludeSid('both'), { field: 'includeSid', limit: 'none, start, end', actual: 'both' });
  });

  it('names a custom field', () => {
    assertRejects(() => validateCommandMode('x', 'msg.commandMode'), { field: 'msg.commandMode', mentions: ['msg.commandMode'] });
  });
});
