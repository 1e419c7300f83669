import type { FastifyInstance } from 'fastify';
import type Stripe from 'stripe';
import { DomainError } from '../../domain/errors.js';
import { limits } from '../../domain/limits.js';
import { storableJson } from '../../domain/text.js';
import type { AppContext } from '../context.js';

/**
 * Stripe events: the signature is checked on the raw body (300 s tolerance), each event id
 * is recorded once, and handling is idempotent, so events may arrive any number of times
 * and in any order. Event types not handled yet stay recorded but unprocessed.
 */
export async function stripeWebhookRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  await app.register(async (scope) => {
    // The signature is over the exact bytes sent, so this route keeps them unparsed.
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    scope.post('/v1/webhooks/stripe', {
      bodyLimit: limits.webhookBodyBytesMax,
      schema: { description: 'Stripe webhook endpoint (signature required).' },
    }, async (request) => {
      const secret = ctx.config.stripeWebhookSecret;
      if (secret === undefined || ctx.stripe === null) throw new DomainError('NOT_FOUND', 'Stripe is not configured');
      const signature = request.headers['stripe-signature'];
      if (typeof signature !== 'string' || !Buffer.isBuffer(request.body)) throw new DomainError('INVALID_ARGUMENT', 'a signed JSON body is required');
      let event: Stripe.Event;
      try {
        event = ctx.stripe.webhooks.constructEvent(request.body, signature, secret, 300);
      } catch {
        throw new DomainError('INVALID_ARGUMENT', 'the webhook signature does not verify');
      }
      // The copy kept is made storable: an event whose text jsonb refuses (U+0000 in a
      // customer's name) would otherwise answer 500 for ever and never be applied.
      await ctx.sql`insert into stripe_events (id, type, payload) values (${event.id}, ${event.type}, ${JSON.stringify(storableJson(event))}::text::jsonb)
                    on conflict (id) do nothing`;
      const [stored] = await ctx.sql<{ processed_at: Date | null }[]>`select processed_at from stripe_events where id = ${event.id}`;
      if (stored?.processed_at !== null && stored?.processed_at !== undefined) return { received: true, duplicate: true };
      const handled = await handle(ctx, event);
      if (handled) await ctx.sql`update stripe_events set processed_at = now() where id = ${event.id} and processed_at is null`;
      return { received: true, handled };
    });
  });
}

async function handle(ctx: AppContext, event: Stripe.Event): Promise<boolean> {
  switch (event.type) {
    case 'payment_intent.succeeded': {
      const intent = event.data.object;
      const orderId = intent.metadata.order_id;
      if (orderId === undefined) return true;
      await ctx.orders.paymentSucceeded(orderId, BigInt(intent.amount_received || intent.amount), intent.currency, `stripe ${event.id}`);
      return true;
    }
    case 'charge.dispute.created': {
      const dispute = event.data.object;
      const intent = paymentIntentIdOf(dispute.payment_intent);
      if (intent !== undefined) await ctx.chargebacks.opened(dispute.id, intent);
      return true;
    }
    case 'charge.dispute.closed': {
      const dispute = event.data.object;
      const outcome = disputeOutcome(dispute.status);
      const intent = paymentIntentIdOf(dispute.payment_intent);
      if (outcome !== null && intent !== undefined) await ctx.chargebacks.closed(dispute.id, outcome, intent);
      return true;
    }
    case 'charge.refunded': {
      const charge = event.data.object;
      const intent = paymentIntentIdOf(charge.payment_intent);
      if (intent !== undefined) await ctx.refunds.refundedOutside(intent, BigInt(charge.amount_refunded), charge.currency, event.id);
      return true;
    }
    case 'payment_intent.payment_failed':
      // The order stays pending: the app may retry with another payment method until it expires.
      return true;
    default:
      return false;
  }
}

/** An event's payment intent, sent as its id or expanded into the object. */
function paymentIntentIdOf(intent: string | { id: string } | null): string | undefined {
  return typeof intent === 'string' ? intent : intent?.id;
}

/**
 * Whether a closed dispute left the money with us. An inquiry that closed without becoming a
 * chargeback (`warning_closed`) and a prevented dispute did, as a won one does; an appeal
 * still under way decides nothing yet.
 */
function disputeOutcome(status: string): 'won' | 'lost' | null {
  if (status === 'won' || status === 'warning_closed' || status === 'prevented') return 'won';
  return status === 'lost' ? 'lost' : null;
}
