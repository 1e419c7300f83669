import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { oldestLiveEarningsMonth } from '../../domain/split-contracts.js';
import { connectRedis } from '../../server/redis/commands.js';
import { walletKeys } from '../../server/redis/keys.js';
import { pruneMonthEarned } from '../../server/services/live-earnings.js';
import { testStorage } from '../helpers/env.js';

test('the oldest month kept live is the one before, across a year end', () => {
  assert.is(oldestLiveEarningsMonth(Date.UTC(2026, 10, 30, 23, 59, 59, 999)), '2026-10');
  assert.is(oldestLiveEarningsMonth(Date.UTC(2026, 11, 1)), '2026-11');
  assert.is(oldestLiveEarningsMonth(Date.UTC(2027, 0, 1)), '2026-12');
  assert.is(oldestLiveEarningsMonth(Date.UTC(2027, 2, 31, 12)), '2027-02');
});

test('pruning drops the months before the previous one, of every streamer, and nothing else', async () => {
  const redis = connectRedis(testStorage.redisUrl(), { name: 'test-live-figures', offlineQueue: true });
  const keys = walletKeys(`live-figures-${randomBytes(3).toString('hex')}`);
  try {
    const kept: Record<string, string> = {
      's1|2027-01': '500', 's1|2026-12': '40', 's|with|bars|2027-01': '7', 'not-a-month': '1', 's2|2027-1': '3',
    };
    const stale: Record<string, string> = { 's1|2026-11': '900', 's2|2025-12': '12', 's|with|bars|2026-06': '8' };
    // Enough streamers that HSCAN walks the hash in more than one step.
    for (let i = 0; i < 2_500; i++) stale[`bulk-${i}|2026-0${1 + (i % 9)}`] = String(i + 1);
    await redis.hset(keys.monthEarned, { ...kept, ...stale });

    const removed = await pruneMonthEarned(redis, keys, Date.UTC(2027, 0, 15));
    assert.is(removed, Object.keys(stale).length);
    assert.equal(await redis.hgetall(keys.monthEarned), kept);
    assert.is(await pruneMonthEarned(redis, keys, Date.UTC(2027, 0, 15)), 0, 'a second run finds nothing');
  } finally {
    await redis.del(keys.monthEarned);
    redis.disconnect();
  }
});

test.run();
