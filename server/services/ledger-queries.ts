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

/** Flushed gift credits to an earnings account over periods (UTC days, the payee's settlement period). */
export async function earningsFigures(sql: Sql, accountId: string, nowMs: number, periodStartMs: number): Promise<EarningsFigures> {
  const dayStart = new Date(nowMs - (nowMs % 86_400_000));
  const [row] = await sql<{ today: bigint; d7: bigint; d30: bigint; period: bigint; total: bigint }[]>`
    select coalesce(sum(p.amount) filter (where e.created_at >= ${dayStart}), 0) as today,
           coalesce(sum(p.amount) filter (where e.created_at >= ${new Date(nowMs - 7 * 86_400_000)}), 0) as d7,
           coalesce(sum(p.amount) filter (where e.created_at >= ${new Date(nowMs - 30 * 86_400_000)}), 0) as d30,
           coalesce(sum(p.amount) filter (where e.created_at >= ${new Date(periodStartMs)}), 0) as period,
           coalesce(sum(p.amount), 0) as total
      from postings p join journal_entries e on e.id = p.entry_id
     where p.account_id = ${accountId} and e.kind = 'gift'`;
  return {
    today: Number(row?.today ?? 0), last7Days: Number(row?.d7 ?? 0), last30Days: Number(row?.d30 ?? 0),
    currentPeriod: Number(row?.period ?? 0), ledgerTotal: Number(row?.total ?? 0),
  };
}

export interface RoomEarnings {
  roomId: string;
  coins: number;
  gifts: number;
  lastGiftAt: string;
}

/** Gift earnings per room (a live session), the most recent rooms first. */
export async function earningsByRoom(sql: Sql, accountId: string, limit: number): Promise<RoomEarnings[]> {
  const rows = await sql<{ room_id: string; coins: string; gifts: string; last_at: Date }[]>`
    select e.meta ->> 'roomId' as room_id, sum(p.amount)::text as coins, count(*)::text as gifts, max(e.created_at) as last_at
      from postings p join journal_entries e on e.id = p.entry_id
     where p.account_id = ${accountId} and e.kind = 'gift'
     group by 1 order by max(e.created_at) desc limit ${limit}`;
  return rows.map((row) => ({ roomId: row.room_id, coins: Number(row.coins), gifts: Number(row.gifts), lastGiftAt: row.last_at.toISOString() }));
}
