import { DomainError } from '../../domain/errors.js';
import { roomChannels } from '../room-broadcaster.js';
import { parseRoomLeave } from '../validate.js';
import type { GatewaySocket } from './context.js';

export async function roomLeave(socket: GatewaySocket, payload: unknown): Promise<Record<string, never>> {
  const { roomId } = parseRoomLeave(payload);
  // Leaving a room that closed under this connection is what a client does next: not an error.
  if (socket.data.closedRooms.delete(roomId)) return {};
  if (!socket.data.rooms.delete(roomId)) throw new DomainError('NOT_IN_ROOM');
  for (const channel of roomChannels(roomId)) await socket.leave(channel);
  return {};
}
