import type { AppContext } from '../context.js';
import { retireRoomFigures } from './live-earnings.js';

type ClosingContext = Pick<AppContext, 'rooms' | 'notifier' | 'redis' | 'wallets' | 'clock' | 'metrics'>;

/** After a room's row is closed: its members everywhere told, its gifts refused on every node, its live figures set to expire. */
export async function announceRoomClosed(ctx: Pick<ClosingContext, 'notifier' | 'redis' | 'wallets'>, roomId: string, closedAtMs: number): Promise<void> {
  ctx.notifier.roomClosed(roomId, closedAtMs);
  await retireRoomFigures(ctx.redis, ctx.wallets.keys, roomId).catch(() => { /* live figures only: the ledger holds the record */ });
}

const closedPerBatch = 500;

/** Closes, and announces, every open room in which no gift has credited its streamer for `idleMs`. Returns how many. */
export async function closeIdleRooms(ctx: ClosingContext, idleMs: number): Promise<number> {
  const cutMs = ctx.clock() - idleMs;
  let closed = 0;
  for (;;) {
    const batch = await ctx.rooms.closeIdle(cutMs, closedPerBatch);
    for (const room of batch) await announceRoomClosed(ctx, room.roomId, room.closedAtMs);
    ctx.metrics.roomsClosed.inc({ by: 'idle' }, batch.length);
    closed += batch.length;
    if (batch.length < closedPerBatch) return closed;
  }
}
