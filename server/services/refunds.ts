import { randomBytes } from 'node:crypto';
import { walletAccount } from '../../domain/accounts.js';
import { takeBackPostings, type CoinsBack } from '../../domain/clawback.js';
import { refreshFreeze } from './wallet-freezes.js';
import { DomainError, invariant, refuseInState } from '../../domain/errors.js';
import { Fiat, formatFiat, fromMinorUnits } from '../../domain/fiat.js';
import { coinsRefundedOutside, refundShare } from '../../domain/refund-share.js';
import type { Posting } from '../../domain/ledger.js';
import type { Sql, Tx } from '../db/sql.js';
import type { PaymentProvider } from '../payments/provider.js';
import type { WalletStore } from '../redis/wallet-store.js';
import type { LiveNotifier } from './notifier.js';
import { creditedCoins, lockOrder, refundSplit, transitionOrder, type OrderRow } from './order-records.js';
import { newEntryStamp } from '../db/entry-ids.js';
import { postEntryOnce } from './entries-once.js';

export const refundStatuses = ['requested', 'processing', 'succeeded', 'failed', 'rejected', 'canceled'] as const;
export type RefundStatus = (typeof refundStatuses)[number];

interface RefundRow {
  id: string; order_id: string; requested_by: string; coins: bigint; amount: string; currency: string;
  status: RefundStatus; provider_refund_id: string | null; cause: string;
  made_outside: boolean;
  /** The bonus coins among `coins`, fixed when the refund starts taking coins (null before). */
  bonus_coins: bigint | null;
  created_at: Date; updated_at: Date;
}

export interface RefundView {
  id: string; orderId: string; requestedBy: string; coins: number; amount: string; currency: string; status: string;
  providerRefundId: string | null; cause: string; createdAt: string; updatedAt: string;
}

const refundable = ['fulfilled', 'partially_refunded', 'dispute_won'];

/** An open or lost dispute took the order's charge back: its coins are the dispute's, and so is its status. */
function takenByDispute(order: OrderRow): boolean {
  return order.status === 'disputed' || order.status === 'dispute_lost';
}

function view(row: RefundRow): RefundView {
  return {
    id: row.id, orderId: row.order_id, requestedBy: row.requested_by, coins: Number(row.coins),
    amount: formatFiat(new Fiat(row.amount), row.currency), currency: row.currency, status: row.status,
    providerRefundId: row.provider_refund_id, cause: row.cause, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
  };
}

/** The pack and bonus coins a refund takes, as fixed when it started taking them. */
function splitOf(refund: RefundRow): CoinsBack {
  invariant(refund.bonus_coins !== null, `refund ${refund.id} takes coins with no pack/bonus split recorded`);
  return { coins: Number(refund.coins - refund.bonus_coins), bonus: Number(refund.bonus_coins) };
}

function creditedTotal(order: OrderRow): number {
  const { coins, bonus } = creditedCoins(order);
  return coins + bonus;
}

/**
 * Refunds of the unspent part of an order. A user's request waits for an admin; an admin
 * refunds directly. The flow: persist the intent, debit the coins (they cannot be spent
 * meanwhile), call the provider, then settle; if the provider refuses, credit the coins
 * back. Each step is idempotent by refund id, so a crash anywhere resumes safely.
 */
export class RefundService {
  constructor(private readonly sql: Sql, private readonly wallets: WalletStore, private readonly provider: PaymentProvider,
    private readonly notifier: () => LiveNotifier) {}

