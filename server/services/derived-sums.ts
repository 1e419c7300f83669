import type { Redis } from 'ioredis';
import type { Sql } from '../db/sql.js';
import type { WalletKeys } from '../redis/keys.js';
import { reconcile, type ReconcileReport } from './reconcile.js';

/**
 * Sums the ledger keeps beside its postings so that no reader sums them all: the reconcile
 * checkpoint (migration 00021) and the payees' per-day and per-room sums (00022). They are
 * written in the transactions that write the postings, over rows never changed, so they
 * cannot drift unless someone edits them by hand; this proves it, by summing every
 * posting again. Its cost follows the ledger's history: an operator's check
 * (`npm run reconcile -- --full`), not the periodic one.
 */
export interface DerivedSumsReport {
  ok: boolean;
  checkpointPostingId: string;
  /** Accounts whose folded sum is not the sum of their postings up to the checkpoint. */
  checkpointMismatches: { accountId: string; folded: string; ledger: string }[];
  /** Payee days whose gift coins, gift count or adjustments are not their postings'. */
  payeeDayMismatches: { accountId: string; day: string; kept: string; ledger: string }[];
  /** Payee rooms whose coins, gift count or last gift are not their postings'. */
  payeeRoomMismatches: { accountId: string; roomId: string; kept: string; ledger: string }[];
}

const shownAtMost = 100;

export async function verifyDerivedSums(sql: Sql): Promise<DerivedSumsReport> {
  return sql.begin('isolation level repeatable read read only', async (tx) => {
    const [checkpoint] = await tx<{ posting_id: string }[]>`select posting_id::text from ledger_checkpoint`;
    const bound = checkpoint?.posting_id ?? '0';
    const checkpointMismatches = await tx<{ accountId: string; folded: string; ledger: string }[]>`
      with ledger as (select account_id, sum(amount) as balance from postings where id <= ${bound}::bigint group by account_id)
      select coalesce(l.account_id, f.account_id) as "accountId", coalesce(f.balance, 0)::text as folded, coalesce(l.balance, 0)::text as ledger
        from ledger l full join ledger_checkpoint_balances f on f.account_id = l.account_id
       where coalesce(f.balance, 0) <> coalesce(l.balance, 0)
       order by 1 limit ${shownAtMost}`;
    const payeeDayMismatches = await tx<{ accountId: string; day: string; kept: string; ledger: string }[]>`
      select coalesce(l.account_id, k.account_id) as "accountId", coalesce(l.day, k.day)::text as day,
             case when k.account_id is null then 'nothing' else format('%s coins in %s gifts, %s adjustments', k.gift_coins, k.gifts, k.adjustment_coins) end as kept,
             case when l.account_id is null then 'nothing' else format('%s coins in %s gifts, %s adjustments', l.gift_coins, l.gifts, l.adjustment_coins) end as ledger
        from payee_ledger_days l full join payee_days k on k.account_id = l.account_id and k.day = l.day
       where (k.gift_coins, k.gifts, k.adjustment_coins) is distinct from (l.gift_coins, l.gifts, l.adjustment_coins)
       order by 1, 2 limit ${shownAtMost}`;
    const payeeRoomMismatches = await tx<{ accountId: string; roomId: string; kept: string; ledger: string }[]>`
      select coalesce(l.account_id, k.account_id) as "accountId", coalesce(l.room_id, k.room_id) as "roomId",
             case when k.account_id is null then 'nothing' else format('%s coins in %s gifts, last %s', k.coins, k.gifts, k.last_gift_at) end as kept,
             case when l.account_id is null then 'nothing' else format('%s coins in %s gifts, last %s', l.coins, l.gifts, l.last_gift_at) end as ledger
        from payee_ledger_rooms l full join payee_rooms k on k.account_id = l.account_id and k.room_id = l.room_id
       where (k.coins, k.gifts, k.last_gift_at) is distinct from (l.coins, l.gifts, l.last_gift_at)
       order by 1, 2 limit ${shownAtMost}`;
    return {
      ok: checkpointMismatches.length === 0 && payeeDayMismatches.length === 0 && payeeRoomMismatches.length === 0,
      checkpointPostingId: bound,
      checkpointMismatches: [...checkpointMismatches],
      payeeDayMismatches: [...payeeDayMismatches],
      payeeRoomMismatches: [...payeeRoomMismatches],
    };
  });
}

export type FullReconcileReport = ReconcileReport & { derived: DerivedSumsReport };

/** A reconcile's report with this check's beside it: `ok` only when both are clean. */
export function withDerivedSums(report: ReconcileReport, derived: DerivedSumsReport): FullReconcileReport {
  return { ...report, ok: report.ok && derived.ok, derived };
}

/** A reconcile, then this check. */
export async function reconcileInFull(redis: Redis, sql: Sql, keys: WalletKeys): Promise<FullReconcileReport> {
  return withDerivedSums(await reconcile(redis, sql, keys), await verifyDerivedSums(sql));
}
