import type { Server } from 'socket.io';
import { limits } from '../domain/limits.js';
import { channelSize } from './handlers/context.js';
import { engineQueueEmpty, eventMessage, tcpSocketOf, textFrame } from './raw-frames.js';
import { giftBatchFields, type GiftBatch, type GiftBatchRow, type ClientToServerEvents, type GiftEvent, type ServerToClientEvents, type SocketData } from './events.js';

type Io = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export const roomChannels = {
  /** Sockets that take one `gift` frame per gift. */
  single: (roomId: string) => `rs:${roomId}`,
  /** Sockets that take one `gifts` frame per tick. */
  batch: (roomId: string) => `rb:${roomId}`,
};

/**
 * Coalesces a room's gifts: at most one frame per tick per room for batch sockets, so a
 * room of 1,000 viewers costs 1,000 frames per tick, not per gift. Nothing is dropped: a
 * room whose queue reaches its bound is flushed at once.
 */
export class RoomBroadcaster {
  private pending = new Map<string, GiftEvent[]>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly io: Io, private readonly tickMs: number = limits.broadcastTickMs) {
    this.timer = setInterval(() => this.flush(), this.tickMs);
    this.timer.unref();
  }

  enqueue(event: GiftEvent): void {
    let queue = this.pending.get(event.roomId);
    if (queue === undefined) {
      queue = [];
      this.pending.set(event.roomId, queue);
    }
    queue.push(event);
    if (queue.length >= limits.broadcastQueueMaxPerRoom) this.flushRoom(event.roomId, queue);
  }

  flush(): void {
    const pending = this.pending;
    this.pending = new Map();
    for (const [roomId, gifts] of pending) this.send(roomId, gifts);
  }

  stop(): void {
    clearInterval(this.timer);
    this.flush();
  }

  private flushRoom(roomId: string, gifts: GiftEvent[]): void {
    this.pending.delete(roomId);
    this.send(roomId, gifts);
  }

  /**
   * One encoded frame for the whole room, written straight to each member's TCP socket
   * (see raw-frames.ts); a member whose connection cannot take it that way in order gets
   * the ordinary emit. This walks this node's members: with a multi-node adapter, the
   * other nodes' members need the adapter's broadcast.
   */
  private sendBatch(members: ReadonlySet<string>, batch: GiftBatch): void {
    let frame: Buffer | null = null;
    for (const socketId of members) {
      const socket = this.io.sockets.sockets.get(socketId);
      if (socket === undefined) continue;
      const tcp = tcpSocketOf(socket.conn);
      if (tcp !== null && tcp.writableLength > limits.socketBacklogBytesMax) {
        socket.disconnect(true);
        continue;
      }
      if (tcp === null || !engineQueueEmpty(socket.conn)) {
        socket.emit('gifts', batch);
        continue;
      }
      frame ??= textFrame(eventMessage('gifts', batch));
      tcp.write(frame);
    }
  }

  private send(roomId: string, gifts: GiftEvent[]): void {
    const members = this.io.sockets.adapter.rooms.get(roomChannels.batch(roomId));
    if (members !== undefined && members.size > 0) {
      this.sendBatch(members, {
        roomId, fields: giftBatchFields,
        gifts: gifts.map((g): GiftBatchRow => [g.giftEventId, g.senderId, g.giftId, g.count, g.coins, g.combo, g.at]),
      });
    }
    const singleChannel = roomChannels.single(roomId);
    if (channelSize(this.io, singleChannel) > 0) {
      for (const gift of gifts) this.io.to(singleChannel).emit('gift', gift);
    }
  }
}
