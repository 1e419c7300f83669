import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { limits } from '../../domain/limits.js';
import type { AppContext } from '../context.js';
import { announceRoomClosed } from '../services/room-closing.js';
import { identityOf, requireRole } from '../plugins/auth.js';
import { bearerSecurity, errorReply } from './schemas.js';
import { packageView } from '../../domain/coin-packages.js';
import { loadCoinPackages } from '../services/coin-packages.js';

export async function catalogRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get('/v1/gifts', {
    schema: {
      description: 'The gift catalog.',
      response: { 200: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, coins: { type: 'integer' } } } } },
    },
  }, async () => ctx.catalog.list());

  app.get('/v1/coin-packages', {
    schema: {
      description: 'Coin packages for top-ups: price is a decimal string in the currency\'s own decimals (USD 2, JPY 0, KWD 3). `firstPurchaseBonusCoins` is added once, to a user\'s first top-up.',
      response: {
        200: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              id: { type: 'string' }, price: { type: 'string' }, currency: { type: 'string' }, coins: { type: 'integer' },
              bonusCoins: { type: 'integer' }, firstPurchaseBonusCoins: { type: 'integer' },
            },
          },
        },
      },
    },
  }, async () => (await loadCoinPackages(ctx.sql)).map(packageView));

  app.post('/v1/rooms', {
    onRequest: requireRole(ctx.tokens, ['streamer']),
    schema: {
      description: `Open a live room (streamers). A streamer holds at most ${limits.openRoomsPerStreamerMax} open rooms at once (409 CONFLICT beyond: close one first).`,
      security: bearerSecurity,
      body: {
        type: ['object', 'null'],
        properties: { title: { type: 'string', maxLength: limits.reasonLengthMax } },
        additionalProperties: false,
      },
      response: { 201: { type: 'object', properties: { id: { type: 'string' }, streamerId: { type: 'string' }, title: { type: 'string' }, createdAt: { type: 'string' } } }, 401: errorReply, 403: errorReply, 409: errorReply },
    },
  }, async (request, reply) => {
    const identity = identityOf(request);
    const body = request.body as { title?: string } | null | undefined;
    const room = await ctx.rooms.open(identity.userId, body?.title ?? '');
    return reply.code(201).send(room);
  });

  app.post('/v1/rooms/:id/close', {
    onRequest: requireRole(ctx.tokens, ['streamer', 'admin']),
    schema: {
      description: 'Close a live room (its streamer, or an admin moderating): no more joins or gifts; its members are told (`room:closed`).',
      security: bearerSecurity,
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] },
    },
  }, async (request) => {
    const identity = identityOf(request);
    const { id } = request.params as { id: string };
    // An admin closes any open room; a streamer only their own.
    const closed = await ctx.rooms.close(id, identity.role === 'admin' ? null : identity.userId);
    if (closed === null) throw new DomainError('UNKNOWN_ROOM');
    ctx.metrics.roomsClosed.inc({ by: identity.role === 'admin' ? 'admin' : 'streamer' });
    await announceRoomClosed(ctx, id, closed.closedAtMs);
    return { ok: true };
  });
}
