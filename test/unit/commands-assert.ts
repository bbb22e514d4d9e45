import assert from 'node:assert/strict';
import { CommandValidationError } from '../../src/commands/index.js';

export interface ExpectedError {
  field: string;
  limit?: number | string;
  actual?: number | string;
  /** Text (numbers included) the message must contain, so a user can act on it. */
  mentions?: readonly (string | number)[];
}

/** Runs `fn`, asserts it threw a CommandValidationError with these properties, and returns it. */
export function assertRejects(fn: () => unknown, expected: ExpectedError): CommandValidationError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CommandValidationError, `expected a CommandValidationError, got ${String(caught)}`);
  assert.equal(caught.field, expected.field);
  if ('limit' in expected) assert.equal(caught.limit, expected.limit);
  if ('actual' in expected) assert.equal(caught.actual, expected.actual);
  for (const text of expected.mentions ?? []) {
    assert.ok(caught.message.includes(String(text)), `message ${JSON.stringify(caught.message)} should mention ${JSON.stringify(text)}`);
  }
  return caught;
}
