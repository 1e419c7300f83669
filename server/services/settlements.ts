import { randomBytes } from 'node:crypto';
import { isPayeeAccount, settlingAccount } from '../../domain/accounts.js';
import { DomainError, InvariantViolation, invariant } from '../../domain/errors.js';
import { Fiat } from '../../domain/fiat.js';
import { computePayable, settlementOutcome, type CarryReason, type EarlierStatements, type PayoutTerms } from '../../domain/settlement.js';
import { lastClosedPeriod, schedules, utcDay, type Period, type Schedule } from '../../domain/settlement-periods.js';
import type { Sql, Tx } from '../db/sql.js';
import { waitForLedger } from '../flusher/ledger-catch-up.js';
import type { WalletStore } from '../redis/wallet-store.js';
import { defaultSchedule, type PayeeDirectory } from './payees.js';
import { newEntryId } from '../db/entry-ids.js';

// A settlement run: for every payee, the newest period of its schedule that has closed
// is settled once. The coins owed are taken from the ledger as of the period's end:
//   unsettled = credits and adjustments to the payee's account before the end
//             - coins every earlier settlement already moved out
// so coins of a period that carried over (no KYC, under the minimum, or a run that never
// happened) and coins of a failed payout fall into the next settlement by themselves.
// One row per (payee, period) is the idempotency: a re-run finds it and changes nothing.

export interface SettlementRow {
  id: string;
  payee_account: string;
  period_id: string;
  schedule: Schedule;
  period_start: Date;
  period_end: Date;
  status: 'posting' | 'settled' | 'carried_over';
  reason: CarryReason | null;
  carried_in_coins: string;
  earned_coins: string;
  adjustment_coins: string;
  coins: string;
  currency: string;
  fiat_per_coin: string;
  gross: string;
  tax_profile: string | null;
  tax_rate: string;
  tax: string;
  fee: string;
  payable: string;
  payout_method: 'stripe' | 'manual';
  entry_id: string | null;
  created_at: Date;
  settled_at: Date | null;
}

export interface RunReport {
  asOf: string;
  settled: string[];
  carriedOver: string[];
  /** Payees this run had nothing new for: their period settled earlier, or nothing owed. */
  unchanged: number;
}

const settlementColumns = (sql: Sql | Tx) => sql`
  id, payee_account, period_id, schedule, period_start, period_end, status, reason, carried_in_coins::text, earned_coins::text,
  adjustment_coins::text, coins::text, currency, fiat_per_coin::text, gross::text, tax_profile, tax_rate::text, tax::text, fee::text,
  payable::text, payout_method, entry_id::text, created_at, settled_at`;

export class SettlementService {
  constructor(
    private readonly sql: Sql,
    private readonly wallets: WalletStore,
    private readonly payees: PayeeDirectory,
    private readonly clock: () => number,
  ) {}

  async run(asOfMs: number = this.clock()): Promise<RunReport> {
    if (asOfMs > this.clock()) throw new DomainError('INVALID_ARGUMENT', 'a run cannot settle a period that has not ended');
    await waitForLedger(this.wallets.redis, this.wallets.keys);
    const report: RunReport = { asOf: new Date(asOfMs).toISOString(), settled: [], carriedOver: [], unchanged: 0 };
    const changed = new Set<string>();
    // A statement a crash left posting is finished first, whichever period it is of: the
    // next period's sum counts its coins as moved, so nothing else would ever pay them.
    const stuck = await this.sql<SettlementRow[]>`
      select ${settlementColumns(this.sql)} from settlements where status = 'posting' order by payee_account, period_end`;
    for (const row of stuck) {
      const settled = await this.post(row);
      if (settled === null) continue;
      report.settled.push(settled.id);
      changed.add(settled.payee_account);
    }
    for (const id of await this.duePayees(asOfMs)) {
      const row = await this.settlePayee(id, asOfMs);
      if (row === null) continue;
      (row.status === 'carried_over' ? report.carriedOver : report.settled).push(row.id);
      changed.add(id);
    }
    const [payees] = await this.sql<{ n: number }[]>`select count(*)::int as n from accounts where kind in ('earnings', 'agency')`;
    report.unchanged = (payees?.n ?? 0) - changed.size;
    return report;
  }

