import { payoutsAccount, settlingAccount } from '../../domain/accounts.js';
import { DomainError, refuseInState } from '../../domain/errors.js';
import { Fiat, toMinorUnits } from '../../domain/fiat.js';
import { periodContaining } from '../../domain/settlement-periods.js';
import type { Sql } from '../db/sql.js';
import type { PayoutTransfers } from '../payments/transfers.js';
import type { WalletStore } from '../redis/wallet-store.js';
import { toCsv } from './csv.js';
import type { PayeeDirectory } from './payees.js';
import { newEntryStamp } from '../db/entry-ids.js';
import { postEntryOnce } from './entries-once.js';

// Payouts move settled coins out: a transfer that went out moves them from settling to
// system:payouts; a refused one moves them back to the payee's account (an entry the
// payee sees), where the next settlement picks them up unless an admin retries first.
// Stripe is called outside any transaction, after the payout is marked "sending", with
// the key payout:<id>:<attempt>, so a crash mid-call resumes with the same key.

export type PayoutStatus = 'pending' | 'sending' | 'exported' | 'paid' | 'failed';

export interface PayoutRow {
  id: string;
  settlement_id: string;
  payee_account: string;
  method: 'stripe' | 'manual';
  destination: string | null;
  currency: string;
  amount: string;
  coins: string;
  status: PayoutStatus;
  attempts: number;
  transfer_id: string | null;
  last_error: string | null;
  returned_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const payoutColumns = 'id, settlement_id, payee_account, method, destination, currency, amount::text, coins::text, status, attempts, transfer_id, last_error, returned_at, created_at, updated_at';

const onlyPendingStripeSent = 'only a pending Stripe payout can be sent';

/** A payout after a call that paid or failed it: as it stands, and whether it was this call that moved it. */
interface Outcome { payout: PayoutRow; movedHere: boolean }

export class PayoutService {
  constructor(
    private readonly sql: Sql,
    private readonly wallets: WalletStore,
    private readonly payees: PayeeDirectory,
    /** Null without STRIPE_SECRET_KEY: Stripe payouts wait, manual ones work. */
    private readonly transfers: PayoutTransfers | null,
    private readonly clock: () => number,
  ) {}

  async get(id: string): Promise<PayoutRow | undefined> {
    const [row] = await this.sql<PayoutRow[]>`select ${this.sql.unsafe(payoutColumns)} from payouts where id = ${id}`;
    return row;
  }

  async forSettlement(settlementId: string): Promise<PayoutRow | undefined> {
    const [row] = await this.sql<PayoutRow[]>`select ${this.sql.unsafe(payoutColumns)} from payouts where settlement_id = ${settlementId}`;
    return row;
  }

  async list(filter: { status?: PayoutStatus; payeeAccount?: string; limit: number }): Promise<PayoutRow[]> {
    return this.sql<PayoutRow[]>`
      select ${this.sql.unsafe(payoutColumns)} from payouts
       where true ${filter.status === undefined ? this.sql`` : this.sql`and status = ${filter.status}`}
             ${filter.payeeAccount === undefined ? this.sql`` : this.sql`and payee_account = ${filter.payeeAccount}`}
       order by created_at desc, id desc limit ${filter.limit}`;
  }

