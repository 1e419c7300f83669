import type { FastifyInstance } from 'fastify';
import { earningsAccount, walletAccount } from '../../domain/accounts.js';
import type { AppContext } from '../context.js';
import { identityOf, requireRole } from '../plugins/auth.js';
import { accountLines, earningsByRoom, earningsFigures } from '../services/ledger-queries.js';
import { liveFigures, roomLive } from '../services/live-earnings.js';
import { periodContaining } from '../../domain/settlement-periods.js';
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

  const topGifterSchema = { type: 'object', properties: { userId: { type: 'string' }, coins } } as const;
  app.get('/v1/streamers/me/earnings', {
    onRequest: requireRole(ctx.tokens, ['streamer']),
    schema: {
      description: [
        'The calling streamer\'s gift earnings, in coins. Live figures come from the hot store and move with every gift:',
        '`total` (lifetime), `unsettled` (credited, not yet in a settlement; also as `balance`), `awaitingPayout` (settled, payout not yet sent),',
        '`month` (this calendar month, UTC: it picks the contract tier) and `liveSession` (each open room: coins given, the creator\'s share, top gifters).',
        'Ledger figures trail by the flush (about 100 ms): `today`, `last7Days`, `last30Days`, `currentPeriod` (the payee\'s settlement period), `perRoom`, `ledgerTotal`.',
      ].join(' '),
      security: bearerSecurity,
      response: {
        200: {
          type: 'object',
          properties: {
            streamerId: { type: 'string' }, total: coins, balance: coins, unsettled: coins, awaitingPayout: coins, month: coins,
            today: coins, last7Days: coins, last30Days: coins, ledgerTotal: coins,
            currentPeriod: { type: 'object', properties: { id: { type: 'string' }, schedule: { type: 'string' }, start: { type: 'string' }, end: { type: 'string' }, coins } },
            perRoom: { type: 'array', items: { type: 'object', properties: { roomId: { type: 'string' }, coins, gifts: coins, lastGiftAt: { type: 'string' } } } },
            liveSession: {
              type: 'array',
              items: { type: 'object', properties: { roomId: { type: 'string' }, gross: coins, earned: coins, topGifters: { type: 'array', items: topGifterSchema } } },
            },
          },
        },
        401: errorReply, 403: errorReply,
      },
    },
  }, async (request) => {
    const identity = identityOf(request);
    const account = earningsAccount(identity.userId);
    const nowMs = ctx.clock();
    const profile = await ctx.payees.profile(account);
    const period = periodContaining(profile.schedule, nowMs);
    const [live, figures, perRoom, openRooms] = await Promise.all([
      liveFigures(ctx.redis, ctx.wallets.keys, identity.userId, nowMs),
      earningsFigures(ctx.sql, account, nowMs, period.startMs),
      earningsByRoom(ctx.sql, account, 20),
      ctx.rooms.openRoomsOf(identity.userId),
    ]);
    const liveSession = await Promise.all(openRooms.map((roomId) => roomLive(ctx.redis, ctx.wallets.keys, roomId)));
    return {
      streamerId: identity.userId, total: live.lifetime, balance: live.unsettled, unsettled: live.unsettled,
      awaitingPayout: live.awaitingPayout, month: live.month,
      today: figures.today, last7Days: figures.last7Days, last30Days: figures.last30Days, ledgerTotal: figures.ledgerTotal,
      currentPeriod: { id: period.id, schedule: period.schedule, start: new Date(period.startMs).toISOString(), end: new Date(period.endMs).toISOString(), coins: figures.currentPeriod },
      perRoom, liveSession,
    };
  });
}
