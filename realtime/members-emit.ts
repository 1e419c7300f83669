import { limits } from '../domain/limits.js';
import type { ServerToClientEvents } from './events.js';
import type { Io } from './handlers/context.js';
import { engineQueueEmpty, eventMessage, tcpSocketOf, textFrame } from './raw-frames.js';

type RoomEvent = 'gifts' | 'giftColumns' | 'leaderboard';

/**
 * Sends one event to many sockets of this node: one encoded frame, written straight to
 * each member's TCP socket (see raw-frames.ts). A member whose connection cannot take it
 * that way in order gets the ordinary emit, and one that has left 8 MiB unread is
 * dropped. With a multi-node adapter, other nodes' members need the adapter's broadcast.
 */
export function emitToMembers<E extends RoomEvent>(io: Io, members: ReadonlySet<string>, event: E,
  payload: Parameters<ServerToClientEvents[E]>[0]): void {
  let frame: Buffer | null = null;
  for (const socketId of members) {
    const socket = io.sockets.sockets.get(socketId);
    if (socket === undefined) continue;
    const tcp = tcpSocketOf(socket.conn);
    if (tcp !== null && tcp.writableLength > limits.socketBacklogBytesMax) {
      socket.disconnect(true);
      continue;
    }
    if (tcp === null || !engineQueueEmpty(socket.conn)) {
      (socket.emit as (event: E, payload: Parameters<ServerToClientEvents[E]>[0]) => boolean)(event, payload);
      continue;
    }
    frame ??= textFrame(eventMessage(event, payload));
    tcp.write(frame);
  }
}