  /** Sends the due or interrupted Stripe payouts, at most `limit`, the least recently tried first; refusals are recorded, outages leave them waiting. */
  async sendDue(limit = 500): Promise<{ paid: number; failed: number; waiting: number }> {
    const result = { paid: 0, failed: 0, waiting: 0 };
    if (this.transfers === null) return result;
    // The least recently tried first (each claim stamps updated_at): payouts that keep
    // waiting on Stripe do not hold the ones behind them out of the sweep.
    const due = await this.sql<{ id: string }[]>`
      select id from payouts where method = 'stripe' and status in ('pending', 'sending') order by updated_at, id limit ${limit}`;
    for (const { id } of due) {
      try {
        // A payout another sweep (or an admin) sends at the same time goes out once, by key,
        // and is reported by whichever call moved it; the others report nothing of it.
        const outcome = await this.sendOnce(this.transfers, id);
        if (outcome?.movedHere === true && outcome.payout.status === 'paid') result.paid += 1;
        else if (outcome?.movedHere === true && outcome.payout.status === 'failed') result.failed += 1;
      } catch (error) {
        // The provider or storage did not answer: the payout stays and the next sweep resumes
        // it with the same key. Anything else is a bug or a broken invariant: let it out.
        if (!(error instanceof DomainError)) throw error;
        result.waiting += 1;
      }
    }
    return result;
  }

  async send(id: string): Promise<PayoutRow> {
    if (this.transfers === null) {
      // An unknown or manual payout is refused for what it is; only a Stripe one waits for Stripe.
      const payout = await this.get(id);
      if (payout?.method !== 'stripe' || !['pending', 'sending'].includes(payout.status)) return refuseInState(payout, 'payout', onlyPendingStripeSent);
      throw new DomainError('UNAVAILABLE', 'Stripe is not configured: pay this payee manually');
    }
    const outcome = await this.sendOnce(this.transfers, id);
    return outcome?.payout ?? this.refuseState(id, onlyPendingStripeSent);
  }

  /** Sends a pending or interrupted Stripe payout; undefined if it is not (or no longer) one. */
  private async sendOnce(transfers: PayoutTransfers, id: string): Promise<Outcome | undefined> {
    const [claimed] = await this.sql<PayoutRow[]>`
      update payouts set status = 'sending', attempts = case when status = 'pending' then attempts + 1 else attempts end, updated_at = now()
       where id = ${id} and method = 'stripe' and status in ('pending', 'sending')
      returning ${this.sql.unsafe(payoutColumns)}`;
    if (claimed === undefined) return undefined;
    const idempotencyKey = `payout:${claimed.id}:${claimed.attempts}`;
    await this.sql`
      insert into payout_attempts (payout_id, attempt, idempotency_key, outcome) values (${claimed.id}, ${claimed.attempts}, ${idempotencyKey}, 'started')
      on conflict do nothing`;
    if (claimed.destination === null) return this.fail(claimed, 'no connected Stripe account');
    const outcome = await transfers.send({
      amountMinor: toMinorUnits(new Fiat(claimed.amount), claimed.currency), currency: claimed.currency,
      destination: claimed.destination, transferGroup: claimed.settlement_id, payoutId: claimed.id, attempt: claimed.attempts,
    }, idempotencyKey);
    if (outcome.status === 'refused') return this.fail(claimed, outcome.reason);
    return this.markPaid(claimed, outcome.transferId);
  }

  /** Manual payouts: a CSV for the bank, and the payouts in it marked exported. */
  async exportManual(): Promise<string> {
    const rows = await this.sql.begin((tx) => tx<PayoutRow[]>`
      update payouts set status = 'exported', updated_at = now()
       where id in (select id from payouts where method = 'manual' and status = 'pending' order by created_at for update)
      returning ${tx.unsafe(payoutColumns)}`);
    return toCsv([
      ['payout_id', 'settlement_id', 'payee', 'currency', 'amount', 'coins'],
      ...rows.sort((a, b) => a.id.localeCompare(b.id)).map((row) => [row.id, row.settlement_id, row.payee_account, row.currency, row.amount, row.coins]),
    ]);
  }

  /** The outcome of a manual payment, reported by an admin. */
  async settleManual(id: string, outcome: { paid: true; reference: string } | { paid: false; reason: string }): Promise<PayoutRow> {
    const row = await this.claimManual(id, outcome.paid ? 'paid' : 'failed', outcome.paid ? outcome.reference : outcome.reason);
    return (outcome.paid ? await this.markPaid(row, outcome.reference) : await this.fail(row, outcome.reason)).payout;
  }

