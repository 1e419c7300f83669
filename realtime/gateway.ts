import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import { DomainError, InvariantViolation, toWireError } from '../domain/errors.js';
import { limits } from '../domain/limits.js';
import { TokenBucket } from '../domain/rate-limit.js';
import type { AppContext } from '../server/context.js';
import type { LiveNotifier, WalletUpdate } from '../server/services/notifier.js';
import type { ClientToServerEvents, RoomClosedEvent } from './events.js';
import { giftSend } from './handlers/gift-send.js';
import { roomJoin } from './handlers/room-join.js';
import { roomLeave } from './handlers/room-leave.js';
import { walletGet } from './handlers/wallet-get.js';
import { channelSize, userChannel, type GatewaySocket, type HandlerContext, type Io } from './handlers/context.js';
import { RoomBroadcaster, roomChannels } from './room-broadcaster.js';
import { LeaderboardPublisher } from './leaderboard-publisher.js';
import { NodeRelay, type RelayBatch } from './node-relay.js';
import { topGifters } from '../server/services/live-earnings.js';

export interface Gateway extends LiveNotifier {
  io: Io;
  relay: NodeRelay;
  close(): Promise<void>;
}

type Handler = (socket: GatewaySocket, payload: unknown) => Promise<object>;

/**
 * Runs a handler so that every request gets exactly one ack and no input can break the
 * socket. A metered event takes a token from the connection's request bucket first.
 */
function bind(app: AppContext, socket: GatewaySocket, event: keyof ClientToServerEvents, handler: Handler, metered: boolean): void {
  socket.on(event, (payload: unknown, ack: unknown) => {
    const reply = typeof ack === 'function' ? ack as (body: object) => void : null;
    if (refused(socket, metered, reply)) return;
    const startedAt = process.hrtime.bigint();
    handler(socket, payload).then((result) => {
      if (event === 'gift:send') app.metrics.gifts.inc({ outcome: 'ok' });
      reply?.({ ok: true, ...result });
    }, (error: unknown) => {
      const wire = toWireError(error);
      if (event === 'gift:send') app.metrics.gifts.inc({ outcome: wire.code });
      if (!(error instanceof DomainError)) {
        process.stderr.write(`[gateway] ${error instanceof InvariantViolation ? 'INVARIANT VIOLATED' : 'unexpected error'} in ${event}: ${
          error instanceof Error ? error.stack : String(error)}\n`);
      }
      reply?.({ ok: false, error: wire });
    }).finally(() => {
      if (event === 'gift:send') app.metrics.giftLatency.observe(Number(process.hrtime.bigint() - startedAt) / 1e9);
    });
  });
}

/**
 * What every request meets before its handler, known event or not: an expired token (the
 * expiry timer may not have run yet) ends the session, and a metered request takes a
 * token from the connection's bucket. Answers the refusal and says whether there was one.
 */
function refused(socket: GatewaySocket, metered: boolean, reply: ((body: object) => void) | null): boolean {
  if (Date.now() >= socket.data.expiresAtMs) {
    reply?.({ ok: false, error: toWireError(sessionExpired()) });
    endExpiredSession(socket);
    return true;
  }
  if (metered && !socket.data.requests.take(Date.now())) {
    reply?.({ ok: false, error: toWireError(overRequestRate()) });
    return true;
  }
  return false;
}

/** A connection remembers as many rooms closed under it as it can be in, for their gifts' error code. */
const closedRoomsRemembered = limits.roomsPerSocketMax;

function rememberClosed(closedRooms: Set<string>, roomId: string): void {
  closedRooms.add(roomId);
  const oldest = closedRooms.values().next().value;
  if (closedRooms.size > closedRoomsRemembered && oldest !== undefined) closedRooms.delete(oldest);
}

const overRequestRate = () => new DomainError('RATE_LIMITED',
  `at most ${limits.requestsPerSecondPerConnection} room, wallet and unknown requests a second per connection`);

const sessionExpired = () => new DomainError('UNAUTHENTICATED', 'the token has expired: connect again with a fresh one');

