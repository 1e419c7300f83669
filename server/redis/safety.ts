import type { Redis } from 'ioredis';
import type { Durability } from '../local-services/index.js';

function configValue(reply: unknown): string {
  return Array.isArray(reply) ? String(reply[1] ?? '') : '';
}

/**
 * Money, idempotency records and the unflushed journal must never be evicted: refuse to
 * run against a Redis that may evict. On a Redis this process started, set persistence to
 * the durability mode; on another, say when it does not match.
 */
export async function checkRedisSafety(redis: Redis, durability: Durability, ownsRedis: boolean): Promise<void> {
  const policy = configValue(await redis.config('GET', 'maxmemory-policy'));
  if (policy !== 'noeviction') {
    throw new Error(`Redis maxmemory-policy is ${policy}; money keys would be evicted. Set maxmemory-policy noeviction.`);
  }
  const fsync = durability === 'durable' ? 'always' : 'everysec';
  if (ownsRedis) {
    await redis.config('SET', 'appendonly', 'yes');
    await redis.config('SET', 'appendfsync', fsync);
    return;
  }
  const appendOnly = configValue(await redis.config('GET', 'appendonly'));
  const appendFsync = configValue(await redis.config('GET', 'appendfsync'));
  if (appendOnly !== 'yes' || appendFsync !== fsync) {
    process.stderr.write(`[warning] DURABILITY=${durability} wants appendonly yes and appendfsync ${fsync}; ` +
      `this Redis has appendonly ${appendOnly}, appendfsync ${appendFsync}: acked gifts may be lost if it crashes.\n`);
  }
}
