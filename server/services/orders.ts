import { randomBytes } from 'node:crypto';
import { bonusCoinsAccount, coinIssuanceAccount, debtAccount, walletAccount } from '../../domain/accounts.js';
import { refreshFreeze } from './wallet-freezes.js';
import { packageCredit, type CoinPackage } from '../../domain/coin-packages.js';
import { DomainError } from '../../domain/errors.js';
import { limits } from '../../domain/limits.js';
import { Fiat, formatFiat, fromMinorUnits, toMinorUnits } from '../../domain/fiat.js';
import type { OrderStatus } from '../../domain/order-states.js';
import type { Sql } from '../db/sql.js';
import type { PaymentProvider } from '../payments/provider.js';
import type { WalletStore } from '../redis/wallet-store.js';
import { loadCoinPackages } from './coin-packages.js';
import { lockOrder, transitionOrder, type OrderRow } from './order-records.js';
import type { LiveNotifier } from './notifier.js';
import { newEntryStamp } from '../db/entry-ids.js';
import { postEntryOnce } from './entries-once.js';

const orderTtlMinutes = 30;


export interface OrderView {
  id: string; userId: string; status: OrderStatus; packageId: string; price: string; currency: string; coins: number;
  bonusCoins: number; firstPurchaseBonusCoins: number; provider: string; paymentIntentId: string | null;
  clientSecret: string | null; fulfilledEntryId: string | null; createdAt: string; updatedAt: string; expiresAt: string;
}

function view(row: OrderRow): OrderView {
  return {
    id: row.id, userId: row.user_id, status: row.status, packageId: row.package_id,
    price: formatFiat(new Fiat(row.price), row.currency), currency: row.currency, coins: Number(row.coins),
    bonusCoins: Number(row.bonus_coins), firstPurchaseBonusCoins: Number(row.first_purchase_bonus_coins), provider: row.provider,
    paymentIntentId: row.payment_intent_id, clientSecret: row.client_secret, fulfilledEntryId: row.fulfilled_entry_id,
    createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(), expiresAt: row.expires_at.toISOString(),
  };
}

/** Top-up orders: create (idempotent by key), pay (provider or sandbox), fulfil exactly once, expire. */
export class OrderService {
  constructor(private readonly sql: Sql, private readonly wallets: WalletStore, readonly provider: PaymentProvider,
    private readonly notifier: () => LiveNotifier) {}

  async create(userId: string, packageId: string, idempotencyKey: string): Promise<{ order: OrderView; created: boolean }> {
    const existing = await this.byKey(userId, idempotencyKey);
    if (existing !== undefined) {
      if (existing.request_fingerprint !== packageId) throw new DomainError('CONFLICT', 'this Idempotency-Key was used for another order');
      return { order: await this.ensureIntent(existing), created: false };
    }
    const pkg = (await loadCoinPackages(this.sql)).find((p) => p.id === packageId);
    if (pkg === undefined) throw new DomainError('NOT_FOUND', `no coin package ${packageId}`);
    const { row, created } = await this.insert(userId, pkg, idempotencyKey);
    // The provider is called outside any database transaction: persist, call, then record.
    return { order: await this.ensureIntent(row), created };
  }

  async get(orderId: string): Promise<(OrderView & { transitions: { from: string | null; to: string; cause: string; at: string }[] }) | undefined> {
    const [row] = await this.sql<OrderRow[]>`select * from orders where id = ${orderId}`;
    if (row === undefined) return undefined;
    const transitions = await this.sql<{ from_status: string | null; to_status: string; cause: string; at: Date }[]>`
      select from_status, to_status, cause, at from order_transitions where order_id = ${orderId} order by id`;
    return { ...view(row), transitions: transitions.map((t) => ({ from: t.from_status, to: t.to_status, cause: t.cause, at: t.at.toISOString() })) };
  }

  async list(userId: string, limit: number): Promise<OrderView[]> {
    const rows = await this.sql<OrderRow[]>`select * from orders where user_id = ${userId} order by created_at desc, id desc limit ${limit}`;
    return rows.map(view);
  }

