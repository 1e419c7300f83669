import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { aofState, compactAof, parseAofState } from '../../bench/aof.js';
import { connectRedis } from '../../server/redis/commands.js';
import { testStorage } from '../helpers/env.js';

const aof = suite('bench: Redis AOF housekeeping between scenarios');

const info = (fields: Record<string, string>) => ['# Persistence', 'loading:0', ...Object.entries(fields).map(([k, v]) => `${k}:${v}`), ''].join('\r\n');

aof('parseAofState reads size, finished rewrites and whether one is running or scheduled', () => {
  assert.equal(parseAofState(info({ aof_enabled: '1', aof_rewrite_in_progress: '0', aof_rewrite_scheduled: '0', aof_rewrites: '3',
    aof_current_size: '70254130', aof_base_size: '23210965' })), { enabled: true, sizeBytes: 70_254_130, baseBytes: 23_210_965, rewrites: 3, busy: false });
  assert.is(parseAofState(info({ aof_enabled: '1', aof_rewrite_in_progress: '1', aof_rewrite_scheduled: '0' })).busy, true);
  assert.is(parseAofState(info({ aof_enabled: '1', aof_rewrite_in_progress: '0', aof_rewrite_scheduled: '1' })).busy, true);
  // Without AOF Redis reports no size at all.
  assert.equal(parseAofState(info({ aof_enabled: '0', aof_rewrite_in_progress: '0', aof_rewrites: '0' })), { enabled: false, sizeBytes: 0, baseBytes: 0, rewrites: 0, busy: false });
});

aof('compactAof rewrites a file grown past the threshold since its last rewrite and waits for it; short of it, nothing', async () => {
  // Only a Redis of the test run's own: a rewrite is not for a shared server's tests to start.
  if ((process.env.TEST_LOCAL_REDIS_PID ?? '') === '') return;
  const redis = connectRedis(testStorage.redisUrl(), { name: 'test-aof', offlineQueue: true });
  try {
    await redis.set(`${testStorage.namespace()}:test-aof`, 'x'.repeat(1_000), 'EX', 60);
    const before = await aofState(redis);
    assert.ok(before.enabled && before.sizeBytes > 0, JSON.stringify(before));
    assert.is(await compactAof(redis, Number.MAX_SAFE_INTEGER), null);
    assert.is((await aofState(redis)).rewrites, before.rewrites);
    const tookMs = await compactAof(redis, 1);
    assert.ok(tookMs !== null && tookMs >= 0, `took ${tookMs}`);
    const after = await aofState(redis);
    assert.equal([after.rewrites, after.busy], [before.rewrites + 1, false]);
    // Just rewritten, the file is all base: it has not grown by a byte since.
    assert.is(after.sizeBytes - after.baseBytes, 0, JSON.stringify(after));
    assert.is(await compactAof(redis, 1), null);
  } finally {
    redis.disconnect();
  }
});

aof.run();
