import { strict as assert } from 'node:assert';
import { timeOfDay } from '../../nodes/lib/time-of-day';
import { webhookServerPath } from '../../src/receiving';
import { withTrackingCallback } from '../../src/sending/requests';
import { blankToUndefined, isBlank, joinPath } from '../../src/shared/text';

describe('shared helpers, one home each', function () {
  it('isBlank: undefined, null and white space are "not set here"; anything else is set', function () {
    for (const blank of [undefined, null, '', '  ', '\t\n']) assert.equal(isBlank(blank), true, JSON.stringify(blank));
    for (const set of [0, false, 'x', ' x ', [], {}]) assert.equal(isBlank(set), false, JSON.stringify(set));
  });

  it('blankToUndefined: trims a configured text, and a blank one gives way to the default', function () {
    assert.equal(blankToUndefined(undefined), undefined);
    assert.equal(blankToUndefined('   '), undefined);
    assert.equal(blankToUndefined(' kore '), 'kore');
  });

  it('joinPath: one slash between parts, the same join the webhook path uses', function () {
    assert.equal(joinPath('/api/', '//supersim', 'status/'), '/api/supersim/status');
    assert.equal(joinPath('', '/'), '/');
    for (const [root, path] of [['/', '/hook'], ['/api/', '/hook/'], ['//', '//'], ['red', 'a/b']]) {
      assert.equal(webhookServerPath(root, path), joinPath(root, path));
    }
  });

  it('withTrackingCallback: the tracking URL by POST when the user set none; the user\'s URL wins', function () {
    const params: { sim: string; payload: string; callbackUrl?: string } = { sim: 'meter', payload: 'hi' };
    assert.deepEqual(withTrackingCallback(params, 'https://red.example/supersim/status/a1'), {
      ...params,
      callbackUrl: 'https://red.example/supersim/status/a1',
      callbackMethod: 'POST',
    });
    assert.equal(withTrackingCallback(params, undefined), params);
    const own = { ...params, callbackUrl: 'https://mine.example/cb', callbackMethod: 'GET' as const };
    assert.equal(withTrackingCallback(own, 'https://red.example/supersim/status/a1'), own);
  });

  it('timeOfDay: HH:MM:SS of the local time', function () {
    const at = new Date(2024, 0, 2, 3, 4, 5);
    assert.equal(timeOfDay(at), '03:04:05');
  });
});
