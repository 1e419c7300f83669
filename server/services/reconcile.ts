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

/**
 * Per account: hot balance == ledger balance + unflushed journal. Globally: every entry
 * sums to zero, all accounts sum to zero, no account below zero that may never be. Read-only.
 */
export async function reconcile(redis: Redis, sql: Sql, keys: WalletKeys): Promise<ReconcileReport> {
  const snapshot = await hotSnapshot(redis, keys);
  const streamEntryIds = snapshot.records.map((r) => r.entry.id);
  const [lastMs, lastSeq] = snapshot.lastStreamId.split('-');
  const { ledger, flushedIds, unbalanced } = await sql.begin('isolation level repeatable read read only', async (tx) => {
    const ledgerRows = await tx<{ account_id: string; balance: string }[]>`
      select p.account_id, sum(p.amount)::text as balance
        from postings p join journal_entries e on e.id = p.entry_id
       where e.stream_ms is null
          or (e.stream_ms, e.stream_seq) <= (${lastMs ?? '0'}::bigint, ${lastSeq ?? '0'}::bigint)
       group by p.account_id`;
    const present = streamEntryIds.length === 0 ? [] : await tx<{ id: string }[]>`
      select id::text from journal_entries where id = any(${tx.array(streamEntryIds)}::uuid[])`;
    const unbalancedRows = await tx<{ entry_id: string }[]>`
      select entry_id::text from postings group by entry_id having sum(amount) <> 0 limit 100`;
    return {
      ledger: new Map(ledgerRows.map((r) => [r.account_id, BigInt(r.balance)])),
      flushedIds: new Set(present.map((r) => r.id)),
      unbalanced: unbalancedRows.map((r) => r.entry_id),
    };
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
