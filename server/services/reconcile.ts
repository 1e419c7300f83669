import type { Redis } from 'ioredis';
import { accountKind, mustStayNonNegative } from '../../domain/accounts.js';
import { invariant } from '../../domain/errors.js';
import type { Sql } from '../db/sql.js';
import { parseStreamRecords, type StreamRecord } from '../flusher/journal-records.js';
import type { WalletKeys } from '../redis/keys.js';

export interface Mismatch {
  accountId: string;
  hot: number;
  ledger: number;
  unflushed: number;
  /** hot - (ledger + unflushed): what Redis holds too much (+) or too little (-). */
  difference: number;
}

export interface ReconcileReport {
  ok: boolean;
  accounts: number;
  mismatches: Mismatch[];
  unbalancedEntries: string[];
  ledgerTotal: number;
  hotTotal: number;
  /** Accounts below zero that may never be (wallets, earnings, agencies, settling, platform), in the hot store or the ledger. */
  negativeBalances: string[];
  /** The wallets among them. */
  negativeWallets: string[];
  unflushedEntries: number;
  snapshotStreamId: string;
}

interface HotSnapshot {
  balances: Map<string, bigint>;
  records: StreamRecord[];
  lastStreamId: string;
}

async function hotSnapshot(redis: Redis, keys: WalletKeys): Promise<HotSnapshot> {
  const [balancesFlat, journal, lastStreamId] = await redis.reconcileSnapshotV1(keys.balances, keys.journal);
  const balances = new Map<string, bigint>();
  for (let i = 0; i < balancesFlat.length; i += 2) balances.set(String(balancesFlat[i]), BigInt(String(balancesFlat[i + 1])));
  return { balances, records: parseStreamRecords(journal), lastStreamId: String(lastStreamId) };
}

/** The checkpoint lock's two keys; see migration 00021. */
const checkpointLock = [1819042147, 1] as const;

/**
 * Folds the postings committed since the checkpoint into its per-account sums. The bound
 * is read under the checkpoint lock, when no posting insert is in flight, so every posting
 * at or below it is committed. A range holding an unbalanced entry is not folded: every
 * reconcile then finds that entry among the postings above the checkpoint and reports it.
 */