  /**
   * One outcome per manual payout. The two outcomes post under different keys, so two
   * admins reporting paid and failed at once would both move the coins (out, and back to
   * the payee) whenever the settling account holds other payouts too. The first report
   * claims the payout (`sending`) under its row lock and records which outcome it is; a
   * report of the other outcome is refused. The same outcome again finishes a mark a crash
   * interrupted: its entry replays by key.
   */
  private async claimManual(id: string, outcome: 'paid' | 'failed', detail: string): Promise<PayoutRow> {
    return this.sql.begin(async (tx) => {
      const [row] = await tx<PayoutRow[]>`select ${tx.unsafe(payoutColumns)} from payouts where id = ${id} for update`;
      const refuse = () => refuseInState(row, 'payout', 'only a pending or exported manual payout can be marked');
      if (row === undefined || row.method !== 'manual') return refuse();
      if (row.status === 'exported' || row.status === 'pending') {
        await tx`
          insert into payout_attempts (payout_id, attempt, idempotency_key, outcome, detail)
          values (${row.id}, ${row.attempts}, ${`payout:${row.id}:${row.attempts}`}, 'started', ${`${outcome}: ${detail}`})
          on conflict (payout_id, attempt, outcome) do update set detail = excluded.detail, at = now()`;
        const [claimed] = await tx<PayoutRow[]>`
          update payouts set status = 'sending', updated_at = now() where id = ${id} returning ${tx.unsafe(payoutColumns)}`;
        if (claimed === undefined) throw new DomainError('INTERNAL');
        return claimed;
      }
      if (row.status !== 'sending') return refuse();
      const [started] = await tx<{ detail: string | null }[]>`
        select detail from payout_attempts where payout_id = ${id} and attempt = ${row.attempts} and outcome = 'started'`;
      if (started?.detail?.startsWith(`${outcome}: `) !== true) {
        throw new DomainError('CONFLICT', `this payout is being marked ${outcome === 'paid' ? 'failed' : 'paid'}; only that outcome can finish it`);
      }
      return row;
    });
  }

  /**
   * Sends a failed payout again: its coins go back into settling, then out. Refused once
   * the period the coins returned in has closed: they belong to the next settlement then.
   *
   * Checked and moved under the payout's row lock: two retries at once move the coins once,
   * and a retry that read the payout before another retry's attempt failed again cannot
   * take that second failure's coins for its own. Each retry opens a new attempt, so the
   * next failure's return posts under a key of its own (a manual payout's attempts count
   * only here; a Stripe payout's count when they are sent).
   */
  async retry(id: string): Promise<PayoutRow> {
    const before = await this.get(id);
    if (before === undefined) throw new DomainError('NOT_FOUND', 'no such payout');
    // Read before the lock: a query on the pool while holding a connection could wait for ever.
    const profile = await this.payees.profile(before.payee_account);
    const row = await this.sql.begin(async (tx) => {
      const [row] = await tx<PayoutRow[]>`select ${tx.unsafe(payoutColumns)} from payouts where id = ${id} for update`;
      if (row === undefined || row.status !== 'failed' || row.returned_at === null) return refuseInState(row, 'payout', 'only a failed payout can be retried');
      const returnedIn = periodContaining(profile.schedule, row.returned_at.getTime());
      if (this.clock() >= returnedIn.endMs) {
        throw new DomainError('CONFLICT', `the coins returned in period ${returnedIn.id}, which has closed: the next settlement pays them`);
      }
      const destination = row.method === 'stripe' ? profile.stripeAccount : row.destination;
      if (row.method === 'stripe' && destination === null) throw new DomainError('CONFLICT', 'the payee has no connected Stripe account');
      const coins = Number(row.coins);
      await postEntryOnce(this.wallets, tx, {
        ...newEntryStamp(this.clock()), kind: 'payout_retry',
        meta: { payoutId: row.id, settlementId: row.settlement_id, payee: row.payee_account },
        postings: [{ accountId: row.payee_account, amount: -coins }, { accountId: settlingAccount(row.payee_account), amount: coins }],
        flooredAccounts: new Set([row.payee_account]),
        idempotencyKey: `payout-retry:${row.id}:${row.attempts + 1}`, fingerprint: row.coins,
      });
      const [pending] = await tx<PayoutRow[]>`
        update payouts set status = 'pending', returned_at = null, destination = ${destination}, updated_at = now(),
               attempts = case when method = 'manual' then attempts + 1 else attempts end
         where id = ${id} returning ${tx.unsafe(payoutColumns)}`;
      if (pending === undefined) throw new DomainError('INTERNAL');
      return pending;
    });
    return row.method === 'stripe' && this.transfers !== null ? this.send(id) : row;
  }

