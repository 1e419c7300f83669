import type { FastifyInstance } from 'fastify';
import { earningsAccount, walletAccount } from '../../domain/accounts.js';
import { DomainError } from '../../domain/errors.js';
import { limits } from '../../domain/limits.js';
import type { AppContext } from '../context.js';
import { identityOf, requireRole } from '../plugins/auth.js';
import { accountLines, earningsFigures } from '../services/ledger-queries.js';
import { bearerSecurity, coins, errorReply, signedCoins } from './schemas.js';

const pageQuery = {
  type: 'object',
  properties: {
    limit: { type: 'string', pattern: '^[0-9]{1,4}$', default: String(limits.pageSizeDefault) },
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
    const limit = Number(query.limit);
    if (limit < 1 || limit > limits.pageSizeMax) throw new DomainError('INVALID_ARGUMENT', `limit must be 1 to ${limits.pageSizeMax}`);
    return accountLines(ctx.sql, walletAccount(identity.userId), limit, query.before === undefined ? null : BigInt(query.before));
  });

  app.get('/v1/streamers/me/earnings', {
    onRequest: requireRole(ctx.tokens, ['streamer']),
    schema: {
      description: 'Coins credited to the calling streamer by gifts: `total` is the lifetime figure (live, from the hot store); `balance` what is unsettled; the period figures come from the ledger.',
      security: bearerSecurity,
      response: {
        200: {
          type: 'object',
          properties: {
            streamerId: { type: 'string' }, total: coins, balance: coins,
            today: coins, last7Days: coins, last30Days: coins, ledgerTotal: coins,
          },
        },
        401: errorReply, 403: errorReply,
      },
    },
  }, async (request) => {
    const identity = identityOf(request);
    const account = earningsAccount(identity.userId);
    const [total, balance, figures] = await Promise.all([
      ctx.wallets.earnedTotal(identity.userId),
      ctx.wallets.redis.hget(ctx.wallets.keys.balances, account).then(Number, () => { throw new DomainError('UNAVAILABLE'); }),
      earningsFigures(ctx.sql, account),
    ]);
    return { streamerId: identity.userId, total, balance, ...figures };
  });
}
