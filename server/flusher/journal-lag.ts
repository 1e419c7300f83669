import type { Redis } from 'ioredis';
import type { WalletKeys } from '../redis/keys.js';

export interface JournalLag {
  /** Entries in the stream not yet written to the ledger. */
  entries: number;
  /** Age of the oldest unflushed entry, 0 when none. */
  oldestAgeMs: number;
}

export async function journalLag(redis: Redis, keys: WalletKeys, nowMs = Date.now()): Promise<JournalLag> {
  const [length, oldest] = await Promise.all([
    redis.xlen(keys.journal),
    redis.xrange(keys.journal, '-', '+', 'COUNT', 1),
  ]);
  const oldestId = oldest[0]?.[0];
  const oldestMs = oldestId === undefined ? nowMs : Number(oldestId.split('-')[0]);
  return { entries: length, oldestAgeMs: Math.max(0, nowMs - oldestMs) };
}
