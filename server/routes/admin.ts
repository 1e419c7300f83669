import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { limits } from '../../domain/limits.js';
import type { AppContext } from '../context.js';
import { identityOf, requireRole } from '../plugins/auth.js';
import { grantCoins } from '../services/grant-service.js';
import { reconcile } from '../services/reconcile.js';
import { reconcileInFull } from '../services/derived-sums.js';
import { bearerSecurity, bulkAdminTimeout, coins, errorReply, userIdSchema } from './schemas.js';

export async function adminRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.post('/v1/admin/grants', {
    onRequest: requireRole(ctx.tokens, ['admin']),
    schema: {
      description: 'Credit promotional coins to a wallet: one journal entry from system:grants. An optional `Idempotency-Key` header makes a retry return the first grant.',
      security: bearerSecurity,
      headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', pattern: '^[A-Za-z0-9_-]{8,64}$' } } },
      body: {
        type: 'object',
        properties: {
          userId: userIdSchema,
          coins: { type: 'integer', minimum: 1, maximum: limits.grantCoinsMax },
          reason: { type: 'string', minLength: 1, maxLength: limits.reasonLengthMax },
        },
        required: ['userId', 'coins', 'reason'],
        additionalProperties: false,
      },
      response: {
        201: { type: 'object', properties: { entryId: { type: 'string' }, userId: { type: 'string' }, coins, balance: coins, replay: { type: 'boolean' } } },
        400: errorReply, 401: errorReply, 403: errorReply, 409: errorReply,
      },
    },
  }, async (request, reply) => {
    const identity = identityOf(request);
    const body = request.body as { userId: string; coins: number; reason: string };
    const key = request.headers['idempotency-key'];
    try {
      const receipt = await grantCoins(ctx.wallets, {
        ...body, grantedBy: identity.userId, ...(typeof key === 'string' ? { idempotencyKey: key } : {}),
      });
      const state = await ctx.wallets.wallet(body.userId);
      ctx.notifier.walletChanged(body.userId, { balance: state.balance, frozen: state.frozen, reason: 'grant' });
      return reply.code(201).send(receipt);
    } catch (error) {
      if (error instanceof DomainError && error.code === 'INVALID_ARGUMENT') {
        throw new DomainError('CONFLICT', 'this Idempotency-Key was used for a different grant');
      }
      throw error;
    }
  });

  app.get('/v1/admin/reconcile', {
    handlerTimeout: bulkAdminTimeout(ctx.config),
    onRequest: requireRole(ctx.tokens, ['admin']),
    schema: {
      description: 'Per account: hot balance == ledger + unflushed journal; globally: entries and accounts sum to zero, no account below zero that may never be (`negativeBalances`; its wallets also as `negativeWallets`). ' +
        '`full=true` also sums every posting again to check the sums kept beside the ledger (`derived`: the reconcile checkpoint, the payees\' per-day and per-room earnings); its cost follows the ledger\'s history.',
      security: bearerSecurity,
      querystring: { type: 'object', properties: { full: { type: 'string', enum: ['true', 'false'] } }, additionalProperties: false },
      response: { 400: errorReply, 401: errorReply, 403: errorReply },
    },
  }, async (request) => {
    const { full } = request.query as { full?: 'true' | 'false' };
    const report = full === 'true' ? await reconcileInFull(ctx.redis, ctx.sql, ctx.wallets.keys) : await reconcile(ctx.redis, ctx.sql, ctx.wallets.keys);
    ctx.metrics.reconcileMismatches.set(report.mismatches.length);
    return report;
  });
}
