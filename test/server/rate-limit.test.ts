// The token bucket behind --max-lease-grants-per-second, on a clock the test moves by hand.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBucket } from '../../src/server/api/rate-limit.js';

test('a burst of up to the rate passes at once; the next one is refused', () => {
  const bucket = new TokenBucket(3);
  assert.deepEqual(
    [0, 0, 0, 0].map(() => bucket.tryTake(1_000)),
    [true, true, true, false],
  );
});

test('tokens come back at the rate: one per 1000/rate ms, never more than the rate', () => {
  const bucket = new TokenBucket(2);
  assert.equal(bucket.tryTake(0), true);
  assert.equal(bucket.tryTake(0), true);
  assert.equal(bucket.tryTake(0), false);
  assert.equal(bucket.tryTake(499), false);
  assert.equal(bucket.tryTake(500), true);
  // A long quiet spell refills to the rate, not beyond.
  assert.deepEqual(
    [0, 0, 0].map(() => bucket.tryTake(60_000)),
    [true, true, false],
  );
});

test('a clock that goes back does not mint tokens', () => {
  const bucket = new TokenBucket(1);
  assert.equal(bucket.tryTake(10_000), true);
  assert.equal(bucket.tryTake(5_000), false);
  assert.equal(bucket.tryTake(10_000), false);
});
