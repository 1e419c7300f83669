import type { Redis } from 'ioredis';
import { earningsAccount, settlingAccount } from '../../domain/accounts.js';
import { DomainError } from '../../domain/errors.js';
import { limits } from '../../domain/limits.js';
import { earningsMonth, oldestLiveEarningsMonth } from '../../domain/split-contracts.js';
import type { WalletKeys } from '../redis/keys.js';

// The live side of earnings: figures the gift script keeps in the same step as the
// balances, so they move with every gift and agree with the ledger once it is flushed.

export interface TopGifter {
  userId: string;
  coins: number;
}

export async function topGifters(redis: Redis, keys: WalletKeys, roomId: string, size: number = limits.leaderboardSize): Promise<TopGifter[]> {
  const flat = await redis.zrevrange(keys.roomBoard(roomId), 0, size - 1, 'WITHSCORES');
  const top: TopGifter[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) top.push({ userId: flat[i] ?? '', coins: Number(flat[i + 1]) });
  return top;
}

export interface LiveFigures {
  lifetime: number;
  /** Credited and not yet moved to a settlement. */
  unsettled: number;
  /** Settled, waiting for the payout. */
  awaitingPayout: number;
  month: number;
}

export async function liveFigures(redis: Redis, keys: WalletKeys, streamerId: string, nowMs: number): Promise<LiveFigures> {
  try {
    const [lifetime, balances, month] = await Promise.all([
      redis.hget(keys.earned, streamerId),
      payeeBalances(redis, keys, earningsAccount(streamerId)),
      redis.hget(keys.monthEarned, `${streamerId}|${earningsMonth(nowMs)}`),
    ]);
    return { lifetime: Number(lifetime ?? 0), ...balances, month: Number(month ?? 0) };
  } catch (error) {
    if (error instanceof DomainError) throw error;
    throw new DomainError('UNAVAILABLE', 'the wallet store did not answer');
  }
}

/** A payee's coins credited and not yet settled, and settled but not yet paid out. */
export async function payeeBalances(redis: Redis, keys: WalletKeys, payeeAccount: string): Promise<{ unsettled: number; awaitingPayout: number }> {
  try {
    const [unsettled, awaitingPayout] = await redis.hmget(keys.balances, payeeAccount, settlingAccount(payeeAccount));
    return { unsettled: Number(unsettled ?? 0), awaitingPayout: Number(awaitingPayout ?? 0) };
  } catch {
    throw new DomainError('UNAVAILABLE', 'the wallet store did not answer');
  }
}

export interface RoomLive {
  roomId: string;
  gross: number;
  earned: number;
  topGifters: TopGifter[];
}

export async function roomLive(redis: Redis, keys: WalletKeys, roomId: string): Promise<RoomLive> {
  const [totals, top] = await Promise.all([redis.hmget(keys.roomTotals(roomId), 'gross', 'earned'), topGifters(redis, keys, roomId)]);
  return { roomId, gross: Number(totals[0] ?? 0), earned: Number(totals[1] ?? 0), topGifters: top };
}

/** A closed room's board and totals stay readable for a week (its streamer's recent sessions), then go; the ledger keeps the record. */
export async function retireRoomFigures(redis: Redis, keys: WalletKeys, roomId: string): Promise<void> {
  const keptSec = limits.closedRoomFiguresKeptSec;
  await redis.multi().expire(keys.roomBoard(roomId), keptSec).expire(keys.roomTotals(roomId), keptSec).exec();
}

/**
 * Drops month-earnings fields older than the previous month. They pick no tier any more
 * and no view reads them; the ledger keeps the record, and rebuild-wallets restores the
 * same two months. Without this the hash gains a field per streamer per month, forever.
 * A gift only ever adds to its own month, which is never older, so nothing races.
 */
export async function pruneMonthEarned(redis: Redis, keys: WalletKeys, nowMs: number): Promise<number> {
  const oldestKept = oldestLiveEarningsMonth(nowMs);
  let cursor = '0';
  let removed = 0;
  do {
    const [next, flat] = await redis.hscan(keys.monthEarned, cursor, 'COUNT', 1_000);
    cursor = next;
    const stale: string[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const field = flat[i] ?? '';
      const month = field.slice(field.lastIndexOf('|') + 1);
      // Fields are "<streamer>|<YYYY-MM>", and such months sort as strings.
      if (/^\d{4}-\d{2}$/.test(month) && month < oldestKept) stale.push(field);
    }
    if (stale.length > 0) removed += await redis.hdel(keys.monthEarned, ...stale);
  } while (cursor !== '0');
  return removed;
}
