import assert from 'node:assert/strict';
import { commandEventOf, toCommandEvent } from '../../src/callbacks';

const HG = `HG${'1'.repeat(32)}`;
const HC = `HC${'2'.repeat(32)}`;
const DC = `DC${'3'.repeat(32)}`;
const HS = `HS${'4'.repeat(32)}`;
const AC = `AC${'5'.repeat(32)}`;
const BYTES = Buffer.from([0x00, 0xff, 0x80, 0x0a]);

describe('commandEventOf (a listed command as command-in’s event)', function () {
  it('reads a binary IP Command as the event its callback makes, payload decoded to its bytes', function () {
    const resource = {
      sid: HG,
      account_sid: AC,
      sim_sid: HS,
      sim_iccid: '8988307000000000001',
      status: 'received',
      direction: 'from_sim',
      device_ip: '100.64.0.1',
      device_port: 7000,
      payload_type: 'binary',
      payload: BYTES.toString('base64'),
      date_created: '2026-01-01T12:00:00Z',
    };
    const event = commandEventOf('ip', resource);
    const fromCallback = toCommandEvent(
      { CommandSid: HG, AccountSid: AC, SimSid: HS, SimIccid: '8988307000000000001', Status: 'received', Direction: 'from_sim', PayloadType: 'binary', Payload: resource.payload },
      null,
    );
    assert.deepEqual(event, { ...fromCallback, params: {} });
    assert.deepEqual(event.payload, BYTES);
    assert.deepEqual(event.sim, { sid: HS, uniqueName: null, iccid: '8988307000000000001' });
    assert.equal(event.idempotencyToken, null);
  });

  it('reads SMS payloads as text, and a unique name when the resource has one', function () {
    const event = commandEventOf('sms', { sid: HC, sim_sid: HS, sim_unique_name: 'meter', status: 'received', direction: 'from_sim', payload: 'héllo +&=' });
    assert.deepEqual([event.kind, event.payloadType, event.payload, event.rawPayload], ['sms', 'text', 'héllo +&=', 'héllo +&=']);
    assert.deepEqual(event.sim, { sid: HS, uniqueName: 'meter', iccid: null });
  });

  it('reads Wireless command and command_mode', function () {
    const text = commandEventOf('wireless', { sid: DC, sim_sid: HS, status: 'received', direction: 'from_sim', command: 'ping', command_mode: 'text' });
    assert.deepEqual([text.payloadType, text.payload], ['text', 'ping']);
    const binary = commandEventOf('wireless', { sid: DC, sim_sid: HS, status: 'received', direction: 'from_sim', command: BYTES.toString('base64'), command_mode: 'binary' });
    assert.deepEqual(binary.payload, BYTES);
  });

  it('reads status, error code and message as a callback carries them', function () {
    const event = commandEventOf('ip', { sid: HG, status: 'failed', direction: 'to_sim', error_code: 20001, error_message: 'unreachable', payload_type: 'text', payload: 'x' });
    assert.deepEqual([event.status, event.direction, event.errorCode, event.errorMessage], ['failed', 'to_sim', 20001, 'unreachable']);
    assert.equal(commandEventOf('ip', { sid: HG, error_code: '30' }).errorCode, 30);
  });

  it('takes every field null or absent without throwing', function () {
    const nulls = {
      sid: null, account_sid: null, sim_sid: null, sim_iccid: null, status: null, direction: null,
      payload_type: null, payload: null, command: null, command_mode: null, error_code: null, error_message: null,
    };
    for (const kind of ['ip', 'sms', 'wireless'] as const) {
      for (const resource of [nulls, {}]) {
        const event = commandEventOf(kind, resource);
        assert.equal(event.sid, '');
        assert.equal(event.direction, 'to_sim');
        assert.equal(event.status, 'queued');
        assert.deepEqual(event.sim, { sid: null, uniqueName: null, iccid: null });
        assert.equal(event.payload, null);
        assert.equal(event.errorCode, null);
        assert.deepEqual(event.params, {});
      }
    }
    // A `received` command is one from the SIM, as for a callback without Direction.
    assert.equal(commandEventOf('ip', { status: 'received' }).direction, 'from_sim');
    assert.equal(commandEventOf('ip', { direction: 'from_sim' }).status, 'received');
  });

  it('keeps a payload the API mangled raw instead of throwing; an empty binary payload is no bytes', function () {
    const bad = commandEventOf('ip', { sid: HG, payload_type: 'binary', payload: 'not base64!' });
    assert.deepEqual([bad.payload, bad.rawPayload], [null, 'not base64!']);
    assert.deepEqual(commandEventOf('ip', { sid: HG, payload_type: 'binary', payload: '' }).payload, Buffer.alloc(0));
  });
});