  async request(orderId: string, requestedBy: { userId: string; admin: boolean }, coinsWanted: number | undefined): Promise<RefundView> {
    // Checked and recorded under the order's row lock: requests at once for the same order
    // are counted against each other, so together they never ask for more than it left.
    const row = await this.sql.begin(async (tx) => {
      const order = await lockOrder(tx, orderId);
      // Another user's order answers as an absent one does: its existence is not disclosed.
      if (!requestedBy.admin && order.user_id !== requestedBy.userId) throw new DomainError('NOT_FOUND', `no order ${orderId}`);
      if (!refundable.includes(order.status)) throw new DomainError('CONFLICT', `an order that is ${order.status} cannot be refunded`);
      const [refunded] = await tx<{ coins: string; amount: string }[]>`
        select coalesce(sum(coins), 0)::text as coins, coalesce(sum(amount), 0)::text as amount
          from refunds where order_id = ${orderId} and status in ('requested', 'processing', 'succeeded')`;
      const earlier = { coins: Number(refunded?.coins ?? 0), amount: new Fiat(refunded?.amount ?? '0') };
      const total = creditedTotal(order);
      const left = total - earlier.coins;
      const unspent = Math.min(left, Math.max(0, (await this.wallets.wallet(order.user_id)).balance));
      const coins = coinsWanted ?? unspent;
      if (!Number.isSafeInteger(coins) || coins <= 0 || coins > unspent) {
        throw new DomainError('INVALID_ARGUMENT', `at most ${unspent} coins of this order can be refunded now`);
      }
      // Never more than was paid for the coins, and nothing lost across partial refunds.
      const amount = refundShare(new Fiat(order.price), order.currency, total, coins, earlier);
      // Nothing to give back would take the coins for nothing (a provider refuses a refund of 0).
      if (amount.isZero()) throw new DomainError('INVALID_ARGUMENT', `${coins} coins of this order are worth less than one minor unit of ${order.currency} now: refund more of them`);
      const id = `rf_${randomBytes(12).toString('base64url')}`;
      // An admin's refund starts at once: its split is fixed now, under the lock.
      const bonus = requestedBy.admin ? (await refundSplit(tx, order, coins)).bonus : null;
      const [inserted] = await tx<RefundRow[]>`
        insert into refunds (id, order_id, requested_by, coins, bonus_coins, amount, currency, status, cause)
        values (${id}, ${orderId}, ${requestedBy.userId}, ${coins}, ${bonus}, ${amount.toString()}, ${order.currency},
                ${requestedBy.admin ? 'processing' : 'requested'}, ${requestedBy.admin ? 'refunded by an admin' : 'requested by the owner'})
        returning *`;
      if (inserted === undefined) throw new DomainError('INTERNAL');
      return inserted;
    });
    return requestedBy.admin ? this.execute(row.id) : view(row);
  }

  async approve(refundId: string): Promise<RefundView> {
    // Under the order's lock: a dispute that opened since the request took the order's coins
    // back; approving now would take other coins from the wallet and refund a disputed charge.
    const row = await this.sql.begin(async (tx) => {
      const [refund] = await tx<{ order_id: string }[]>`select order_id from refunds where id = ${refundId}`;
      if (refund === undefined) return undefined;
      const order = await lockOrder(tx, refund.order_id);
      const [requested] = await tx<RefundRow[]>`select * from refunds where id = ${refundId} and status = 'requested'`;
      if (requested === undefined) return undefined;
      if (!refundable.includes(order.status)) {
        throw new DomainError('CONFLICT', `the order is ${order.status}: this refund cannot run now; reject it, or approve it once the order may be refunded`);
      }
      const { bonus } = await refundSplit(tx, order, Number(requested.coins));
      const [approved] = await tx<RefundRow[]>`
        update refunds set status = 'processing', bonus_coins = ${bonus}, cause = 'approved by an admin', updated_at = now()
         where id = ${refundId} and status = 'requested' returning *`;
      return approved;
    });
    if (row === undefined) return this.refuseState(refundId, 'only a requested refund can be approved');
    return this.execute(refundId);
  }

  private async refuseState(refundId: string, allowed: string): Promise<never> {
    const [row] = await this.sql<{ status: string }[]>`select status from refunds where id = ${refundId}`;
    return refuseInState(row, 'refund', allowed);
  }

  /** An admin turns a request down: nothing was debited for it, and nothing moves. */
  async reject(refundId: string, reason: string): Promise<RefundView> {
    const [row] = await this.sql<RefundRow[]>`
      update refunds set status = 'rejected', cause = ${`rejected by an admin: ${reason}`}, updated_at = now()
       where id = ${refundId} and status = 'requested' returning *`;
    if (row === undefined) return this.refuseState(refundId, 'only a requested refund can be rejected');
    return view(row);
  }

  /** The owner withdraws a request no admin has decided yet: nothing was debited, and nothing moves. */
  async cancel(refundId: string, ownerId: string): Promise<RefundView> {
    const [row] = await this.sql<RefundRow[]>`
      update refunds r set status = 'canceled', cause = 'canceled by the owner', updated_at = now()
        from orders o
       where r.id = ${refundId} and o.id = r.order_id and o.user_id = ${ownerId} and r.status = 'requested'
      returning r.*`;
    if (row !== undefined) return view(row);
    // Another user's refund answers as an absent one does.
    const [existing] = await this.sql<{ status: string }[]>`
      select r.status from refunds r join orders o on o.id = r.order_id where r.id = ${refundId} and o.user_id = ${ownerId}`;
    return refuseInState(existing, 'refund', 'only a requested refund can be canceled');
  }

