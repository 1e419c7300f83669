import type { FastifyInstance } from 'fastify';
import { agencyAccount, earningsAccount } from '../../domain/accounts.js';
import { limits } from '../../domain/limits.js';
import { periodContaining } from '../../domain/settlement-periods.js';
import type { AppContext } from '../context.js';
import { identityOf, requireRole } from '../plugins/auth.js';
import { agencyEarningsByStreamer, earningsByDay, earningsByRoom, earningsFigures, type DayEarnings, type EarningsFigures } from '../services/ledger-queries.js';
import { liveFigures, payeeBalances, roomLive } from '../services/live-earnings.js';
import { bearerSecurity, coins, errorReply } from './schemas.js';

const dailyDays = 30;
const perStreamerMax = 100;

// The figures both payees see, counted from the ledger's per-day sums (trailing the flush).
const ledgerFigureProperties = {
  today: coins, last7Days: coins, last30Days: coins, ledgerTotal: coins,
  currentPeriod: { type: 'object', properties: { id: { type: 'string' }, schedule: { type: 'string' }, start: { type: 'string' }, end: { type: 'string' }, coins } },
  daily: { type: 'array', items: { type: 'object', properties: { day: { type: 'string' }, coins, gifts: coins } } },
} as const;
const ledgerFigureText = 'Ledger figures trail by the flush (about 100 ms): `today`, `last7Days`, `last30Days` (UTC days, today included), ' +
  '`currentPeriod` (the payee\'s settlement period), `ledgerTotal`, and `daily`, the last 30 UTC days oldest first.';

interface LedgerFigures extends Omit<EarningsFigures, 'currentPeriod'> {
  currentPeriod: { id: string; schedule: string; start: string; end: string; coins: number };
  daily: DayEarnings[];
}

async function ledgerFigures(ctx: AppContext, payeeAccount: string, nowMs: number): Promise<LedgerFigures> {
  const profile = await ctx.payees.profile(payeeAccount);
  const period = periodContaining(profile.schedule, nowMs);
  const [figures, daily] = await Promise.all([
    earningsFigures(ctx.sql, payeeAccount, nowMs, period.startMs),
    earningsByDay(ctx.sql, payeeAccount, nowMs, dailyDays),
  ]);
  return {
    ...figures,
    currentPeriod: { id: period.id, schedule: period.schedule, start: new Date(period.startMs).toISOString(), end: new Date(period.endMs).toISOString(), coins: figures.currentPeriod },
    daily,
  };
}

export async function earningsRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const topGifterSchema = { type: 'object', properties: { userId: { type: 'string' }, coins } } as const;
  app.get('/v1/streamers/me/earnings', {
    onRequest: requireRole(ctx.tokens, ['streamer']),
    schema: {
      description: [
        'The calling streamer\'s gift earnings, in coins. Live figures come from the hot store and move with every gift:',
        '`total` (lifetime), `unsettled` (credited, not yet in a settlement; also as `balance`), `awaitingPayout` (settled, payout not yet sent),',
        '`month` (this calendar month, UTC: it picks the contract tier) and `liveSession` (each open room: coins given, the creator\'s share, top gifters).',
        ledgerFigureText, '`perRoom`: the 20 rooms with the latest gifts.',
        `\`recentSessions\`: the rooms closed in the last ${limits.closedRoomFiguresKeptSec / 86_400} days, the latest closed first (at most ${limits.recentSessionsMax}), each with its times, coins given, the creator's share and top gifters.`,
      ].join(' '),
      security: bearerSecurity,
      response: {
        200: {
          type: 'object',
          properties: {
            streamerId: { type: 'string' }, total: coins, balance: coins, unsettled: coins, awaitingPayout: coins, month: coins,
            ...ledgerFigureProperties,
            perRoom: { type: 'array', items: { type: 'object', properties: { roomId: { type: 'string' }, coins, gifts: coins, lastGiftAt: { type: 'string' } } } },
            liveSession: {
              type: 'array',
              items: { type: 'object', properties: { roomId: { type: 'string' }, gross: coins, earned: coins, topGifters: { type: 'array', items: topGifterSchema } } },
            },
            recentSessions: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  roomId: { type: 'string' }, title: { type: 'string' }, openedAt: { type: 'string' }, closedAt: { type: 'string' },
                  gross: coins, earned: coins, topGifters: { type: 'array', items: topGifterSchema },
                },
              },
            },
          },
        },
        401: errorReply, 403: errorReply,
      },
    },
  }, async (request) => {
    const { userId } = identityOf(request);
    const account = earningsAccount(userId);
    const nowMs = ctx.clock();
    const [live, figures, perRoom, openRooms, closedRooms] = await Promise.all([
      liveFigures(ctx.redis, ctx.wallets.keys, userId, nowMs),
      ledgerFigures(ctx, account, nowMs),
      earningsByRoom(ctx.sql, account, 20),
      ctx.rooms.openRoomsOf(userId),
      ctx.rooms.closedSince(userId, nowMs - limits.closedRoomFiguresKeptSec * 1_000, limits.recentSessionsMax),
    ]);
    const [liveSession, recentSessions] = await Promise.all([
      Promise.all(openRooms.map((roomId) => roomLive(ctx.redis, ctx.wallets.keys, roomId))),
      Promise.all(closedRooms.map(async ({ id, title, openedAt, closedAt }) => ({
        title, openedAt, closedAt, ...await roomLive(ctx.redis, ctx.wallets.keys, id),
      }))),
    ]);
    return {
      streamerId: userId, total: live.lifetime, balance: live.unsettled, unsettled: live.unsettled,
      awaitingPayout: live.awaitingPayout, month: live.month, ...figures, perRoom, liveSession, recentSessions,
    };
  });

  app.get('/v1/agencies/me/earnings', {
    onRequest: requireRole(ctx.tokens, ['agency']),
    schema: {
      description: 'The calling agency\'s cut of its streamers\' gifts, in coins. Live: `unsettled` (credited, not yet in a settlement) and `awaitingPayout` (settled, payout not yet sent). ' +
        ledgerFigureText + ` \`perStreamer\`: the agency's lifetime cut from each streamer whose gifts paid it, the ${perStreamerMax} with the latest gifts first.`,
      security: bearerSecurity,
      response: {
        200: {
          type: 'object',
          properties: {
            agencyId: { type: 'string' }, unsettled: coins, awaitingPayout: coins, ...ledgerFigureProperties,
            perStreamer: { type: 'array', items: { type: 'object', properties: { streamerId: { type: 'string' }, coins, gifts: coins, lastGiftAt: { type: 'string' } } } },
          },
        },
        401: errorReply, 403: errorReply,
      },
    },
  }, async (request) => {
    const { userId: agencyId } = identityOf(request);
    const account = agencyAccount(agencyId);
    const [balances, figures, perStreamer] = await Promise.all([
      payeeBalances(ctx.redis, ctx.wallets.keys, account), ledgerFigures(ctx, account, ctx.clock()), agencyEarningsByStreamer(ctx.sql, account, perStreamerMax),
    ]);
    return { agencyId, ...balances, ...figures, perStreamer };
  });
}