  /**
   * The payees a run at this time may have work for, in one query: those whose newest
   * closed period has no statement yet and who are owed coins as of its end (the sum
   * `unsettled` takes), and those whose statement stopped while posting. A run asked
   * each payee in turn, five queries each, so the payees with nothing to settle (most of
   * them, once streamers go quiet) cost ~1 ms each every 15 minutes: 21-26 s a run for 20,000.
   * A payee this leaves out is one `settlePayee` would answer null for.
   */
  async duePayees(asOfMs: number): Promise<string[]> {
    const periods = schedules.map((schedule) => lastClosedPeriod(schedule, asOfMs));
    const rows = await this.sql<{ id: string }[]>`
      with current_period as (
        select * from unnest(${this.sql.array(periods.map((p) => p.schedule))}::text[], ${this.sql.array(periods.map((p) => p.id))}::text[],
                             ${this.sql.array(periods.map((p) => utcDay(p.endMs)))}::date[]) as c(schedule, period_id, end_day)
      )
      select a.id
        from accounts a
        left join payee_profiles profile on profile.payee_account = a.id
        join current_period c on c.schedule = coalesce(profile.schedule, ${defaultSchedule})
        left join settlements s on s.payee_account = a.id and s.period_id = c.period_id
       where a.kind in ('earnings', 'agency')
         and (s.status = 'posting'
              or (s.id is null
                  and (select coalesce(sum(d.gift_coins + d.adjustment_coins), 0) from payee_days d where d.account_id = a.id and d.day < c.end_day)
                    > (select coalesce(sum(m.coins), 0) from settlements m where m.payee_account = a.id and m.status in ('posting', 'settled'))))
       order by a.id`;
    return rows.map((row) => row.id);
  }

  /** Settles one payee's newest closed period; null when there is nothing new to do. */
  async settlePayee(payeeAccount: string, asOfMs: number): Promise<SettlementRow | null> {
    if (!isPayeeAccount(payeeAccount)) throw new DomainError('INVALID_ARGUMENT', `${payeeAccount} is not paid out`);
    const profile = await this.payees.profile(payeeAccount);
    const period = lastClosedPeriod(profile.schedule, asOfMs);
    const existing = await this.find(payeeAccount, period.id);
    if (existing !== undefined) {
      if (existing.status !== 'posting') return null;
      return this.post(existing);
    }
    // After a change of schedule, a period may end before one already settled: skip it.
    const [latest] = await this.sql<{ end_ms: string | null }[]>`
      select (extract(epoch from max(period_end)) * 1000)::bigint::text as end_ms from settlements where payee_account = ${payeeAccount}`;
    if (latest?.end_ms != null && Number(latest.end_ms) >= period.endMs) return null;

    const figures = await this.unsettled(payeeAccount, period);
    if (figures.total <= 0n) return null;
    const terms = await this.payees.terms(profile);
    const payable = computePayable(figures.total, terms, await this.earlierStatements(payeeAccount, period, terms));
    const outcome = settlementOutcome({
      coins: figures.total, kycStatus: profile.kycStatus, payoutMethod: profile.payoutMethod,
      hasPayoutAccount: profile.stripeAccount !== null, payable: payable.payable, minimumPayout: new Fiat(terms.minimumPayout),
    });
    const id = `st_${randomBytes(9).toString('base64url')}`;
    const nowMs = this.clock();
    const [inserted] = await this.sql<SettlementRow[]>`
      insert into settlements (id, payee_account, period_id, schedule, period_start, period_end, status, reason,
        carried_in_coins, earned_coins, adjustment_coins, coins, currency, fiat_per_coin, gross, tax_profile, tax_rate, tax, fee,
        payable, payout_method, entry_id, created_at)
      values (${id}, ${payeeAccount}, ${period.id}, ${period.schedule}, ${new Date(period.startMs)}, ${new Date(period.endMs)},
        ${outcome.status === 'settled' ? 'posting' : 'carried_over'}, ${outcome.status === 'settled' ? null : outcome.reason},
        ${String(figures.carriedIn)}, ${String(figures.earned)}, ${String(figures.adjustments)}, ${String(figures.total)},
        ${terms.currency}, ${terms.fiatPerCoin}, ${payable.gross.toString()}, ${terms.taxProfile}, ${terms.withholdingRate},
        ${payable.tax.toString()}, ${payable.fee.toString()}, ${payable.payable.toString()}, ${profile.payoutMethod},
        ${outcome.status === 'settled' ? newEntryId(nowMs) : null}, ${new Date(nowMs)})
      on conflict (payee_account, period_id) do nothing
      returning ${settlementColumns(this.sql)}`;
    if (inserted === undefined) {
      // Another run got there first; finish its work if it stopped half-way.
      const raced = await this.find(payeeAccount, period.id);
      return raced?.status === 'posting' ? this.post(raced) : null;
    }
    return inserted.status === 'posting' ? this.post(inserted) : inserted;
  }

  /**
   * Moves the coins into settling (once, by key) and opens the payout. Resumable. Null when
   * another run finished it first: runs at once each get here, and only the one whose
   * update settled the row reports it as settled.
   */
  private async post(row: SettlementRow): Promise<SettlementRow | null> {
    const entryId = row.entry_id;
    if (entryId === null) throw new InvariantViolation(`settlement ${row.id} is posting without an entry id`);
    // The idempotency record lives 24 h; the ledger (complete after waitForLedger) remembers for ever.
    const [posted] = await this.sql`select 1 from journal_entries where id = ${entryId}::uuid`;
    if (posted === undefined) await this.postSettlementEntry(row, entryId);
    const [settled] = await this.sql.begin(async (tx) => {
      await tx`
        insert into payouts (id, settlement_id, payee_account, method, destination, currency, amount, coins, status)
        select ${`po_${randomBytes(9).toString('base64url')}`}, s.id, s.payee_account, s.payout_method, p.stripe_account, s.currency, s.payable, s.coins, 'pending'
          from settlements s left join payee_profiles p on p.payee_account = s.payee_account
         where s.id = ${row.id}
        on conflict (settlement_id) do nothing`;
      return tx<SettlementRow[]>`
        update settlements set status = 'settled', settled_at = ${new Date(this.clock())} where id = ${row.id} and status = 'posting'
        returning ${settlementColumns(tx)}`;
    });
    return settled ?? null;
  }