  /** Refunds for admins, newest first: `requested` ones are the queue to approve or reject. */
  async list(filter: { status?: RefundStatus; limit: number }): Promise<RefundView[]> {
    const rows = await this.sql<RefundRow[]>`
      select * from refunds ${filter.status === undefined ? this.sql`` : this.sql`where status = ${filter.status}`}
       order by created_at desc, id desc limit ${filter.limit}`;
    return rows.map(view);
  }

  /** Resumes refunds a crash left processing. One Stripe made already is only taken back, never sent again. */
  async resume(): Promise<number> {
    // The least recently tried first, each marked tried: refunds that keep waiting on the
    // provider do not hold the ones behind them out of the sweep for ever.
    const open = await this.sql<{ id: string }[]>`
      with due as (select id, updated_at as tried_at from refunds where status = 'processing' order by updated_at, id limit 100),
           touched as (update refunds r set updated_at = now() from due where r.id = due.id returning r.id, due.tried_at)
      select id from touched order by tried_at, id`;
    // One refund refused (a state it cannot finish in) does not stop the others; the
    // first refusal is then thrown, so the sweep's log shows it.
    let firstRefusal: DomainError | null = null;
    for (const { id } of open) {
      try {
        const found = await this.withOrder(id);
        if (found?.refund.made_outside === true) await this.takeBackOutside(found.refund, found.order);
        else await this.execute(id);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        firstRefusal ??= error;
      }
    }
    if (firstRefusal !== null) throw firstRefusal;
    return open.length;
  }

  /**
   * charge.refunded: Stripe reports the charge's cumulative refunded amount. What goes beyond
   * the refunds we made ourselves was refunded outside the app (the Stripe dashboard): its
   * coins are taken back, from the wallet as far as it goes and the rest as debt (frozen
   * until repaid, as after a chargeback). Repeats and reordering change nothing.
   */
  async refundedOutside(paymentIntentId: string, refundedMinor: bigint, currency: string, eventId: string): Promise<void> {
    const [ref] = await this.sql<{ id: string }[]>`select id from orders where payment_intent_id = ${paymentIntentId}`;
    if (ref === undefined) return;
    const id = `rf_x${eventId.replace(/[^A-Za-z0-9]/g, '').slice(-36)}`;
    // Counted and recorded under the order's row lock: two reports at once (two dashboard
    // refunds) each carry the running total, and each must count the other's refund.
    const recorded = await this.sql.begin(async (tx) => {
      const order = await lockOrder(tx, ref.id);
      if (!refundable.includes(order.status) && order.status !== 'refunded') {
        // Not fulfilled yet, or under a dispute (which took the coins back): Stripe redelivers.
        throw new DomainError('CONFLICT', `order ${order.id} is ${order.status}: a refund made outside the app applies once it is fulfilled and not under dispute; retry later`);
      }
      if (currency.toUpperCase() !== order.currency) throw new DomainError('CONFLICT', 'refund currency does not match the order');
      if (refundedMinor > order.provider_refunded_minor) {
        await tx`update orders set provider_refunded_minor = ${refundedMinor.toString()} where id = ${order.id}`;
      }
      const inserted = await this.recordOutside(tx, order, refundedMinor, id, 'refunded outside the app');
      return inserted === null ? null : { refund: inserted, order };
    });
    if (recorded !== null) {
      await this.takeBackOutside(recorded.refund, recorded.order);
      return;
    }
    // The same event again: finish its refund if a crash stopped it half-way.
    const found = await this.withOrder(id);
    if (found?.refund.status === 'processing') await this.takeBackOutside(found.refund, found.order);
  }

