import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectRedis } from '../../server/redis/commands.js';
import { checkRedisSafety, isRedisVersionSupported, redisVersionOf } from '../../server/redis/safety.js';
import { testStorage } from '../helpers/env.js';

const safety = suite('Redis the server refuses');

safety('the version comes from INFO server; 6.2 is the oldest taken', () => {
  assert.equal(redisVersionOf('# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\n'), [7, 0, 15]);
  assert.equal(redisVersionOf('redis_version:6.2\n'), [6, 2, 0]);
  assert.is(redisVersionOf('# Server\r\nvalkey_version:8.0.1\r\n'), null);
  for (const [version, taken] of [[[5, 0, 7], false], [[6, 0, 16], false], [[6, 1, 0], false], [[6, 2, 0], true], [[6, 2, 14], true],
    [[7, 0, 15], true], [[10, 0, 0], true]] as const) {
    assert.is(isRedisVersionSupported(version), taken, version.join('.'));
  }
});

safety('a Redis that may evict money keys is refused, by name of the policy; noeviction is taken', async () => {
  const redis = connectRedis(testStorage.redisUrl(), { name: 'safety-test', offlineQueue: true });
  const [, policy] = await redis.config('GET', 'maxmemory-policy') as [string, string];
  try {
    // With no maxmemory set, the policy evicts nothing meanwhile: other suites are unaffected.
    await redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      await checkRedisSafety(redis, 'durable', false);
      assert.unreachable('an evicting Redis was taken');
    } catch (error) {
      assert.instance(error, Error);
      assert.match((error as Error).message, 'Redis maxmemory-policy is allkeys-lru');
    }
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await checkRedisSafety(redis, 'fast', false);
  } finally {
    await redis.config('SET', 'maxmemory-policy', policy);
    redis.disconnect();
  }
});

safety.run();
