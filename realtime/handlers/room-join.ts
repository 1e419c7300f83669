import { DomainError } from '../../domain/errors.js';
import { limits } from '../../domain/limits.js';
import type { RoomJoined } from '../events.js';
import { roomChannel, roomChannels } from '../room-broadcaster.js';
import { parseRoomJoin } from '../validate.js';
import type { GatewaySocket, HandlerContext } from './context.js';

export async function roomJoin(ctx: HandlerContext, socket: GatewaySocket, payload: unknown): Promise<RoomJoined> {
  const { roomId, delivery } = parseRoomJoin(payload);
  const joined = socket.data.rooms;
  if (!joined.has(roomId) && joined.size >= limits.roomsPerSocketMax) {
    throw new DomainError('INVALID_ARGUMENT', `a connection may be in at most ${limits.roomsPerSocketMax} rooms`);
  }
  const room = await ctx.app.rooms.find(roomId);
  if (room === undefined) throw new DomainError('UNKNOWN_ROOM');
  joined.set(roomId, room.streamerId);
  // Joining again switches the delivery: the connection is in exactly one of the room's channels.
  const chosen = roomChannel(roomId, delivery);
  for (const channel of roomChannels(roomId)) if (channel !== chosen) await socket.leave(channel);
  await socket.join(chosen);
  return { roomId, streamerId: room.streamerId };
}
