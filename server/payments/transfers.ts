import Stripe from 'stripe';
import { DomainError } from '../../domain/errors.js';

export interface TransferRequest {
  amountMinor: bigint;
  currency: string;
  /** The connected account, "acct_...". */
  destination: string;
  transferGroup: string;
  payoutId: string;
}

export type TransferOutcome = { status: 'sent'; transferId: string } | { status: 'refused'; reason: string };

/** Money out to a payee. A refusal is definite; anything else throws UNAVAILABLE and is retried with the same key. */
export interface PayoutTransfers {
  send(request: TransferRequest, idempotencyKey: string): Promise<TransferOutcome>;
}

/** Stripe Connect transfers from the platform balance to the payee's connected account. */
export class StripeTransfers implements PayoutTransfers {
  constructor(private readonly stripe: Stripe) {}

  async send(request: TransferRequest, idempotencyKey: string): Promise<TransferOutcome> {
    try {
      const transfer = await this.stripe.transfers.create({
        amount: Number(request.amountMinor), currency: request.currency.toLowerCase(), destination: request.destination,
        transfer_group: request.transferGroup, metadata: { payout_id: request.payoutId },
      }, { idempotencyKey });
      return { status: 'sent', transferId: transfer.id };
    } catch (error) {
      // Only a refusal is final: after a lost connection or a 5xx the transfer may have
      // gone out, so the payout stays "sending" and is retried with the same key.
      if (error instanceof Stripe.errors.StripeInvalidRequestError || error instanceof Stripe.errors.StripeCardError
        || error instanceof Stripe.errors.StripePermissionError) {
        return { status: 'refused', reason: error.message };
      }
      throw new DomainError('UNAVAILABLE', 'the payment provider did not answer; the payout will be retried');
    }
  }
}