  /** The payment succeeded (webhook or sandbox): paid once, then fulfilled once. Amount and currency must match. */
  async paymentSucceeded(orderId: string, amountMinor: bigint, currency: string, cause: string): Promise<OrderView> {
    await this.sql.begin(async (tx) => {
      const order = await lockOrder(tx, orderId);
      if (order.currency !== currency.toUpperCase() || !fromMinorUnits(amountMinor, order.currency).equals(new Fiat(order.price))) {
        throw new DomainError('CONFLICT', `payment of ${amountMinor} ${currency} does not match order ${orderId}`);
      }
      if (order.status === 'pending_payment' || order.status === 'canceled' || order.status === 'expired') {
        await transitionOrder(tx, order, 'paid', cause);
      }
    });
    return this.fulfil(orderId);
  }

  async sandboxPay(orderId: string): Promise<OrderView> {
    const [row] = await this.sql<OrderRow[]>`select * from orders where id = ${orderId}`;
    if (row === undefined) throw new DomainError('NOT_FOUND');
    return this.paymentSucceeded(orderId, toMinorUnits(new Fiat(row.price), row.currency), row.currency, 'sandbox payment');
  }

  /** Unpaid orders older than their window are closed; returns how many. */
  async expireDue(): Promise<number> {
    const due = await this.sql<{ id: string }[]>`select id from orders where status = 'pending_payment' and expires_at < now() limit 1000`;
    for (const { id } of due) {
      await this.sql.begin(async (tx) => {
        const order = await lockOrder(tx, id);
        if (order.status === 'pending_payment') await transitionOrder(tx, order, 'expired', 'unpaid after 30 minutes');
      });
    }
    return due.length;
  }

  /** Paid but not fulfilled (a crash between the two): fulfil now. The credit is idempotent by order. */
  async fulfilPaid(): Promise<number> {
    const paid = await this.sql<{ id: string }[]>`select id from orders where status = 'paid' limit 1000`;
    for (const { id } of paid) await this.fulfil(id);
    return paid.length;
  }

  private async fulfil(orderId: string): Promise<OrderView> {
    // Read before the transaction: a transaction that waits on a pooled connection while
    // holding one deadlocks the pool under concurrent webhooks.
    // Its package as it is now, retired or not: an order placed before an admin retired it is fulfilled all the same.
    const [offer] = await this.sql<{ first_purchase_bonus_coins: string }[]>`
      select p.first_purchase_bonus_coins::text from orders o join coin_packages p on p.id = o.package_id where o.id = ${orderId}`;
    const fulfilled = await this.sql.begin(async (tx) => {
      const order = await lockOrder(tx, orderId);
      if (order.status !== 'paid') return null;
      await tx`select pg_advisory_xact_lock(hashtext(${`first-purchase:${order.user_id}`}))`;
      const [earlier] = await tx`select 1 from orders where user_id = ${order.user_id} and fulfilled_entry_id is not null limit 1`;
      // The coins and bonus as ordered; the first-purchase bonus as the package offers it now.
      const { coins, bonusCoins: bonus, firstPurchaseBonusCoins: firstBonus } = packageCredit({ coins: Number(order.coins),
        bonusCoins: Number(order.bonus_coins), firstPurchaseBonusCoins: Number(offer?.first_purchase_bonus_coins ?? 0) },
      earlier === undefined);
      const wallet = walletAccount(order.user_id);
      // A user who owes coins after a chargeback repays from the top-up first.
      const repay = Math.min(coins + bonus, await this.wallets.debtOwed(order.user_id));
      const receipt = await postEntryOnce(this.wallets, tx, {
        ...newEntryStamp(), kind: 'topup',
        meta: { orderId, userId: order.user_id, packageId: order.package_id, price: order.price, currency: order.currency },
        postings: [
          { accountId: coinIssuanceAccount, amount: -coins },
          ...(bonus > 0 ? [{ accountId: bonusCoinsAccount, amount: -bonus }] : []),
          ...(coins + bonus - repay > 0 ? [{ accountId: wallet, amount: coins + bonus - repay }] : []),
          ...(repay > 0 ? [{ accountId: debtAccount(order.user_id), amount: repay }] : []),
        ],
        flooredAccounts: new Set([wallet]),
        // Exactly once: a retry after a crash replays this credit instead of making another.
        idempotencyKey: `order:${orderId}`, fingerprint: orderId,
      });
      await tx`update orders set fulfilled_entry_id = ${receipt.entryId}, first_purchase_bonus_coins = ${firstBonus} where id = ${orderId}`;
      await transitionOrder(tx, order, 'fulfilled', `credited ${coins + bonus} coins in entry ${receipt.entryId}${repay > 0 ? `, ${repay} of them repaying debt` : ''}`);
      return { userId: order.user_id };
    });
    if (fulfilled !== null) {
      await refreshFreeze(this.wallets, this.sql, fulfilled.userId);
      const state = await this.wallets.wallet(fulfilled.userId);
      this.notifier().walletChanged(fulfilled.userId, { balance: state.balance, frozen: state.frozen, reason: 'topup' });
    }
    const current = await this.get(orderId);
    if (current === undefined) throw new DomainError('NOT_FOUND');
    return current;
  }