  private async postSettlementEntry(row: SettlementRow, entryId: string): Promise<void> {
    const coins = Number(row.coins);
    try {
      await this.wallets.postEntry({
        entryId, kind: 'settlement', nowMs: this.clock(),
        meta: { settlementId: row.id, payee: row.payee_account, periodId: row.period_id },
        postings: [{ accountId: row.payee_account, amount: -coins }, { accountId: settlingAccount(row.payee_account), amount: coins }],
        flooredAccounts: new Set([row.payee_account]),
        idempotencyKey: `settlement:${row.id}`, fingerprint: row.coins,
      });
    } catch (error) {
      // The ledger said the payee had these coins; a hot store that disagrees is a broken invariant.
      if (error instanceof DomainError && error.code === 'INSUFFICIENT_FUNDS') {
        throw new InvariantViolation(`hot balance of ${row.payee_account} is below the ${coins} coins the ledger owes it`);
      }
      throw error;
    }
  }

  private async unsettled(payeeAccount: string, period: Period): Promise<{ carriedIn: bigint; earned: bigint; adjustments: bigint; total: bigint }> {
    // Periods start and end at UTC midnight, so whole days of migration 00022's sums
    // (settlement entries left out) cover them exactly.
    const start = utcDay(period.startMs);
    const end = utcDay(period.endMs);
    invariant(Date.parse(start) === period.startMs && Date.parse(end) === period.endMs, `period ${period.id} does not start and end at UTC midnight`);
    const [ledger] = await this.sql<{ before: string; earned: string; adjustments: string }[]>`
      select coalesce(sum(gift_coins + adjustment_coins) filter (where day < ${start}::date), 0)::text as before,
             coalesce(sum(gift_coins) filter (where day >= ${start}::date), 0)::text as earned,
             coalesce(sum(adjustment_coins) filter (where day >= ${start}::date), 0)::text as adjustments
        from payee_days
       where account_id = ${payeeAccount} and day < ${end}::date`;
    // Every earlier settlement ended before this period does (settlePayee checks it).
    const [moved] = await this.sql<{ coins: string }[]>`
      select coalesce(sum(coins), 0)::text as coins from settlements
       where payee_account = ${payeeAccount} and status in ('posting', 'settled') and period_id <> ${period.id}`;
    const carriedIn = BigInt(ledger?.before ?? '0') - BigInt(moved?.coins ?? '0');
    const earned = BigInt(ledger?.earned ?? '0');
    const adjustments = BigInt(ledger?.adjustments ?? '0');
    return { carriedIn, earned, adjustments, total: carriedIn + earned + adjustments };
  }

  /** What the payee's earlier statements settled at this currency and rate (see computePayable). */
  private async earlierStatements(payeeAccount: string, period: Period, terms: PayoutTerms): Promise<EarlierStatements> {
    const [earlier] = await this.sql<{ coins: string; gross: string }[]>`
      select coalesce(sum(coins), 0)::text as coins, coalesce(sum(gross), 0)::text as gross from settlements
       where payee_account = ${payeeAccount} and status in ('posting', 'settled') and period_id <> ${period.id}
         and currency = ${terms.currency} and fiat_per_coin = ${terms.fiatPerCoin}::numeric`;
    return { coins: BigInt(earlier?.coins ?? '0'), gross: new Fiat(earlier?.gross ?? '0') };
  }

  async find(payeeAccount: string, periodId: string): Promise<SettlementRow | undefined> {
    const [row] = await this.sql<SettlementRow[]>`
      select ${settlementColumns(this.sql)} from settlements where payee_account = ${payeeAccount} and period_id = ${periodId}`;
    return row;
  }

  async get(id: string): Promise<SettlementRow | undefined> {
    const [row] = await this.sql<SettlementRow[]>`select ${settlementColumns(this.sql)} from settlements where id = ${id}`;
    return row;
  }

  /** Newest periods first. */
  async list(filter: { payeeAccount?: string; periodId?: string; limit: number }): Promise<SettlementRow[]> {
    return this.sql<SettlementRow[]>`
      select ${settlementColumns(this.sql)} from settlements
       where true ${filter.payeeAccount === undefined ? this.sql`` : this.sql`and payee_account = ${filter.payeeAccount}`}
             ${filter.periodId === undefined ? this.sql`` : this.sql`and period_id = ${filter.periodId}`}
       order by period_end desc, id desc limit ${filter.limit}`;
  }
}
