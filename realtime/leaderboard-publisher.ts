import { limits } from '../domain/limits.js';
import type { LeaderboardEntry, LeaderboardEvent } from './events.js';

/**
 * Sends each room's top gifters at a bounded rate: a gift marks its room, and every
 * interval the marked rooms' boards are read once and sent once. A quiet room costs
 * nothing; a room taking 1,000 gifts a second still gets one board a second. The board
 * is read from the hot store, which the gift script updates in the same step as the
 * balances, so it is exact against the ledger.
 */
export class LeaderboardPublisher {
  private marked = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private publishing = false;

  constructor(
    private readonly readBoard: (roomId: string) => Promise<LeaderboardEntry[]>,
    private readonly send: (event: LeaderboardEvent) => void,
    intervalMs: number = limits.leaderboardIntervalMs,
  ) {
    this.timer = setInterval(() => void this.publish(), intervalMs);
    this.timer.unref();
  }

  touch(roomId: string): void {
    this.marked.add(roomId);
  }

  async publish(): Promise<void> {
    // A slow read never stacks a second round on top of the first.
    if (this.publishing || this.marked.size === 0) return;
    this.publishing = true;
    const rooms = this.marked;
    this.marked = new Set();
    try {
      await Promise.all([...rooms].map(async (roomId) => {
        try {
          this.send({ roomId, top: await this.readBoard(roomId), at: Date.now() });
        } catch {
          this.marked.add(roomId); // storage hiccup: try again next interval
        }
      }));
    } finally {
      this.publishing = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