  /**
   * Records, under the order's lock, what the provider reports refunded (`refundedMinor`, its
   * running total) beyond the refunds the app knows of, as a refund made outside the app;
   * null when there is nothing beyond them (or the refund `id` is recorded already).
   */
  private async recordOutside(tx: Tx, order: OrderRow, refundedMinor: bigint, id: string, cause: string): Promise<RefundRow | null> {
    const [known] = await tx<{ amount: string; coins: string }[]>`
      select coalesce(sum(amount), 0)::text as amount, coalesce(sum(coins), 0)::text as coins
        from refunds where order_id = ${order.id} and status in ('processing', 'succeeded')`;
    const refundedInAll = fromMinorUnits(refundedMinor, order.currency);
    const outside = refundedInAll.minus(new Fiat(known?.amount ?? '0'));
    if (outside.lessThanOrEqualTo(0)) return null;
    const coins = coinsRefundedOutside(new Fiat(order.price), creditedTotal(order), refundedInAll, Number(known?.coins ?? 0));
    const { bonus } = await refundSplit(tx, order, coins);
    const [inserted] = await tx<RefundRow[]>`
      insert into refunds (id, order_id, requested_by, coins, bonus_coins, amount, currency, status, cause, made_outside)
      values (${id}, ${order.id}, 'stripe', ${coins}, ${bonus}, ${outside.toString()}, ${order.currency}, 'processing', ${cause}, true)
      on conflict (id) do nothing returning *`;
    return inserted ?? null;
  }

  /** A refund and the order it refunds. */
  private async withOrder(refundId: string): Promise<{ refund: RefundRow; order: OrderRow } | undefined> {
    const [refund] = await this.sql<RefundRow[]>`select * from refunds where id = ${refundId}`;
    if (refund === undefined) return undefined;
    const [order] = await this.sql<OrderRow[]>`select * from orders where id = ${refund.order_id}`;
    return order === undefined ? undefined : { refund, order };
  }

  /**
   * Stripe has refunded already: the coins are taken back (what the wallet cannot cover
   * becomes debt) and the refund finished. Never calls the provider. By key, so resumable.
   */
  private async takeBackOutside(refund: RefundRow, order: OrderRow): Promise<void> {
    if (refund.coins > 0n) {
      const { postings } = takeBackPostings(order.user_id, splitOf(refund), (await this.wallets.wallet(order.user_id)).balance);
      await postEntryOnce(this.wallets, this.sql, { ...newEntryStamp(), kind: 'refund', meta: { orderId: order.id, refundId: refund.id, userId: order.user_id },
        postings, flooredAccounts: new Set([walletAccount(order.user_id)]), idempotencyKey: `refund:${refund.id}`, fingerprint: refund.id });
    }
    await this.finish(refund.id, 'succeeded', `refunded ${formatFiat(new Fiat(refund.amount), order.currency)} ${order.currency} outside the app`, null);
    await refreshFreeze(this.wallets, this.sql, order.user_id);
  }

  async get(refundId: string): Promise<RefundView | undefined> {
    const [row] = await this.sql<RefundRow[]>`select * from refunds where id = ${refundId}`;
    return row === undefined ? undefined : view(row);
  }

  private async execute(refundId: string): Promise<RefundView> {
    const found = await this.withOrder(refundId);
    if (found === undefined || found.refund.status !== 'processing') throw new DomainError('CONFLICT', 'this refund is not in progress');
    const { refund, order } = found;
    invariant(!refund.made_outside, `refund ${refundId} was made by Stripe already: sending it again would refund twice`);
    // The script refuses an overdraft: a refund we make takes the coins from the wallet only.
    const debit = takeBackPostings(order.user_id, splitOf(refund), Number(refund.coins)).postings;
    try {
      await postEntryOnce(this.wallets, this.sql, { ...newEntryStamp(), kind: 'refund', meta: { orderId: order.id, refundId, userId: order.user_id },
        postings: debit, flooredAccounts: new Set([walletAccount(order.user_id)]), idempotencyKey: `refund:${refundId}`, fingerprint: refundId });
    } catch (error) {
      if (!(error instanceof DomainError && error.code === 'INSUFFICIENT_FUNDS')) throw error;
      return this.finish(refundId, 'failed', 'the coins were spent before the refund ran', null);
    }
    let providerRefundId: string | null;
    try {
      providerRefundId = await this.provider.refund(order, refundId, new Fiat(refund.amount));
    } catch (error) {
      // Not known to have failed: stay processing; the sweep retries with the same key.
      if (error instanceof DomainError && error.code === 'UNAVAILABLE') return view(refund);
      return this.refused(refund, debit);
    }
    return this.finish(refundId, 'succeeded', `refunded ${formatFiat(new Fiat(refund.amount), refund.currency)} ${refund.currency}`, providerRefundId);
  }

