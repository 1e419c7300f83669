import { DomainError } from './errors.js';

// The life of a top-up order. Every transition is recorded with its time and cause; one
// not listed here is refused. A payment that succeeds after the order was canceled or
// expired still moves it to paid: the money was taken, so the coins (or a refund) follow.

export const orderStatuses = [
  'pending_payment', 'paid', 'fulfilled', 'canceled', 'expired',
  'refunded', 'partially_refunded', 'disputed', 'dispute_won', 'dispute_lost',
] as const;
export type OrderStatus = (typeof orderStatuses)[number];

const legalTransitions: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending_payment: ['paid', 'canceled', 'expired'],
  canceled: ['paid'],
  expired: ['paid'],
  paid: ['fulfilled', 'refunded', 'disputed'],
  fulfilled: ['refunded', 'partially_refunded', 'disputed'],
  partially_refunded: ['partially_refunded', 'refunded', 'disputed'],
  disputed: ['dispute_won', 'dispute_lost'],
  dispute_won: ['refunded', 'partially_refunded', 'disputed'],
  // A buyer may still dispute a charge refunded in full: nothing is left to take back,
  // but the dispute is the order's story until it closes.
  refunded: ['disputed'],
  dispute_lost: [],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return legalTransitions[from].includes(to);
}

export function assertTransition(from: OrderStatus, to: OrderStatus): void {
  if (!canTransition(from, to)) throw new DomainError('CONFLICT', `an order cannot go from ${from} to ${to}`);
}
