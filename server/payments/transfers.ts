import Stripe from 'stripe';
import { DomainError } from '../../domain/errors.js';

export interface TransferRequest {
  amountMinor: bigint;
  currency: string;
  /** The connected account, "acct_...". */
  destination: string;
  transferGroup: string;
  payoutId: string;
  /** Which attempt of the payout this is: a retried payout's new attempt is a new transfer. */
  attempt: number;
}

export type TransferOutcome = { status: 'sent'; transferId: string } | { status: 'refused'; reason: string };

/** Money out to a payee. A refusal is definite; anything else throws UNAVAILABLE and is retried with the same key. */
export interface PayoutTransfers {
  send(request: TransferRequest, idempotencyKey: string): Promise<TransferOutcome>;
}

function providerSilent(): DomainError {
  return new DomainError('UNAVAILABLE', 'the payment provider did not answer; the payout will be retried');
}

/** Stripe Connect transfers from the platform balance to the payee's connected account. */
export class StripeTransfers implements PayoutTransfers {
  constructor(private readonly stripe: Stripe) {}

  async send(request: TransferRequest, idempotencyKey: string): Promise<TransferOutcome> {
    // A failed lookup refuses nothing: the payout waits for the next sweep.
    const earlier = await this.sentEarlier(request).catch(() => { throw providerSilent(); });
    if (earlier !== null) return { status: 'sent', transferId: earlier };
    try {
      const transfer = await this.stripe.transfers.create({
        amount: Number(request.amountMinor), currency: request.currency.toLowerCase(), destination: request.destination,
        transfer_group: request.transferGroup, metadata: { payout_id: request.payoutId, attempt: String(request.attempt) },
      }, { idempotencyKey });
      return { status: 'sent', transferId: transfer.id };
    } catch (error) {
      // Only a refusal is final: after a lost connection or a 5xx the transfer may have
      // gone out, so the payout stays "sending" and is retried with the same key.
      if (error instanceof Stripe.errors.StripeInvalidRequestError || error instanceof Stripe.errors.StripeCardError
        || error instanceof Stripe.errors.StripePermissionError) {
        return { status: 'refused', reason: error.message };
      }
      throw providerSilent();
    }
  }

  /**
   * The transfer this attempt already made, if any. Stripe keeps an idempotency key for 24
   * hours: a payout left "sending" longer (an outage, a node down) would make a second
   * transfer with the same key, so what went out is asked for first, by the payout's
   * group and metadata.
   */
  private async sentEarlier(request: TransferRequest): Promise<string | null> {
    for await (const transfer of this.stripe.transfers.list({ transfer_group: request.transferGroup, limit: 100 })) {
      if (transfer.metadata?.payout_id === request.payoutId && transfer.metadata.attempt === String(request.attempt)) return transfer.id;
    }
    return null;
  }
}
