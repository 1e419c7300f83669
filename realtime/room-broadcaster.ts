import type { Server } from 'socket.io';
import { limits } from '../domain/limits.js';
import { channelSize } from './handlers/context.js';
import { giftBatchFields, type GiftBatchRow, type ClientToServerEvents, type GiftEvent, type ServerToClientEvents, type SocketData } from './events.js';

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

  private send(roomId: string, gifts: GiftEvent[]): void {
    const batchChannel = roomChannels.batch(roomId);
    if (channelSize(this.io, batchChannel) > 0) {
      this.io.to(batchChannel).emit('gifts', {
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
