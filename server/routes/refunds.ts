import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { limits } from '../../domain/limits.js';
import type { AppContext } from '../context.js';
import { refundStatuses, type RefundStatus } from '../services/refunds.js';
import { identityOf, requireRole } from '../plugins/auth.js';
import { bearerSecurity, errorReply, limitParam, pageLimit } from './schemas.js';

const idParams = (prefix: string) => ({ type: 'object', properties: { id: { type: 'string', pattern: `^${prefix}_[A-Za-z0-9_-]{1,40}$` } }, required: ['id'] });

export async function refundRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.post('/v1/orders/:id/refund', {
    onRequest: requireRole(ctx.tokens),
    schema: {
      description: 'Refund the unspent part of an order (or `coins` of it). The owner\'s request waits for an admin (status `requested`); an admin refunds at once. The coins are debited first, then the payment is refunded; a refused refund credits them back.',
      security: bearerSecurity, params: idParams('ord'),
      body: { type: ['object', 'null'], properties: { coins: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } }, additionalProperties: false },
      response: { 201: { type: 'object', additionalProperties: true }, 400: errorReply, 401: errorReply, 404: errorReply, 409: errorReply },
    },
  }, async (request, reply) => {
    const identity = identityOf(request);
    const body = request.body as { coins?: number } | null | undefined;
    const refund = await ctx.refunds.request((request.params as { id: string }).id,
      { userId: identity.userId, admin: identity.role === 'admin' }, body?.coins);
    return reply.code(201).send(refund);
  });

  app.post('/v1/admin/refunds/:id/approve', {
    onRequest: requireRole(ctx.tokens, ['admin']),
    schema: { description: 'Approve a requested refund: it runs at once.', security: bearerSecurity, params: idParams('rf'), response: { 401: errorReply, 403: errorReply, 404: errorReply, 409: errorReply } },
  }, async (request) => ctx.refunds.approve((request.params as { id: string }).id));

  app.post('/v1/admin/refunds/:id/reject', {
    onRequest: requireRole(ctx.tokens, ['admin']),
    schema: {
      description: 'Turn down a requested refund, with the reason the owner will read. Nothing was debited for it; the coins stay spendable.',
      security: bearerSecurity, params: idParams('rf'),
      body: { type: 'object', properties: { reason: { type: 'string', minLength: 1, maxLength: limits.reasonLengthMax } }, required: ['reason'], additionalProperties: false },
      response: { 400: errorReply, 401: errorReply, 403: errorReply, 404: errorReply, 409: errorReply },
    },
  }, async (request) => ctx.refunds.reject((request.params as { id: string }).id, (request.body as { reason: string }).reason));

  app.get('/v1/admin/refunds', {
    onRequest: requireRole(ctx.tokens, ['admin']),
    schema: {
      description: 'Refunds, newest first; `status=requested` is the queue waiting for an admin.',
      security: bearerSecurity,
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          status: { type: 'string', enum: refundStatuses },
          limit: limitParam,
        },
      },
      response: { 400: errorReply, 401: errorReply, 403: errorReply },
    },
  }, async (request) => {
    const query = request.query as { status?: RefundStatus; limit: string };
    return ctx.refunds.list({ ...(query.status === undefined ? {} : { status: query.status }), limit: pageLimit(query.limit) });
  });

  app.post('/v1/refunds/:id/cancel', {
    onRequest: requireRole(ctx.tokens),
    schema: {
      description: 'Withdraw your own refund request while no admin has decided it. Nothing was debited for it.',
      security: bearerSecurity, params: idParams('rf'), response: { 401: errorReply, 404: errorReply, 409: errorReply },
    },
  }, async (request) => ctx.refunds.cancel((request.params as { id: string }).id, identityOf(request).userId));

  app.get('/v1/refunds/:id', {
    onRequest: requireRole(ctx.tokens),
    schema: { description: 'A refund (the order\'s owner, or an admin).', security: bearerSecurity, params: idParams('rf'), response: { 401: errorReply, 404: errorReply } },
  }, async (request) => {
    const identity = identityOf(request);
    const refund = await ctx.refunds.get((request.params as { id: string }).id);
    const order = refund === undefined ? undefined : await ctx.orders.get(refund.orderId);
    if (refund === undefined || (order?.userId !== identity.userId && identity.role !== 'admin')) throw new DomainError('NOT_FOUND');
    return refund;
  });
}
