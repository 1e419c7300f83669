import type { Sql } from '../db/sql.js';
import { accountRow, streamPosition, type StreamRecord } from './journal-records.js';

/**
 * Writes a batch of journal entries in one transaction, idempotent on the entry id:
 * entries already in the ledger are skipped with their postings, so a batch replayed
 * after a crash between COMMIT and XACK writes nothing twice. Returns how many were new.
 */
export async function writeLedgerBatch(sql: Sql, records: readonly StreamRecord[]): Promise<number> {
  const unique = [...new Map(records.map((r) => [r.entry.id, r])).values()];
  const accountIds = [...new Set(unique.flatMap((r) => r.entry.postings.map((p) => p.accountId)))].sort();
  const accounts = accountIds.map(accountRow);
  const postings = unique.flatMap((r) => r.entry.postings.map((p) => ({ entryId: r.entry.id, ...p })));
  return sql.begin(async (tx) => {
    await tx`
      insert into accounts (id, kind, owner_id)
      select a.id, a.kind, nullif(a.owner_id, '')
        from unnest(${tx.array(accounts.map((a) => a.id))}::text[],
                    ${tx.array(accounts.map((a) => a.kind))}::text[],
                    ${tx.array(accounts.map((a) => a.ownerId ?? ''))}::text[]) as a(id, kind, owner_id)
      on conflict (id) do nothing`;
    const inserted = await tx`
      with new_entries as (
        insert into journal_entries (id, kind, created_at, stream_ms, stream_seq, meta)
        select e.id, e.kind, to_timestamp(e.at_ms / 1000.0), e.stream_ms, e.stream_seq, e.meta::jsonb
          from unnest(${tx.array(unique.map((r) => r.entry.id))}::uuid[],
                      ${tx.array(unique.map((r) => r.entry.kind))}::text[],
                      ${tx.array(unique.map((r) => String(r.entry.atMs)))}::bigint[],
                      ${tx.array(unique.map((r) => streamPosition(r.streamId).ms))}::bigint[],
                      ${tx.array(unique.map((r) => streamPosition(r.streamId).seq))}::bigint[],
                      ${tx.array(unique.map((r) => JSON.stringify(r.entry.meta)))}::text[])
               as e(id, kind, at_ms, stream_ms, stream_seq, meta)
        on conflict (id) do nothing
        returning id
      )
      insert into postings (entry_id, account_id, amount)
      select p.entry_id, p.account_id, p.amount
        from unnest(${tx.array(postings.map((p) => p.entryId))}::uuid[],
                    ${tx.array(postings.map((p) => p.accountId))}::text[],
                    ${tx.array(postings.map((p) => String(p.amount)))}::bigint[])
             as p(entry_id, account_id, amount)
       where p.entry_id in (select id from new_entries)
      returning entry_id`;
    return new Set(inserted.map((row) => String(row.entry_id))).size;
  });
}
