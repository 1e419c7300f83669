import { dayMs, utcDay } from '../../domain/settlement-periods.js';
import type { Sql } from '../db/sql.js';

export interface LedgerLine {
  postingId: number;
  entryId: string;
  kind: string;
  amount: number;
  at: string;
  meta: Record<string, unknown>;
}

export interface LedgerPage {
  entries: LedgerLine[];
  /** Pass as `before` for the next, older page; null at the end. */
  nextCursor: string | null;
}

// What a user may see of an entry: never the split carries or the stored replay record.
// The order, refund and dispute ids let a wallet's history point at the top-up, refund or
// chargeback behind a line (all the user's own: the lines are of their own account).
const publicMetaFields = ['roomId', 'giftId', 'count', 'senderId', 'streamerId', 'reason', 'orderId', 'packageId', 'refundId', 'disputeId'] as const;

function publicMeta(meta: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(publicMetaFields.filter((field) => Object.hasOwn(meta, field)).map((field) => [field, meta[field]]));
}

/** An account's postings from the ledger, newest first, keyset-paginated on the posting id. */
export async function accountLines(sql: Sql, accountId: string, limit: number, before: bigint | null): Promise<LedgerPage> {
  const rows = await sql<{ id: bigint; entry_id: string; kind: string; amount: bigint; created_at: Date; meta: Record<string, unknown> }[]>`
    select p.id, p.entry_id::text, e.kind, p.amount, e.created_at, e.meta
      from postings p join journal_entries e on e.id = p.entry_id
     where p.account_id = ${accountId} ${before === null ? sql`` : sql`and p.id < ${String(before)}::bigint`}
     order by p.id desc
     limit ${limit + 1}`;
  const page = rows.slice(0, limit);
  return {
    entries: page.map((row) => ({
      postingId: Number(row.id), entryId: row.entry_id, kind: row.kind, amount: Number(row.amount),
      at: row.created_at.toISOString(), meta: publicMeta(row.meta),
    })),
    nextCursor: rows.length > limit ? String(page[page.length - 1]?.id) : null,
  };
}

export interface EarningsFigures {
  today: number;
  last7Days: number;
  last30Days: number;
  currentPeriod: number;
  ledgerTotal: number;
}

/**
 * Flushed gift credits to a payee account: today, the last 7 and 30 UTC days (today
 * included), since its settlement period began (a UTC midnight) and in all. Read from the
 * per-day sums of migration 00022: at most one row per day the payee earned anything.
 */
export async function earningsFigures(sql: Sql, accountId: string, nowMs: number, periodStartMs: number): Promise<EarningsFigures> {
  const today = utcDay(nowMs);
  // Bounded by today as well: a day after it (a clock set back) is in no window ending now.
  const [row] = await sql<{ today: string; d7: string; d30: string; period: string; total: string }[]>`
    select coalesce(sum(gift_coins) filter (where day = ${today}::date), 0)::text as today,
           coalesce(sum(gift_coins) filter (where day between ${utcDay(nowMs - 6 * dayMs)}::date and ${today}::date), 0)::text as d7,
           coalesce(sum(gift_coins) filter (where day between ${utcDay(nowMs - 29 * dayMs)}::date and ${today}::date), 0)::text as d30,
           coalesce(sum(gift_coins) filter (where day between ${utcDay(periodStartMs)}::date and ${today}::date), 0)::text as period,
           coalesce(sum(gift_coins), 0)::text as total
      from payee_days
     where account_id = ${accountId}`;
  return {
    today: Number(row?.today ?? 0), last7Days: Number(row?.d7 ?? 0), last30Days: Number(row?.d30 ?? 0),
    currentPeriod: Number(row?.period ?? 0), ledgerTotal: Number(row?.total ?? 0),
  };
}

export interface DayEarnings {
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  coins: number;
  gifts: number;
}

/** Gift credits to a payee account on each of the last `days` UTC days, oldest first, today last; days without any as 0. */
export async function earningsByDay(sql: Sql, accountId: string, nowMs: number, days: number): Promise<DayEarnings[]> {
  const dayList = Array.from({ length: days }, (_, index) => utcDay(nowMs - (days - 1 - index) * dayMs));
  const rows = await sql<{ day: string; gift_coins: string; gifts: string }[]>`
    select day::text, gift_coins::text, gifts::text from payee_days
     where account_id = ${accountId} and day between ${dayList[0] ?? utcDay(nowMs)}::date and ${utcDay(nowMs)}::date`;
  const byDay = new Map(rows.map((row) => [row.day, row]));
  return dayList.map((day) => ({ day, coins: Number(byDay.get(day)?.gift_coins ?? 0), gifts: Number(byDay.get(day)?.gifts ?? 0) }));
}

export interface RoomEarnings {
  roomId: string;
  coins: number;
  gifts: number;
  lastGiftAt: string;
}

/** Gift earnings per room (a live session), the most recent rooms first, from migration 00022's per-room sums. */
export async function earningsByRoom(sql: Sql, accountId: string, limit: number): Promise<RoomEarnings[]> {
  const rows = await sql<{ room_id: string; coins: string; gifts: string; last_gift_at: Date }[]>`
    select room_id, coins::text, gifts::text, last_gift_at
      from payee_rooms
     where account_id = ${accountId}
     order by last_gift_at desc, room_id limit ${limit}`;
  return rows.map((row) => ({ roomId: row.room_id, coins: Number(row.coins), gifts: Number(row.gifts), lastGiftAt: row.last_gift_at.toISOString() }));
}

export interface StreamerEarnings {
  streamerId: string;
  coins: number;
  gifts: number;
  lastGiftAt: string;
}

/**
 * An agency's cut per streamer whose gifts paid it (lifetime), the latest gifts first: its
 * per-room sums grouped by each room's streamer. A streamer who changed agencies shows
 * only what this agency took.
 */
export async function agencyEarningsByStreamer(sql: Sql, agencyAccountId: string, limit: number): Promise<StreamerEarnings[]> {
  const rows = await sql<{ streamer_id: string; coins: string; gifts: string; last_gift_at: Date }[]>`
    select r.streamer_id, sum(p.coins)::text as coins, sum(p.gifts)::text as gifts, max(p.last_gift_at) as last_gift_at
      from payee_rooms p join rooms r on r.id = p.room_id
     where p.account_id = ${agencyAccountId}
     group by r.streamer_id
     order by max(p.last_gift_at) desc, r.streamer_id limit ${limit}`;
  return rows.map((row) => ({ streamerId: row.streamer_id, coins: Number(row.coins), gifts: Number(row.gifts), lastGiftAt: row.last_gift_at.toISOString() }));
}
