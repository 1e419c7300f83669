import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvariantViolation } from '../../domain/errors.js';
import { assertBalanced, decodePostings, encodePostings } from '../../domain/ledger.js';
import { TokenBucket } from '../../domain/rate-limit.js';

const violates = (run: () => void) => assert.throws(run, (e: unknown) => e instanceof InvariantViolation);

test('a balanced entry passes; unbalanced, single-leg, zero, fractional and repeated postings fail', () => {
  assertBalanced({ id: 'e', postings: [{ accountId: 'a', amount: -5 }, { accountId: 'b', amount: 5 }] });
  violates(() => assertBalanced({ id: 'e', postings: [{ accountId: 'a', amount: -5 }, { accountId: 'b', amount: 4 }] }));
  violates(() => assertBalanced({ id: 'e', postings: [{ accountId: 'a', amount: 0 }] }));
  violates(() => assertBalanced({ id: 'e', postings: [{ accountId: 'a', amount: 0 }, { accountId: 'b', amount: 0 }] }));
  violates(() => assertBalanced({ id: 'e', postings: [{ accountId: 'a', amount: -0.5 }, { accountId: 'b', amount: 0.5 }] }));
  violates(() => assertBalanced({ id: 'e', postings: [{ accountId: 'a', amount: -5 }, { accountId: 'a', amount: 5 }] }));
});

test('postings survive the journal encoding, account ids with colons included', () => {
  const postings = [{ accountId: 'wallet:user:1', amount: -10 }, { accountId: 'earnings:s=1', amount: 7 }, { accountId: 'platform:revenue', amount: 3 }];
  assert.equal(decodePostings(encodePostings(postings)), postings);
});

test('the token bucket allows the burst, then the sustained rate', () => {
  const bucket = new TokenBucket(10, 3, 0);
  assert.equal([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)], [true, true, true, false]);
  assert.is(bucket.take(99), false);
  assert.is(bucket.take(100), true);
});

test('a clock that steps back refills nothing, and the time it went back is not counted again', () => {
  const bucket = new TokenBucket(10, 1, 1_000);
  assert.is(bucket.take(1_000), true);
  assert.is(bucket.take(0), false);
  assert.is(bucket.take(1_050), false);
  assert.is(bucket.take(1_100), true);
});

test('a token given back can be taken again, but never lifts the bucket over its burst', () => {
  const bucket = new TokenBucket(10, 2, 0);
  assert.equal([bucket.take(0), bucket.take(0), bucket.take(0)], [true, true, false]);
  bucket.giveBack();
  assert.equal([bucket.take(0), bucket.take(0)], [true, false]);
  bucket.giveBack();
  bucket.giveBack();
  bucket.giveBack();
  assert.equal([bucket.take(0), bucket.take(0), bucket.take(0)], [true, true, false]);
});

test.run();
