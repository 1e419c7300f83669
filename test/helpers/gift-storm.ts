import type { Socket } from 'socket.io-client';
import { connect, request, requestId, token } from './harness.js';

export interface AckedGift {
  userId: string;
  requestId: string;
  roomId: string;
  giftEventId: string;
  charged: number;
  balance: number;
  combo: number;
}

/**
 * Viewers sending gifts as fast as acks return (a few in flight each) until stopped or
 * disconnected. Only gifts whose ok ack arrived count as acked.
 */
export class GiftStorm {
  readonly acked: AckedGift[] = [];
  readonly errors = new Map<string, number>();
  private running = true;
  private readonly loops: Promise<void>[] = [];
  private readonly sockets: Socket[] = [];

  static async start(url: string, roomId: string, userIds: string[], inFlight = 4): Promise<GiftStorm> {
    const storm = new GiftStorm();
    for (const userId of userIds) {
      const socket = await connect(url, await token(userId, 'viewer'));
      storm.sockets.push(socket);
      const joined = await request(socket, 'room:join', { roomId });
      if (!joined.ok) throw new Error(`join failed: ${JSON.stringify(joined)}`);
      for (let i = 0; i < inFlight; i += 1) storm.loops.push(storm.loop(socket, userId, roomId));
    }
    return storm;
  }

  private async loop(socket: Socket, userId: string, roomId: string): Promise<void> {
    while (this.running && socket.connected) {
      const id = requestId();
      try {
        const ack = await request(socket, 'gift:send', { requestId: id, roomId, giftId: 'heart', count: 1 }, 10_000);
        if (ack.ok) {
          this.acked.push({ userId, requestId: id, roomId, giftEventId: String(ack.giftEventId), charged: Number(ack.charged),
            balance: Number(ack.balance), combo: Number(ack.combo) });
        } else {
          const code = ack.error?.code ?? 'unknown';
          this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, 20));
        }
      } catch {
        this.errors.set('no-ack', (this.errors.get('no-ack') ?? 0) + 1);
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    for (const socket of this.sockets) socket.close();
  }
}
