import assert from 'node:assert/strict';
import type { CommandStatus } from '../../src/api/types.js';
import type { Transition } from '../../src/commands/index.js';
import { FINAL_STATUSES, classifyTransition, isCommandStatus, isFinalStatus, isForward } from '../../src/commands/index.js';

const STATUSES: CommandStatus[] = ['queued', 'sent', 'delivered', 'failed', 'received'];

/** Every (previous → next) pair, read row by row: previous on the left, next in STATUSES order. */
const TABLE: Record<CommandStatus, Transition[]> = {
  queued: ['duplicate', 'forward', 'forward', 'forward', 'forward'],
  sent: ['regression', 'duplicate', 'forward', 'forward', 'forward'],
  delivered: ['after-final', 'after-final', 'duplicate', 'after-final', 'after-final'],
  failed: ['after-final', 'after-final', 'after-final', 'duplicate', 'after-final'],
  received: ['after-final', 'after-final', 'after-final', 'after-final', 'duplicate'],
};

describe('commands: lifecycle', () => {
  it('knows the five statuses and nothing else', () => {
    for (const status of STATUSES) assert.equal(isCommandStatus(status), true, status);
    for (const other of ['Delivered', 'undelivered', '', 'toString', 'constructor', undefined, null, 1, {}]) {
      assert.equal(isCommandStatus(other), false, String(other));
    }
  });

  it('treats failed, delivered and received as final', () => {
    assert.deepEqual([...FINAL_STATUSES].sort(), ['delivered', 'failed', 'received']);
    assert.deepEqual(STATUSES.filter(isFinalStatus), ['delivered', 'failed', 'received']);
  });

  it('classifies the first known status as first', () => {
    for (const status of STATUSES) assert.equal(classifyTransition(undefined, status), 'first');
  });

  for (const previous of STATUSES) {
    it(`classifies every status after ${previous}`, () => {
      assert.deepEqual(
        STATUSES.map((next) => classifyTransition(previous, next)),
        TABLE[previous],
      );
    });
  }

  it('classifies anything that is not a status as unknown-status, whatever came before', () => {
    for (const previous of [undefined, ...STATUSES]) {
      for (const next of ['bogus', 'Sent', '', undefined, null, 2, 'hasOwnProperty']) {
        assert.equal(classifyTransition(previous, next), 'unknown-status', `${String(previous)} -> ${String(next)}`);
      }
    }
  });

  it('isForward is true exactly for first and forward', () => {
    for (const previous of [undefined, ...STATUSES]) {
      for (const next of [...STATUSES, 'bogus']) {
        const transition = classifyTransition(previous, next);
        assert.equal(isForward(previous, next), transition === 'first' || transition === 'forward', `${String(previous)} -> ${next}`);
      }
    }
    assert.equal(isForward('queued', 'sent'), true);
    assert.equal(isForward('sent', 'queued'), false);
    assert.equal(isForward('delivered', 'failed'), false);
  });
});
