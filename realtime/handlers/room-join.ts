import { DomainError } from '../../domain/errors.js';
import { limits } from '../../domain/limits.js';
import type { RoomJoined } from '../events.js';
import { roomChannels } from '../room-broadcaster.js';
import { parseRoomJoin } from '../validate.js';
import type { GatewaySocket, HandlerContext } from './context.js';

export async function roomJoin(ctx: HandlerContext, socket: GatewaySocket, payload: unknown): Promise<RoomJoined> {
  const { roomId, batch } = parseRoomJoin(payload);
  const joined = socket.data.rooms;
  if (!joined.has(roomId) && joined.size >= limits.roomsPerSocketMax) {
    throw new DomainError('INVALID_ARGUMENT', `a connection may be in at most ${limits.roomsPerSocketMax} rooms`);
  }
  const room = await ctx.app.rooms.find(roomId);
  if (room === undefined) throw new DomainError('UNKNOWN_ROOM');
  joined.set(roomId, room.streamerId);
  await socket.leave(batch ? roomChannels.single(roomId) : roomChannels.batch(roomId));
  await socket.join(batch ? roomChannels.batch(roomId) : roomChannels.single(roomId));
  return { roomId, streamerId: room.streamerId };
}
