import { strict as assert } from 'node:assert';
import { collapseRuns, trimBoth, trimTrailing } from '../../src/shared/text';

describe('src/shared/text', function () {
  it('trims a trailing run', function () {
    assert.equal(trimTrailing('https://a.example/x///', '/'), 'https://a.example/x');
    assert.equal(trimTrailing('///', '/'), '');
    assert.equal(trimTrailing('abc', '/'), 'abc');
  });

  it('trims both ends and collapses runs', function () {
    assert.equal(trimBoth('//a/b//', '/'), 'a/b');
    assert.equal(collapseRuns('//a///b/', '/'), '/a/b/');
  });

  it('handles 1 000 000 slashes in linear time (the regular expressions it replaces took seconds for 40 000)', function () {
    this.timeout(5000);
    const slashes = '/'.repeat(1_000_000);
    assert.equal(trimTrailing(`a${slashes}b${slashes}`, '/').length, 1_000_002);
    assert.equal(trimBoth(`${slashes}a${slashes}`, '/'), 'a');
    assert.equal(collapseRuns(`${slashes}a`, '/'), '/a');
  });
});
