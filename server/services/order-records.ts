import type postgres from 'postgres';
import { DomainError } from '../../domain/errors.js';
import { assertTransition, type OrderStatus } from '../../domain/order-states.js';

export type Tx = postgres.TransactionSql<Record<string, never>>;

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
