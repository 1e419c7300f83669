import { DomainError, invariant } from '../../domain/errors.js';
import { assertTransition, type OrderStatus } from '../../domain/order-states.js';
import type { CoinsBack } from '../../domain/clawback.js';
import { nextShareOfCredit } from '../../domain/credit-back.js';
import type { Tx } from '../db/sql.js';

export interface OrderRow {
  id: string; user_id: string; package_id: string; price: string; currency: string; coins: bigint; bonus_coins: bigint;
  first_purchase_bonus_coins: bigint; status: OrderStatus; provider: string; idempotency_key: string; request_fingerprint: string;
  payment_intent_id: string | null; client_secret: string | null; fulfilled_entry_id: string | null;
  /** The most the provider has reported refunded of the charge, minor units. */
  provider_refunded_minor: bigint;
  created_at: Date; updated_at: Date; expires_at: Date;
}

export async function lockOrder(tx: Tx, orderId: string): Promise<OrderRow> {
  const [row] = await tx<OrderRow[]>`select * from orders where id = ${orderId} for update`;
  if (row === undefined) throw new DomainError('NOT_FOUND', `no order ${orderId}`);
  return row;
}

/** Moves an order, refusing an illegal transition, and records it with its cause. */
export async function transitionOrder(tx: Tx, order: OrderRow, to: OrderStatus, cause: string): Promise<void> {
  assertTransition(order.status, to);
  await tx`update orders set status = ${to}, updated_at = now() where id = ${order.id}`;
  await tx`insert into order_transitions (order_id, from_status, to_status, cause) values (${order.id}, ${order.status}, ${to}, ${cause})`;
  order.status = to;
}

/** Coins the order credited when it was fulfilled (none before): the pack, its bonus and any first-purchase bonus. */
export function creditedCoins(order: OrderRow): CoinsBack {
  if (order.fulfilled_entry_id === null) return { coins: 0, bonus: 0 };
  return { coins: Number(order.coins), bonus: Number(order.bonus_coins + order.first_purchase_bonus_coins) };
}

/**
 * The part of an order's credit its refunds have taken back (under way or done), as each
 * took it: what the next refund splits against, and what a chargeback must not take a
 * second time.
 */
async function creditRefunded(tx: Tx, order: OrderRow): Promise<CoinsBack> {
  const [taken] = await tx<{ coins: string; bonus: string }[]>`
    select coalesce(sum(coins - bonus_coins), 0)::text as coins, coalesce(sum(bonus_coins), 0)::text as bonus
      from refunds where order_id = ${order.id} and status in ('processing', 'succeeded')`;
  return { coins: Number(taken?.coins ?? 0), bonus: Number(taken?.bonus ?? 0) };
}

/**
 * The pack/bonus split of a refund about to take `coinsBack` coins of the order (call it
 * under the order's lock and record it with the refund): see `nextShareOfCredit`.
 */
export async function refundSplit(tx: Tx, order: OrderRow, coinsBack: number): Promise<CoinsBack> {
  return nextShareOfCredit(creditedCoins(order), await creditRefunded(tx, order), coinsBack);
}

/** The part of an order's credit still with its buyer's account: credited, less what refunds took back. */
export async function creditNotRefunded(tx: Tx, order: OrderRow): Promise<CoinsBack> {
  const credited = creditedCoins(order);
  const refunded = await creditRefunded(tx, order);
  const left = { coins: credited.coins - refunded.coins, bonus: credited.bonus - refunded.bonus };
  invariant(left.coins >= 0 && left.bonus >= 0, `order ${order.id}: refunds took back ${refunded.coins}+${refunded.bonus} of ${credited.coins}+${credited.bonus} coins`);
  return left;
}
