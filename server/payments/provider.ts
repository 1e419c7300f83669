import Stripe from 'stripe';
import { toMinorUnits, type FiatAmount } from '../../domain/fiat.js';
import { DomainError } from '../../domain/errors.js';

export interface PaymentIntent {
  paymentIntentId: string | null;
  clientSecret: string | null;
}

export interface PaymentProvider {
  readonly name: 'stripe' | 'sandbox';
  createIntent(orderId: string, amount: FiatAmount, currency: string): Promise<PaymentIntent>;
  /** Refunds part of an order's payment; the refund id is the idempotency key. Returns the provider's refund id. */
  refund(order: { payment_intent_id: string | null; currency: string }, refundId: string, amount: FiatAmount): Promise<string | null>;
}

/** Stripe PaymentIntents: the order id is both the idempotency key and metadata.order_id. */
export class StripeProvider implements PaymentProvider {
  readonly name = 'stripe' as const;

  constructor(private readonly stripe: Stripe) {}

  async createIntent(orderId: string, amount: FiatAmount, currency: string): Promise<PaymentIntent> {
    try {
      const intent = await this.stripe.paymentIntents.create({
        amount: Number(toMinorUnits(amount, currency)),
        currency: currency.toLowerCase(),
        metadata: { order_id: orderId },
        automatic_payment_methods: { enabled: true },
      }, { idempotencyKey: `order-${orderId}` });
      return { paymentIntentId: intent.id, clientSecret: intent.client_secret };
    } catch {
      throw new DomainError('UNAVAILABLE', 'the payment provider did not answer; retry with the same Idempotency-Key');
    }
  }

  async refund(order: { payment_intent_id: string | null; currency: string }, refundId: string, amount: FiatAmount): Promise<string | null> {
    if (order.payment_intent_id === null) throw new DomainError('CONFLICT', 'the order has no payment to refund');
    // Stripe keeps the key for 24 hours: a refund resumed later first looks for the one it
    // made. A failed lookup refunds nothing and refuses nothing; the sweep comes back.
    const paymentIntent = order.payment_intent_id;
    const earlier = await this.refundMadeEarlier(paymentIntent, refundId)
      .catch(() => { throw new DomainError('UNAVAILABLE', 'the payment provider did not answer'); });
    if (earlier !== null) return earlier;
    try {
      const refund = await this.stripe.refunds.create({
        payment_intent: paymentIntent, amount: Number(toMinorUnits(amount, order.currency)), metadata: { refund_id: refundId },
      }, { idempotencyKey: `refund-${refundId}` });
      return refund.id;
    } catch (error) {
      // Only a definite refusal may be compensated: after a lost connection or a 5xx the
      // refund may have happened, so the caller retries later with the same key.
      const definite = error instanceof Stripe.errors.StripeInvalidRequestError || error instanceof Stripe.errors.StripeCardError;
      throw new DomainError(definite ? 'CONFLICT' : 'UNAVAILABLE', 'the payment provider did not refund');
    }
  }

  private async refundMadeEarlier(paymentIntent: string, refundId: string): Promise<string | null> {
    for await (const refund of this.stripe.refunds.list({ payment_intent: paymentIntent, limit: 100 })) {
      if (refund.metadata?.refund_id === refundId) return refund.id;
    }
    return null;
  }
}

/** Development only, without STRIPE_SECRET_KEY: no provider; POST /v1/orders/:id/sandbox-pay completes payment. */
export class SandboxProvider implements PaymentProvider {
  readonly name = 'sandbox' as const;

  async createIntent(): Promise<PaymentIntent> {
    return { paymentIntentId: null, clientSecret: null };
  }

  async refund(): Promise<string | null> {
    return null;
  }
}

/** The official client; STRIPE_API_BASE points it at a local stand-in in tests. */
export function stripeClient(secretKey: string, apiBase: string | undefined): Stripe {
  if (apiBase === undefined) return new Stripe(secretKey, { maxNetworkRetries: 2 });
  const url = new URL(apiBase);
  return new Stripe(secretKey, {
    host: url.hostname, port: Number(url.port), protocol: url.protocol === 'https:' ? 'https' : 'http', maxNetworkRetries: 0,
  });
}
