import type { Redis } from 'ioredis';
import type { Durability } from '../local-services/index.js';
import { SettingError } from '../config.js';

function configValue(reply: unknown): string {
  return Array.isArray(reply) ? String(reply[1] ?? '') : '';
}

/** The oldest Redis this server runs on: the flusher claims a dead consumer's entries with XAUTOCLAIM, the node relay trims its stream with XADD MINID. */
export const redisVersionMin = [6, 2] as const;

/** The version in an `INFO server` reply, as numbers; null when the reply names none. */
export function redisVersionOf(info: string): number[] | null {
  const match = /^redis_version:(\d+)\.(\d+)(?:\.(\d+))?/m.exec(info);
  return match === null ? null : match.slice(1).map((part) => Number(part ?? 0));
}

export function isRedisVersionSupported(version: readonly number[]): boolean {
  const [major = 0, minor = 0] = version;
  return major > redisVersionMin[0] || (major === redisVersionMin[0] && minor >= redisVersionMin[1]);
}

/**
 * Refuses an older Redis at startup, with its version, rather than failing later in the
 * flusher or the relay. A server that does not say its version (a proxy) is let through.
 */
export async function checkRedisVersion(redis: Redis): Promise<void> {
  const version = redisVersionOf(await redis.info('server'));
  if (version !== null && !isRedisVersionSupported(version)) {
    throw new SettingError(`Redis ${version.join('.')} is too old: ${redisVersionMin.join('.')} or newer is needed (XAUTOCLAIM, XADD MINID).`);
  }
}

/**
 * Money, idempotency records and the unflushed journal must never be evicted: refuse to
 * run against a Redis that may evict. On a Redis this process started, set persistence to
 * the durability mode; on another, say when it does not match.
 */
export async function checkRedisSafety(redis: Redis, durability: Durability, ownsRedis: boolean): Promise<void> {
  await checkRedisVersion(redis);
  const policy = configValue(await redis.config('GET', 'maxmemory-policy'));
  if (policy !== 'noeviction') {
    throw new SettingError(`Redis maxmemory-policy is ${policy}; money keys would be evicted. Set maxmemory-policy noeviction.`);
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
