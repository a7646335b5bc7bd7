import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from '../../src/util/duration.js';

describe('durations', () => {
  it('parses Go-style durations', () => {
    assert.equal(parseDuration('--ttl', '24h'), 86_400_000);
    assert.equal(parseDuration('--ttl', '1h30m'), 5_400_000);
    assert.equal(parseDuration('--ttl', '90s'), 90_000);
    assert.equal(parseDuration('--ttl', '250ms'), 250);
    assert.equal(parseDuration('--ttl', '0'), 0);
  });
  it('rejects anything else naming the flag and the value', () => {
    for (const bad of ['', '10', 'h', '1x', '-1h', '1h foo']) {
      assert.throws(() => parseDuration('--timeout', bad), (e: Error) => e.message.includes(`invalid --timeout "${bad}"`));
    }
  });
  it('formats back', () => {
    assert.equal(formatDuration(5_400_000), '1h30m');
    assert.equal(formatDuration(0), '0');
  });
});