  /**
   * The provider refused the refund: its coins go back to the wallet. Unless the order was
   * disputed while the refund was under way (Stripe refuses to refund a disputed charge):
   * the dispute took back all the order's credit but these coins, which the refund held, so
   * now the dispute holds them too; a won dispute gives them back with the rest, a lost one
   * keeps them. Decided under the order's lock, so a dispute opening now counts them.
   */
  private async refused(refund: RefundRow, debit: Posting[]): Promise<RefundView> {
    const done = await this.sql.begin(async (tx) => {
      const order = await lockOrder(tx, refund.order_id);
      const [still] = await tx`select 1 from refunds where id = ${refund.id} and status = 'processing' for update`;
      if (still === undefined) return null;
      if (takenByDispute(order)) {
        const [dispute] = await tx<{ id: string }[]>`
          update order_disputes set wallet_coins = wallet_coins + ${Number(refund.coins)}
           where id = (select id from order_disputes where order_id = ${order.id} and status = 'open' order by opened_at desc limit 1)
          returning id`;
        invariant(dispute !== undefined || order.status === 'dispute_lost', `order ${order.id} is disputed with no open dispute`);
        await this.markFailed(tx, refund.id, dispute === undefined
          ? 'the payment provider refused the refund: the charge was lost to a dispute, which keeps the coins'
          : `the payment provider refused the refund: the order is disputed, and dispute ${dispute.id} holds the coins`);
        return { order, outside: null };
      }
      await postEntryOnce(this.wallets, tx, { ...newEntryStamp(), kind: 'refund-compensation', meta: { orderId: order.id, refundId: refund.id, userId: order.user_id },
        postings: debit.map((p) => ({ accountId: p.accountId, amount: -p.amount })), flooredAccounts: new Set(),
        idempotencyKey: `refund-compensation:${refund.id}`, fingerprint: refund.id });
      await this.markFailed(tx, refund.id, 'the payment provider refused the refund; the coins were credited back');
      // A dashboard refund reported while this one was under way was counted against it;
      // with this one refused, the provider's last running total says what that one refunded.
      const outside = await this.recordOutside(tx, order, order.provider_refunded_minor, `rf_xr${refund.id.slice(3)}`,
        `refunded outside the app (reported while refund ${refund.id} was under way)`);
      return { order, outside };
    });
    // Taking the dashboard refund's coins back tells the wallet itself, once, after both.
    if (done?.outside != null) await this.takeBackOutside(done.outside, done.order);
    else if (done !== null) await this.walletChanged(done.order.user_id);
    const current = await this.get(refund.id);
    if (current === undefined) throw new DomainError('NOT_FOUND');
    return current;
  }

  private async markFailed(tx: Tx, refundId: string, cause: string): Promise<void> {
    await tx`update refunds set status = 'failed', cause = ${cause}, updated_at = now() where id = ${refundId}`;
  }

  private async walletChanged(userId: string): Promise<void> {
    const state = await this.wallets.wallet(userId);
    this.notifier().walletChanged(userId, { balance: state.balance, frozen: state.frozen, reason: 'refund' });
  }

  private async finish(refundId: string, status: 'succeeded' | 'failed', cause: string, providerRefundId: string | null): Promise<RefundView> {
    const userId = await this.sql.begin(async (tx) => {
      // The order's lock first, then the refund's, as everywhere else: the other way round,
      // a refusal handled at the same time could deadlock with this.
      const [ref] = await tx<{ order_id: string }[]>`select order_id from refunds where id = ${refundId}`;
      if (ref === undefined) return null;
      const order = await lockOrder(tx, ref.order_id);
      const [refund] = await tx<RefundRow[]>`select * from refunds where id = ${refundId} for update`;
      if (refund === undefined || refund.status !== 'processing') return null;
      await tx`update refunds set status = ${status}, cause = ${cause}, provider_refund_id = ${providerRefundId}, updated_at = now() where id = ${refundId}`;
      // A refund the provider made before a dispute reached it stands; the order keeps the dispute's status.
      if (status === 'succeeded' && !takenByDispute(order)) {
        const [done] = await tx<{ coins: string }[]>`select coalesce(sum(coins), 0)::text as coins from refunds where order_id = ${order.id} and status = 'succeeded'`;
        const all = Number(done?.coins ?? 0) >= creditedTotal(order);
        await transitionOrder(tx, order, all ? 'refunded' : 'partially_refunded', `refund ${refundId}: ${cause}`);
      }
      return order.user_id;
    });
    if (userId !== null) await this.walletChanged(userId);
    const current = await this.get(refundId);
    if (current === undefined) throw new DomainError('NOT_FOUND');
    return current;
  }
}
