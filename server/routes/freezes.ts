import type { FastifyInstance } from 'fastify';
import { limits } from '../../domain/limits.js';
import type { AppContext } from '../context.js';
import { identityOf, requireRole } from '../plugins/auth.js';
import type { FreezeStatus } from '../services/wallet-freezes.js';
import { bearerSecurity, coins, errorReply, userIdSchema } from './schemas.js';

const freezeStatus = {
  type: 'object',
  properties: {
    userId: { type: 'string' },
    frozen: { type: 'boolean' },
    adminFreeze: {
      type: ['object', 'null'],
      properties: { reason: { type: 'string' }, frozenBy: { type: 'string' }, frozenAt: { type: 'string' } },
    },
    owes: coins,
    history: {
      type: 'array',
      items: { type: 'object', properties: { action: { type: 'string' }, reason: { type: 'string' }, by: { type: 'string' }, at: { type: 'string' } } },
    },
  },
} as const;

const userParams = { type: 'object', properties: { userId: userIdSchema }, required: ['userId'] } as const;
const reasonBody = {
  type: 'object',
  properties: { reason: { type: 'string', minLength: 1, maxLength: limits.reasonLengthMax } },
  required: ['reason'],
  additionalProperties: false,
} as const;

/** Admins freeze and lift wallets (moderation, fraud); the user's connections hear of it as a `wallet` event. */
export async function freezeRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const told = async (status: FreezeStatus, reason: 'freeze' | 'unfreeze'): Promise<FreezeStatus> => {
    ctx.metrics.walletFreezes.inc({ action: reason });
    const wallet = await ctx.wallets.wallet(status.userId);
    ctx.notifier.walletChanged(status.userId, { balance: wallet.balance, frozen: wallet.frozen, reason });
    return status;
  };

  app.get('/v1/admin/users/:userId/freeze', {
    onRequest: requireRole(ctx.tokens, ['admin']),
    schema: {
      description: 'Whether the wallet is frozen (gifts answer `ACCOUNT_FROZEN`), by an admin (`adminFreeze`) or by a debt (`owes`), and the last 50 freezes and lifts.',
      security: bearerSecurity, params: userParams,
      response: { 200: freezeStatus, 400: errorReply, 401: errorReply, 403: errorReply },
    },
  }, async (request) => ctx.freezes.status((request.params as { userId: string }).userId));

  app.post('/v1/admin/users/:userId/freeze', {
    onRequest: requireRole(ctx.tokens, ['admin']),
    schema: {
      description: 'Freeze the wallet: no gifts until an admin lifts it (top-ups, refunds and grants still land). Freezing a frozen wallet again replaces the reason. Every freeze is kept in the history.',
      security: bearerSecurity, params: userParams, body: reasonBody,
      response: { 200: freezeStatus, 400: errorReply, 401: errorReply, 403: errorReply },
    },
  }, async (request) => {
    const { userId } = request.params as { userId: string };
    const { reason } = request.body as { reason: string };
    return told(await ctx.freezes.freeze(userId, reason, identityOf(request).userId), 'freeze');
  });

  app.post('/v1/admin/users/:userId/unfreeze', {
    onRequest: requireRole(ctx.tokens, ['admin']),
    schema: {
      description: 'Lift an admin\'s freeze. A wallet whose user owes coins after a chargeback stays frozen until the debt is repaid (`frozen`, `owes`). `CONFLICT` when no admin froze it.',
      security: bearerSecurity, params: userParams, body: reasonBody,
      response: { 200: freezeStatus, 400: errorReply, 401: errorReply, 403: errorReply, 409: errorReply },
    },
  }, async (request) => {
    const { userId } = request.params as { userId: string };
    const { reason } = request.body as { reason: string };
    return told(await ctx.freezes.unfreeze(userId, reason, identityOf(request).userId), 'unfreeze');
  });
}
