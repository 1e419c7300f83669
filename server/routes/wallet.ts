import type { FastifyInstance } from 'fastify';
import { walletAccount } from '../../domain/accounts.js';
import type { AppContext } from '../context.js';
import { identityOf, requireRole } from '../plugins/auth.js';
import { accountLines } from '../services/ledger-queries.js';
import { bearerSecurity, coins, errorReply, limitParam, pageLimit, signedCoins } from './schemas.js';

const pageQuery = {
  type: 'object',
  properties: {
    limit: limitParam,
    before: { type: 'string', pattern: '^[0-9]{1,18}$' },
  },
  additionalProperties: false,
} as const;

const ledgerPage = {
  type: 'object',
  properties: {
    entries: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          postingId: { type: 'integer' }, entryId: { type: 'string' }, kind: { type: 'string' },
          amount: signedCoins, at: { type: 'string' }, meta: { type: 'object', additionalProperties: true },
        },
      },
    },
    nextCursor: { type: ['string', 'null'] },
  },
} as const;

export async function walletRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get('/v1/wallet', {
    onRequest: requireRole(ctx.tokens),
    schema: {
      description: 'The caller\'s hot wallet. `frozen` is true while the account may not spend.',
      security: bearerSecurity,
      response: { 200: { type: 'object', properties: { userId: { type: 'string' }, balance: coins, frozen: { type: 'boolean' } } }, 401: errorReply },
    },
  }, async (request) => {
    const identity = identityOf(request);
    const wallet = await ctx.wallets.wallet(identity.userId);
    return { userId: identity.userId, ...wallet };
  });

  app.get('/v1/wallet/entries', {
    onRequest: requireRole(ctx.tokens),
    schema: {
      description: 'The caller\'s wallet postings from the ledger, newest first. Pass `nextCursor` as `before` for the next page. Entries appear once flushed (about 100 ms).',
      security: bearerSecurity,
      querystring: pageQuery,
      response: { 200: ledgerPage, 401: errorReply },
    },
  }, async (request) => {
    const identity = identityOf(request);
    const query = request.query as { limit: string; before?: string };
    return accountLines(ctx.sql, walletAccount(identity.userId), pageLimit(query.limit), query.before === undefined ? null : BigInt(query.before));
  });
}
