import type { Server, Socket } from 'socket.io';
import type { AppContext } from '../../server/context.js';
import type { ClientToServerEvents, ServerToClientEvents, SocketData } from '../events.js';
import type { RoomBroadcaster } from '../room-broadcaster.js';
import type { LeaderboardPublisher } from '../leaderboard-publisher.js';
import type { NodeRelay } from '../node-relay.js';
import type { TokenBucket } from '../../domain/rate-limit.js';

export type Io = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export interface HandlerContext {
  app: AppContext;
  io: Io;
  broadcaster: RoomBroadcaster;
  leaderboards: LeaderboardPublisher;
  relay: NodeRelay;
  giftBucket(userId: string): TokenBucket;
}

export const userChannel = (userId: string) => `u:${userId}`;

/**
 * Sockets of a channel on this node. Emitting to nobody still encodes the frame, so hot
 * paths skip empty channels; other nodes' members are reached through the NodeRelay.
 */
export function channelSize(io: Pick<Io, 'sockets'>, channel: string): number {
  return io.sockets.adapter.rooms.get(channel)?.size ?? 0;
}
