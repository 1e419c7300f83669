import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { limits } from '../../domain/limits.js';
import type { AppContext } from '../context.js';
import { announceRoomClosed } from '../services/room-closing.js';
import { identityOf, requireRole } from '../plugins/auth.js';
import { bearerSecurity, errorReply } from './schemas.js';
import { packageView } from '../../domain/coin-packages.js';
import { allCoinPackages, loadCoinPackages, saveCoinPackage, type CoinPackageRecord } from '../services/coin-packages.js';
import { parseFiat } from '../../domain/fiat.js';

export async function catalogRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get('/v1/gifts', {
    schema: {
      description: 'The gift catalog.',
      response: { 200: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, coins: { type: 'integer' } } } } },
    },
  }, async () => ctx.catalog.list());

  const giftRecord = {
    type: 'object',
    properties: {
      id: { type: 'string' }, name: { type: 'string' }, coins: { type: 'integer' }, active: { type: 'boolean' },
      sortOrder: { type: 'integer' }, updatedAt: { type: 'string' },
    },
  } as const;
  const admin = requireRole(ctx.tokens, ['admin']);

  app.get('/v1/admin/gifts', {
    onRequest: admin,
    schema: {
      description: 'Every gift, retired ones too, with its sort order and last change.',
      security: bearerSecurity,
      response: { 200: { type: 'array', items: giftRecord }, 401: errorReply, 403: errorReply },
    },
  }, async () => ctx.catalog.all());

  app.put('/v1/admin/gifts/:id', {
    onRequest: admin,
    schema: {
      description: 'Add a gift or change one: its name, price in coins, whether it is offered (`active: false` retires it: gifts of it are refused as '
        + '`UNKNOWN_GIFT`; it is never deleted, as the ledger names it) and its place in the catalog. This node charges the new price at once, '
        + 'every node within 2 s; a gift already acked keeps the price it was charged, and its replay answers the same ack.',
      security: bearerSecurity,
      params: { type: 'object', properties: { id: { type: 'string', pattern: '^[a-z0-9_-]{1,32}$' } }, required: ['id'] },
      body: {
        type: 'object',
        properties: {
          name: { type: 'string', minLength: 1, maxLength: limits.giftNameLengthMax },
          coins: { type: 'integer', minimum: 1, maximum: limits.giftCoinsMax },
          active: { type: 'boolean', default: true },
          sortOrder: { type: 'integer', minimum: -1_000_000, maximum: 1_000_000, default: 0 },
        },
        required: ['name', 'coins'], additionalProperties: false,
      },
      response: { 200: giftRecord, 400: errorReply, 401: errorReply, 403: errorReply },
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const body = request.body as { name: string; coins: number; active: boolean; sortOrder: number };
    if (body.name.trim() === '') throw new DomainError('INVALID_ARGUMENT', 'a gift\'s name is not blank');
    return ctx.catalog.save({ id, name: body.name, coins: body.coins, active: body.active, sortOrder: body.sortOrder });
  });

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

  const packageRecord = {
    type: 'object',
    properties: {
      id: { type: 'string' }, price: { type: 'string' }, currency: { type: 'string' }, coins: { type: 'integer' }, bonusCoins: { type: 'integer' },
      firstPurchaseBonusCoins: { type: 'integer' }, active: { type: 'boolean' }, sortOrder: { type: 'integer' },
    },
  } as const;
  const recordView = (pkg: CoinPackageRecord) => ({ ...packageView(pkg), active: pkg.active, sortOrder: pkg.sortOrder });

  app.get('/v1/admin/coin-packages', {
    onRequest: admin,
    schema: {
      description: 'Every coin package, retired ones too.',
      security: bearerSecurity,
      response: { 200: { type: 'array', items: packageRecord }, 401: errorReply, 403: errorReply },
    },
  }, async () => (await allCoinPackages(ctx.sql)).map(recordView));

  app.put('/v1/admin/coin-packages/:id', {
    onRequest: admin,
    schema: {
      description: 'Add a coin package or change one. `price` is a decimal string in the currency\'s own decimals. Refused when the active packages '
        + 'would break the bonus ladder (within a currency, a dearer pack never carries a smaller bonus share). `active: false` retires it: new '
        + 'orders for it answer 404; orders already placed keep their price, coins and bonus and are fulfilled as placed.',
      security: bearerSecurity,
      params: { type: 'object', properties: { id: { type: 'string', pattern: '^[a-z0-9_-]{1,40}$' } }, required: ['id'] },
      body: {
        type: 'object',
        properties: {
          price: { type: 'string', maxLength: 40 },
          currency: { type: 'string', pattern: '^[A-Z]{3}$' },
          coins: { type: 'integer', minimum: 1, maximum: limits.packageCoinsMax },
          bonusCoins: { type: 'integer', minimum: 0, maximum: limits.packageCoinsMax, default: 0 },
          firstPurchaseBonusCoins: { type: 'integer', minimum: 0, maximum: limits.packageCoinsMax, default: 0 },
          active: { type: 'boolean', default: true },
          sortOrder: { type: 'integer', minimum: -1_000_000, maximum: 1_000_000, default: 0 },
        },
        required: ['price', 'currency', 'coins'], additionalProperties: false,
      },
      response: { 200: packageRecord, 400: errorReply, 401: errorReply, 403: errorReply },
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const body = request.body as { price: string; currency: string; coins: number; bonusCoins: number; firstPurchaseBonusCoins: number; active: boolean; sortOrder: number };
    const price = parseFiat(body.price, body.currency);
    if (!price.greaterThan(0)) throw new DomainError('INVALID_ARGUMENT', 'a price is above zero');
    return recordView(await saveCoinPackage(ctx.sql, { ...body, id, price }));
  });

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
