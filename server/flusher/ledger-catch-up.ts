import type { Redis } from 'ioredis';
import { DomainError } from '../../domain/errors.js';
import type { WalletKeys } from '../redis/keys.js';
import { compareStreamIds } from './journal-records.js';

/**
 * Waits until the ledger holds every journal entry that existed when it was called:
 * the flusher deletes entries from the stream once they are committed, so that is when
 * the oldest entry left is newer than the newest one seen at the start.
 */
export async function waitForLedger(redis: Redis, keys: WalletKeys, timeoutMs = 30_000): Promise<void> {
  const [newest] = await redis.xrevrange(keys.journal, '+', '-', 'COUNT', 1);
  if (newest === undefined) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [oldest] = await redis.xrange(keys.journal, '-', '+', 'COUNT', 1);
    if (oldest === undefined || compareStreamIds(oldest[0], newest[0]) > 0) return;
    if (Date.now() > deadline) throw new DomainError('UNAVAILABLE', 'the ledger is behind the journal; try again shortly');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