  private async markPaid(row: PayoutRow, reference: string): Promise<Outcome> {
    const coins = Number(row.coins);
    const entry = await postEntryOnce(this.wallets, this.sql, {
      ...newEntryStamp(this.clock()), kind: 'payout',
      meta: { payoutId: row.id, settlementId: row.settlement_id, payee: row.payee_account, reference },
      postings: [{ accountId: settlingAccount(row.payee_account), amount: -coins }, { accountId: payoutsAccount, amount: coins }],
      flooredAccounts: new Set([settlingAccount(row.payee_account)]),
      idempotencyKey: `payout-paid:${row.id}`, fingerprint: row.coins,
    });
    const [paid] = await this.sql.begin(async (tx) => {
      await tx`insert into payout_attempts (payout_id, attempt, idempotency_key, outcome, detail)
               values (${row.id}, ${row.attempts}, ${`payout:${row.id}:${row.attempts}`}, 'paid', ${reference}) on conflict do nothing`;
      return tx<PayoutRow[]>`
        update payouts set status = 'paid', transfer_id = ${reference}, paid_entry_id = ${entry.entryId}, last_error = null, updated_at = now()
         where id = ${row.id} and status in ('sending', 'exported', 'pending')
        returning ${tx.unsafe(payoutColumns)}`;
    });
    return { payout: paid ?? (await this.get(row.id)) ?? row, movedHere: paid !== undefined };
  }

  private async fail(row: PayoutRow, reason: string): Promise<Outcome> {
    const coins = Number(row.coins);
    await postEntryOnce(this.wallets, this.sql, {
      ...newEntryStamp(this.clock()), kind: 'payout_return',
      meta: { payoutId: row.id, settlementId: row.settlement_id, payee: row.payee_account, reason },
      postings: [{ accountId: settlingAccount(row.payee_account), amount: -coins }, { accountId: row.payee_account, amount: coins }],
      flooredAccounts: new Set([settlingAccount(row.payee_account)]),
      idempotencyKey: `payout-return:${row.id}:${row.attempts}`, fingerprint: row.coins,
    });
    const [failed] = await this.sql.begin(async (tx) => {
      await tx`insert into payout_attempts (payout_id, attempt, idempotency_key, outcome, detail)
               values (${row.id}, ${row.attempts}, ${`payout:${row.id}:${row.attempts}`}, 'failed', ${reason}) on conflict do nothing`;
      return tx<PayoutRow[]>`
        update payouts set status = 'failed', last_error = ${reason}, returned_at = ${new Date(this.clock())}, updated_at = now()
         where id = ${row.id} and status in ('sending', 'exported', 'pending')
        returning ${tx.unsafe(payoutColumns)}`;
    });
    return { payout: failed ?? (await this.get(row.id)) ?? row, movedHere: failed !== undefined };
  }

  private async refuseState(id: string, allowed: string): Promise<never> {
    return refuseInState(await this.get(id), 'payout', allowed);
  }
}
