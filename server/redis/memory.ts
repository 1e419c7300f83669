import type { Redis } from 'ioredis';

export interface RedisMemory {
  usedBytes: number;
  /** Redis's `maxmemory`; 0 when it has none (bounded by the machine only). */
  maxBytes: number;
}

/** Redis's memory use against its limit, from INFO memory: past the limit it refuses every movement (noeviction). */
export async function redisMemory(redis: Redis): Promise<RedisMemory> {
  const info = await redis.info('memory');
  const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return { usedBytes: field('used_memory'), maxBytes: field('maxmemory') };
}