  private async insert(userId: string, pkg: CoinPackage, idempotencyKey: string): Promise<{ row: OrderRow; created: boolean }> {
    const id = `ord_${randomBytes(12).toString('base64url')}`;
    const inserted = await this.sql.begin(async (tx) => {
      // Orders of one user at once are counted one after the other.
      await tx`select pg_advisory_xact_lock(hashtext(${`orders:${userId}`}))`;
      const [replay] = await tx<{ n: number }[]>`select count(*)::int as n from orders where user_id = ${userId} and idempotency_key = ${idempotencyKey}`;
      if ((replay?.n ?? 0) === 0) {
        const [unpaid] = await tx<{ n: number }[]>`
          select count(*)::int as n from orders where user_id = ${userId} and status = 'pending_payment' and expires_at > now()`;
        if ((unpaid?.n ?? 0) >= limits.unpaidOrdersPerUserMax) {
          throw new DomainError('RATE_LIMITED', `at most ${limits.unpaidOrdersPerUserMax} unpaid orders at once: pay one, or wait until one expires`);
        }
      }
      const [row] = await tx<OrderRow[]>`
        insert into orders (id, user_id, package_id, price, currency, coins, bonus_coins, status, provider, idempotency_key,
                            request_fingerprint, expires_at)
        values (${id}, ${userId}, ${pkg.id}, ${pkg.price.toString()}, ${pkg.currency}, ${pkg.coins}, ${pkg.bonusCoins},
                'pending_payment', ${this.provider.name}, ${idempotencyKey}, ${pkg.id}, now() + make_interval(mins => ${orderTtlMinutes}))
        on conflict (user_id, idempotency_key) do nothing
        returning *`;
      if (row === undefined) return null;
      await tx`insert into order_transitions (order_id, from_status, to_status, cause) values (${id}, null, 'pending_payment', 'order created')`;
      return row;
    });
    if (inserted !== null) return { row: inserted, created: true };
    // A concurrent request with the same key won (ON CONFLICT waited for its commit): answer as it did.
    const winner = await this.byKey(userId, idempotencyKey);
    if (winner === undefined || winner.request_fingerprint !== pkg.id) throw new DomainError('CONFLICT', 'this Idempotency-Key was used for another order');
    return { row: winner, created: false };
  }

  private async ensureIntent(row: OrderRow): Promise<OrderView> {
    if (row.provider !== 'stripe' || row.payment_intent_id !== null || row.status !== 'pending_payment') return view(row);
    const intent = await this.provider.createIntent(row.id, new Fiat(row.price), row.currency);
    const [updated] = await this.sql<OrderRow[]>`
      update orders set payment_intent_id = ${intent.paymentIntentId}, client_secret = ${intent.clientSecret}, updated_at = now()
       where id = ${row.id} returning *`;
    return view(updated ?? row);
  }

  private async byKey(userId: string, key: string): Promise<OrderRow | undefined> {
    const [row] = await this.sql<OrderRow[]>`select * from orders where user_id = ${userId} and idempotency_key = ${key}`;
    return row;
  }

}
