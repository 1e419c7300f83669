import type { Server, Socket } from 'socket.io';
import type { AppContext } from '../../server/context.js';
import type { ClientToServerEvents, ServerToClientEvents, SocketData } from '../events.js';
import type { RoomBroadcaster } from '../room-broadcaster.js';
import type { LeaderboardPublisher } from '../leaderboard-publisher.js';
import type { TokenBucket } from '../../domain/rate-limit.js';

export type Io = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export interface HandlerContext {
  app: AppContext;
  io: Io;
  broadcaster: RoomBroadcaster;
  leaderboards: LeaderboardPublisher;
  giftBucket(userId: string): TokenBucket;
}

export const userChannel = (userId: string) => `u:${userId}`;