function endExpiredSession(socket: GatewaySocket): void {
  if (!socket.connected) return;
  socket.emit('session:expired', toWireError(sessionExpired()));
  socket.disconnect(true);
}

/** setTimeout's longest delay (about 24.8 days); a later expiry is waited for in steps. */
const timerDelayMax = 2 ** 31 - 1;

/** Ends the connection when its token expires, as HTTP refuses the same token from then on. */
function scheduleExpiry(socket: GatewaySocket): void {
  if (!Number.isFinite(socket.data.expiresAtMs)) return;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const left = socket.data.expiresAtMs - Date.now();
    if (left <= 0) endExpiredSession(socket);
    else timer = setTimeout(arm, Math.min(left, timerDelayMax)).unref();
  };
  arm();
  socket.once('disconnect', () => clearTimeout(timer));
}

/** Where the gateway reports what it cannot hand back to a client (fastify's pino logger). */
export interface GatewayLog { error(details: object, message: string): void }

export function attachGateway(app: AppContext, httpServer: HttpServer, nodeId: string, log: GatewayLog): Gateway {
  const io: Io = new Server(httpServer, {
    transports: ['websocket'],
    serveClient: false,
    maxHttpBufferSize: limits.socketPayloadBytesMax,
    pingInterval: 25_000,
    pingTimeout: 20_000,
  });
  const buckets = new Map<string, TokenBucket>();
  const connectionsByUser = new Map<string, number>();
  const releaseConnection = (userId: string) => {
    const open = (connectionsByUser.get(userId) ?? 0) - 1;
    if (open > 0) connectionsByUser.set(userId, open);
    else connectionsByUser.delete(userId);
  };
  const broadcaster = new RoomBroadcaster(io, app.config.broadcastTickMs, (event, members) => app.metrics.roomFrames.inc({ event }, members));
  const leaderboards = new LeaderboardPublisher((roomId) => topGifters(app.wallets.redis, app.wallets.keys, roomId), (event) => {
    broadcaster.emitToRoom(event.roomId, 'leaderboard', event);
  });
  // The room's last gifts, then room:closed, to this node's members; then they are out of it.
  const closeRoomHere = (event: RoomClosedEvent) => {
    broadcaster.closeRoom(event);
    for (const channel of roomChannels(event.roomId)) {
      for (const socketId of [...io.sockets.adapter.rooms.get(channel) ?? []]) {
        const socket = io.sockets.sockets.get(socketId);
        if (socket === undefined) continue;
        socket.data.rooms.delete(event.roomId);
        rememberClosed(socket.data.closedRooms, event.roomId);
        void socket.leave(channel);
      }
    }
  };
  // Another node's gifts and updates, for this node's members: its gifts join the room's next frame here.
  const receive = (batch: RelayBatch) => {
    for (const gift of batch.gifts) {
      if (!roomChannels(gift.roomId).some((channel) => channelSize(io, channel) > 0)) continue;
      broadcaster.enqueue(gift);
      leaderboards.touch(gift.roomId);
    }
    for (const update of batch.userEvents) {
      const channel = userChannel(update.userId);
      if (channelSize(io, channel) === 0) continue;
      if (update.event === 'wallet') io.to(channel).emit('wallet', update.payload);
      else io.to(channel).emit('earnings', update.payload);
    }
    for (const closed of batch.closedRooms ?? []) {
      // Refused here at once, rather than at this node's next recheck of the room.
      app.rooms.forget(closed.roomId);
      closeRoomHere(closed);
    }
  };
  // The relay reads with a blocking command, which holds a connection of its own.
  const reader = app.config.gatewayRelay ? app.redis.duplicate({ enableOfflineQueue: true, connectionName: 'gateway-relay' }) : null;
  reader?.on('error', () => { /* reconnects by itself; the relay then reads on from its last batch */ });
  const relay = new NodeRelay(app.redis, reader, app.wallets.keys.gatewayRelay, nodeId, receive, {
    tickMs: app.config.broadcastTickMs,
    onDeliveryError: (error) => log.error({ err: error }, 'a batch from another gateway node could not be delivered'),
  });
  const ctx: HandlerContext = {
    app, io,
    broadcaster,
    leaderboards,
    relay,
    giftBucket(userId) {
      let bucket = buckets.get(userId);
      if (bucket === undefined) {
        bucket = new TokenBucket(app.config.giftsPerSecondPerUser, app.config.giftBurstPerUser, Date.now());
        buckets.set(userId, bucket);
      }
      return bucket;
    },
  };

  io.use((socket, next) => {
    const auth: unknown = socket.handshake.auth;
    const field = (name: string): unknown => typeof auth === 'object' && auth !== null && Object.hasOwn(auth, name) ? (auth as Record<string, unknown>)[name] : undefined;
    const echo = field('walletEcho');
    const walletEcho = echo === undefined ? true : echo;
    if (typeof walletEcho !== 'boolean') { next(new Error('INVALID_ARGUMENT')); return; }
    app.tokens.verify(field('token')).then((identity) => {
      // Counted from here until the transport closes, whether or not the connection
      // completes: handshakes at once cannot all pass a count not yet raised.
      if (socket.conn.readyState === 'closed') { next(new Error('UNAVAILABLE')); return; } // gone while its token was checked
      const open = connectionsByUser.get(identity.userId) ?? 0;
      if (open >= limits.connectionsPerUserMax) { next(new Error('RATE_LIMITED')); return; }
      connectionsByUser.set(identity.userId, open + 1);
      socket.conn.once('close', () => releaseConnection(identity.userId));
      socket.data = {
        userId: identity.userId, role: identity.role, walletEcho, rooms: new Map(), closedRooms: new Set(), expiresAtMs: identity.expiresAtMs,
        requests: new TokenBucket(limits.requestsPerSecondPerConnection, limits.requestBurstPerConnection, Date.now()),
      };
      next();
    }, () => next(new Error('UNAUTHENTICATED')));
  });

  io.on('connection', (socket) => {
    app.metrics.sockets.inc();
    void socket.join(userChannel(socket.data.userId));
    scheduleExpiry(socket);
    bind(app, socket, 'room:join', (s, p) => roomJoin(ctx, s, p), true);
    bind(app, socket, 'room:leave', (s, p) => roomLeave(s, p), true);
    // gift:send has its own per-user rate (giftBucket and the gift script).
    bind(app, socket, 'gift:send', (s, p) => giftSend(ctx, s, p), false);
    bind(app, socket, 'wallet:get', (s, p) => walletGet(ctx, s, p), true);
    // The benchmarks' ceiling: the same gateway and ack path, no work at all.
    if (app.config.benchHandlers) bind(app, socket, 'bench:ack', async () => ({}), false);
    // A mistyped or unsupported event still gets its one reply, instead of leaving the
    // client waiting for its own timeout. Those replies take from the connection's
    // request bucket, so a client cannot have the node answer them as fast as it sends.
    socket.onAny((event: unknown, ...args: unknown[]) => {
      const ack = args[args.length - 1];
      if (typeof ack !== 'function' || socket.listenerCount(String(event)) > 0) return;
      const reply = ack as (body: object) => void;
      if (refused(socket, true, reply)) return;
      reply({ ok: false, error: toWireError(new DomainError('INVALID_ARGUMENT',
        `unknown event ${JSON.stringify(String(event).slice(0, 64))}; the events are ${[...socket.eventNames()].filter((name) => name !== 'disconnect').join(', ')}`)) });
    });
    socket.on('disconnect', () => {
      app.metrics.sockets.dec();
      if ((io.sockets.adapter.rooms.get(userChannel(socket.data.userId))?.size ?? 0) === 0) buckets.delete(socket.data.userId);
    });
  });

  return {
    io,
    relay,
    walletChanged(userId: string, update: WalletUpdate) {
      io.to(userChannel(userId)).emit('wallet', update);
      relay.userEvent({ userId, event: 'wallet', payload: update });
    },
    roomClosed(roomId: string, atMs: number) {
      const event: RoomClosedEvent = { roomId, at: atMs };
      closeRoomHere(event);
      relay.roomClosed(event);
    },
    async close() {
      ctx.broadcaster.stop();
      ctx.leaderboards.stop();
      await relay.stop();
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => { io.close(() => resolve()); });
    },
  };
}