async function advanceCheckpoint(sql: Sql): Promise<void> {
  const bound = await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${checkpointLock[0]}, ${checkpointLock[1]})`;
    const [row] = await tx<{ max: string | null }[]>`select max(id)::text as max from postings`;
    return BigInt(row?.max ?? '0');
  });
  await sql.begin(async (tx) => {
    // Reconciles at once fold one after the other.
    const [checkpoint] = await tx<{ posting_id: string }[]>`select posting_id::text from ledger_checkpoint for update`;
    const from = BigInt(checkpoint?.posting_id ?? '0');
    if (bound <= from) return;
    const [unbalanced] = await tx`
      select 1 from postings where id > ${String(from)}::bigint and id <= ${String(bound)}::bigint
       group by entry_id having sum(amount) <> 0 limit 1`;
    if (unbalanced !== undefined) return;
    await tx`
      insert into ledger_checkpoint_balances (account_id, balance)
      select account_id, sum(amount) from postings where id > ${String(from)}::bigint and id <= ${String(bound)}::bigint group by account_id
      on conflict (account_id) do update set balance = ledger_checkpoint_balances.balance + excluded.balance`;
    await tx`update ledger_checkpoint set posting_id = ${String(bound)}::bigint, advanced_at = now()`;
  });
}

/**
 * Per account: hot balance == ledger balance + unflushed journal. Globally: every entry
 * sums to zero, all accounts sum to zero, no account below zero that may never be. Changes
 * nothing but the ledger checkpoint, a cache of sums over immutable postings: the ledger
 * at the snapshot is the checkpoint's sums, plus the postings above it, less those of
 * entries the journal took after the snapshot (a checkpoint that another reconcile moved
 * on meanwhile may hold some), so its cost follows the accounts and the new postings, not
 * the ledger's history.
 */
export async function reconcile(redis: Redis, sql: Sql, keys: WalletKeys): Promise<ReconcileReport> {
  await advanceCheckpoint(sql);
  const snapshot = await hotSnapshot(redis, keys);
  const streamEntryIds = snapshot.records.map((r) => r.entry.id);
  const [lastMs, lastSeq] = snapshot.lastStreamId.split('-');
  const [cutMs, cutSeq] = [lastMs ?? '0', lastSeq ?? '0'];
  const { ledger, flushedIds, unbalanced } = await sql.begin('isolation level repeatable read read only', async (tx) => {
    const [checkpoint] = await tx<{ posting_id: string }[]>`select posting_id::text from ledger_checkpoint`;
    const bound = checkpoint?.posting_id ?? '0';
    const folded = await tx<{ account_id: string; balance: string }[]>`select account_id, balance::text from ledger_checkpoint_balances`;
    const newer = await tx<{ account_id: string; balance: string }[]>`
      select p.account_id, sum(p.amount)::text as balance
        from postings p join journal_entries e on e.id = p.entry_id
       where p.id > ${bound}::bigint and (e.stream_ms is null or (e.stream_ms, e.stream_seq) <= (${cutMs}::bigint, ${cutSeq}::bigint))
       group by p.account_id`;
    const afterSnapshot = await tx<{ account_id: string; balance: string }[]>`
      select p.account_id, sum(p.amount)::text as balance
        from journal_entries e join postings p on p.entry_id = e.id
       where (e.stream_ms, e.stream_seq) > (${cutMs}::bigint, ${cutSeq}::bigint) and p.id <= ${bound}::bigint
       group by p.account_id`;
    const present = streamEntryIds.length === 0 ? [] : await tx<{ id: string }[]>`
      select id::text from journal_entries where id = any(${tx.array(streamEntryIds)}::uuid[])`;
    // Folded ranges were balanced when folded (and the ledger's triggers refuse any other).
    const unbalancedRows = await tx<{ entry_id: string }[]>`
      select entry_id::text from postings where id > ${bound}::bigint group by entry_id having sum(amount) <> 0 limit 100`;
    const balances = new Map<string, bigint>();
    const add = (rows: { account_id: string; balance: string }[], sign: bigint) => {
      for (const row of rows) balances.set(row.account_id, (balances.get(row.account_id) ?? 0n) + sign * BigInt(row.balance));
    };
    add(folded, 1n);
    add(newer, 1n);
    add(afterSnapshot, -1n);
    return { ledger: balances, flushedIds: new Set(present.map((r) => r.id)), unbalanced: unbalancedRows.map((r) => r.entry_id) };
  });
  const unflushed = new Map<string, bigint>();
  for (const record of snapshot.records) {
    if (flushedIds.has(record.entry.id)) continue;
    for (const posting of record.entry.postings) {
      unflushed.set(posting.accountId, (unflushed.get(posting.accountId) ?? 0n) + BigInt(posting.amount));
    }
  }
  return buildReport(snapshot, ledger, unflushed, unbalanced, snapshot.records.length - flushedIds.size);
}

function coins(value: bigint): number {
  invariant(value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER), `coin amount ${value} outside the safe range`);
  return Number(value);
}

function buildReport(snapshot: HotSnapshot, ledger: Map<string, bigint>, unflushedByAccount: Map<string, bigint>,
  unbalanced: string[], unflushedEntries: number): ReconcileReport {
  const accounts = new Set([...snapshot.balances.keys(), ...ledger.keys(), ...unflushedByAccount.keys()]);
  const mismatches: Mismatch[] = [];
  const negativeBalances: string[] = [];
  let ledgerTotal = 0n;
  let hotTotal = 0n;
  for (const accountId of [...accounts].sort()) {
    const hot = snapshot.balances.get(accountId) ?? 0n;
    const inLedger = ledger.get(accountId) ?? 0n;
    const unflushed = unflushedByAccount.get(accountId) ?? 0n;
    ledgerTotal += inLedger;
    hotTotal += hot;
    if (hot !== inLedger + unflushed) {
      mismatches.push({ accountId, hot: coins(hot), ledger: coins(inLedger), unflushed: coins(unflushed),
        difference: coins(hot - inLedger - unflushed) });
    }
    if ((hot < 0n || inLedger < 0n) && mustStayNonNegative(accountId)) negativeBalances.push(accountId);
  }
  return {
    ok: mismatches.length === 0 && unbalanced.length === 0 && ledgerTotal === 0n && hotTotal === 0n && negativeBalances.length === 0,
    accounts: accounts.size,
    mismatches,
    unbalancedEntries: unbalanced,
    ledgerTotal: coins(ledgerTotal),
    hotTotal: coins(hotTotal),
    negativeBalances,
    negativeWallets: negativeBalances.filter((accountId) => accountKind(accountId) === 'wallet'),
    unflushedEntries,
    snapshotStreamId: snapshot.lastStreamId,
  };
}
