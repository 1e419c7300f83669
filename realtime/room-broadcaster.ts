import { limits } from '../domain/limits.js';
import { channelSize, type Io } from './handlers/context.js';
import { MembersEmitter, type FrameCounter } from './members-emit.js';
import { giftBatchFields, type GiftBatchRow, type GiftColumns, type GiftEvent, type RoomClosedEvent, type ServerToClientEvents } from './events.js';


/** How a room member takes gifts: `gift` per gift, `gifts` rows per tick, or `giftColumns` per tick. */
export type RoomDelivery = 'single' | 'rows' | 'columns';
const channelPrefix: Record<RoomDelivery, string> = { single: 'rs', rows: 'rb', columns: 'rc' };

export function roomChannel(roomId: string, delivery: RoomDelivery): string {
  return `${channelPrefix[delivery]}:${roomId}`;
}

/** Every channel of a room: what room-wide events (leaderboards) and leaving address. */
export function roomChannels(roomId: string): string[] {
  return (Object.keys(channelPrefix) as RoomDelivery[]).map((delivery) => roomChannel(roomId, delivery));
}

/**
 * Coalesces a room's gifts: at most one frame per tick per room for batch sockets, so a
 * room of 1,000 viewers costs 1,000 frames per tick, not per gift. Nothing is dropped: a
 * room whose queue reaches its bound is flushed at once.
 */
export class RoomBroadcaster {
  private pending = new Map<string, GiftEvent[]>();
  private readonly timer: NodeJS.Timeout;
  private readonly emitter: MembersEmitter;

  constructor(private readonly io: Io, private readonly tickMs: number = limits.broadcastTickMs,
    private readonly countFrames: FrameCounter = () => {}) {
    this.emitter = new MembersEmitter(io, limits.broadcastWritesPerTurn, countFrames);
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

  /** The room has closed: its queued gifts go out now, then `room:closed`, in that order, to every member. */
  closeRoom(event: RoomClosedEvent): void {
    const queue = this.pending.get(event.roomId);
    if (queue !== undefined) this.flushRoom(event.roomId, queue);
    this.emitToRoom(event.roomId, 'room:closed', event);
  }

  /** A room-wide event (leaderboards) for every member, in order with the room's gift frames. */
  emitToRoom<E extends 'leaderboard' | 'room:closed'>(roomId: string, event: E, payload: Parameters<ServerToClientEvents[E]>[0]): void {
    for (const channel of roomChannels(roomId)) {
      const members = this.io.sockets.adapter.rooms.get(channel);
      if (members !== undefined) this.emitter.emit(members, event, payload);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.flush();
    this.emitter.flush();
  }

  private flushRoom(roomId: string, gifts: GiftEvent[]): void {
    this.pending.delete(roomId);
    this.send(roomId, gifts);
  }

  private send(roomId: string, gifts: GiftEvent[]): void {
    const rows = this.members(roomId, 'rows');
    if (rows !== null) {
      this.emitter.emit(rows, 'gifts', {
        roomId, fields: giftBatchFields,
        gifts: gifts.map((g): GiftBatchRow => [g.giftEventId, g.senderId, g.giftId, g.count, g.coins, g.combo, g.at]),
      });
    }
    const columns = this.members(roomId, 'columns');
    if (columns !== null) this.emitter.emit(columns, 'giftColumns', giftColumns(roomId, gifts));
    const singleChannel = roomChannel(roomId, 'single');
    const singles = channelSize(this.io, singleChannel);
    if (singles > 0) {
      for (const gift of gifts) this.io.to(singleChannel).emit('gift', gift);
      this.countFrames('gift', singles * gifts.length);
    }
  }

  private members(roomId: string, delivery: RoomDelivery): ReadonlySet<string> | null {
    const members = this.io.sockets.adapter.rooms.get(roomChannel(roomId, delivery));
    return members !== undefined && members.size > 0 ? members : null;
  }
}

/** A tick's gifts as columns: ids once per frame in tables, numbers in flat arrays. */
export function giftColumns(roomId: string, gifts: readonly GiftEvent[]): GiftColumns {
  const at = gifts[0]?.at ?? 0;
  const senderIds: string[] = [];
  const giftIds: string[] = [];
  const senderSlots = new Map<string, number>();
  const giftSlots = new Map<string, number>();
  const slot = (table: string[], slots: Map<string, number>, id: string): number => {
    let index = slots.get(id);
    if (index === undefined) {
      index = table.push(id) - 1;
      slots.set(id, index);
    }
    return index;
  };
  const frame: GiftColumns = { roomId, at, giftEventIds: [], senderIds, giftIds, senderIndex: [], giftIndex: [], count: [], coins: [], combo: [], atOffset: [] };
  for (const gift of gifts) {
    frame.giftEventIds.push(gift.giftEventId);
    frame.senderIndex.push(slot(senderIds, senderSlots, gift.senderId));
    frame.giftIndex.push(slot(giftIds, giftSlots, gift.giftId));
    frame.count.push(gift.count);
    frame.coins.push(gift.coins);
    frame.combo.push(gift.combo);
    frame.atOffset.push(gift.at - at);
  }
  return frame;
}
