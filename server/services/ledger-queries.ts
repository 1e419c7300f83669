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
const publicMetaFields = ['roomId', 'giftId', 'count', 'senderId', 'streamerId', 'reason'] as const;

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
  ledgerTotal: number;
}

/** Flushed gift credits to an earnings account over periods (UTC days). */
export async function earningsFigures(sql: Sql, accountId: string): Promise<EarningsFigures> {
  const [row] = await sql<{ today: bigint; d7: bigint; d30: bigint; total: bigint }[]>`
    select coalesce(sum(p.amount) filter (where e.created_at >= date_trunc('day', now() at time zone 'utc') at time zone 'utc'), 0) as today,
           coalesce(sum(p.amount) filter (where e.created_at >= now() - interval '7 days'), 0) as d7,
           coalesce(sum(p.amount) filter (where e.created_at >= now() - interval '30 days'), 0) as d30,
           coalesce(sum(p.amount), 0) as total
      from postings p join journal_entries e on e.id = p.entry_id
     where p.account_id = ${accountId} and e.kind = 'gift'`;
  return { today: Number(row?.today ?? 0), last7Days: Number(row?.d7 ?? 0), last30Days: Number(row?.d30 ?? 0), ledgerTotal: Number(row?.total ?? 0) };
}
