import { DomainError, invariant } from '../../domain/errors.js';
import { assertTransition, type OrderStatus } from '../../domain/order-states.js';
import type { Tx } from '../db/sql.js';

export interface OrderRow {
  id: string; user_id: string; package_id: string; price: string; currency: string; coins: bigint; bonus_coins: bigint;
  first_purchase_bonus_coins: bigint; status: OrderStatus; provider: string; idempotency_key: string; request_fingerprint: string;
  payment_intent_id: string | null; client_secret: string | null; fulfilled_entry_id: string | null;
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
export function creditedCoins(order: OrderRow): { coins: number; bonus: number } {
  if (order.fulfilled_entry_id === null) return { coins: 0, bonus: 0 };
  return { coins: Number(order.coins), bonus: Number(order.bonus_coins + order.first_purchase_bonus_coins) };
}

/** Part of an order's credit taken back: the bonus in proportion, rounded down (pack coins take the rest). */
export function shareOfCredit(order: OrderRow, coinsBack: number): { coins: number; bonus: number } {
  const { coins, bonus } = creditedCoins(order);
  invariant(coins + bonus > 0 && Number.isSafeInteger(coinsBack) && coinsBack >= 0 && coinsBack <= coins + bonus,
    `order ${order.id}: ${coinsBack} coins back of ${coins + bonus} credited`);
  // In bigint: the product of two coin counts can pass 2^53, where a float rounds.
  const bonusPart = Number((BigInt(coinsBack) * BigInt(bonus)) / BigInt(coins + bonus));
  return { coins: coinsBack - bonusPart, bonus: bonusPart };
}

/**
 * The part of an order's credit its refunds have taken back (under way or done), as each
 * took it: what a chargeback must not take a second time.
 */
async function creditRefunded(tx: Tx, order: OrderRow): Promise<{ coins: number; bonus: number }> {
  const refunds = await tx<{ coins: string }[]>`
    select coins::text from refunds where order_id = ${order.id} and status in ('processing', 'succeeded')`;
  return refunds.reduce((sum, refund) => {
    const share = shareOfCredit(order, Number(refund.coins));
    return { coins: sum.coins + share.coins, bonus: sum.bonus + share.bonus };
  }, { coins: 0, bonus: 0 });
}

/** The part of an order's credit still with its buyer's account: credited, less what refunds took back. */
export async function creditNotRefunded(tx: Tx, order: OrderRow): Promise<{ coins: number; bonus: number }> {
  const credited = creditedCoins(order);
  const refunded = await creditRefunded(tx, order);
  const left = { coins: credited.coins - refunded.coins, bonus: credited.bonus - refunded.bonus };
  invariant(left.coins >= 0 && left.bonus >= 0, `order ${order.id}: refunds took back ${refunded.coins}+${refunded.bonus} of ${credited.coins}+${credited.bonus} coins`);
  return left;
}

