import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { limits } from '../../domain/limits.js';
import type { AppContext } from '../context.js';
import { identityOf, requireRole } from '../plugins/auth.js';
import { bearerSecurity, errorReply } from './schemas.js';

const orderIdParams = { type: 'object', properties: { id: { type: 'string', pattern: '^ord_[A-Za-z0-9_-]{1,40}$' } }, required: ['id'] } as const;

export async function orderRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.post('/v1/orders', {
    onRequest: requireRole(ctx.tokens),
    schema: {
      description: 'Buy a coin package. The `Idempotency-Key` header is required: the same key and body return the same order; the same key with another body answers 409. With Stripe the reply carries `clientSecret` for the app to confirm the PaymentIntent; in the sandbox, pay with /sandbox-pay.',
      security: bearerSecurity,
      headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', pattern: '^[A-Za-z0-9_-]{8,64}$' } }, required: ['idempotency-key'] },
      body: { type: 'object', properties: { packageId: { type: 'string', pattern: '^[a-z0-9_-]{1,40}$' } }, required: ['packageId'], additionalProperties: false },
      response: {
        200: { type: 'object', additionalProperties: true }, 201: { type: 'object', additionalProperties: true },
        400: errorReply, 401: errorReply, 404: errorReply, 409: errorReply, 429: errorReply, 503: errorReply,
      },
    },
  }, async (request, reply) => {
    const identity = identityOf(request);
    const { packageId } = request.body as { packageId: string };
    const key = String(request.headers['idempotency-key']);
    const { order, created } = await ctx.orders.create(identity.userId, packageId, key);
    return reply.code(created ? 201 : 200).send(order);
  });

  app.get('/v1/orders', {
    onRequest: requireRole(ctx.tokens),
    schema: { description: 'The caller\'s orders, newest first.', security: bearerSecurity, response: { 401: errorReply } },
  }, async (request) => ({ orders: await ctx.orders.list(identityOf(request).userId, limits.pageSizeDefault) }));

  app.get('/v1/orders/:id', {
    onRequest: requireRole(ctx.tokens),
    schema: { description: 'An order with its recorded transitions (owner or admin).', security: bearerSecurity, params: orderIdParams, response: { 401: errorReply, 404: errorReply } },
  }, async (request) => {
    const identity = identityOf(request);
    const order = await ctx.orders.get((request.params as { id: string }).id);
    // Another user's order is not found rather than forbidden: ids are not to be probed.
    if (order === undefined || (order.userId !== identity.userId && identity.role !== 'admin')) throw new DomainError('NOT_FOUND');
    return order;
  });

  app.post('/v1/orders/:id/sandbox-pay', {
    onRequest: requireRole(ctx.tokens),
    schema: {
      description: 'SANDBOX, development only: completes the payment locally. 404 when NODE_ENV=production, 403 when STRIPE_SECRET_KEY is set.',
      security: bearerSecurity, params: orderIdParams, response: { 401: errorReply, 403: errorReply, 404: errorReply, 409: errorReply },
    },
  }, async (request) => {
    if (ctx.config.production) throw new DomainError('NOT_FOUND');
    if (ctx.stripe !== null) throw new DomainError('FORBIDDEN', 'payments go through Stripe here; the sandbox is off');
    const identity = identityOf(request);
    const { id } = request.params as { id: string };
    const order = await ctx.orders.get(id);
    if (order === undefined || order.userId !== identity.userId) throw new DomainError('NOT_FOUND');
    return ctx.orders.sandboxPay(id);
  });
}
