import { randomBytes } from 'node:crypto';
import type { Sql } from '../db/sql.js';

export interface Room {
  id: string;
  streamerId: string;
  title: string;
  createdAt: string;
}

const cacheSizeMax = 100_000;

/** Live rooms: PostgreSQL is the record, a bounded in-memory map serves joins. */
export class RoomDirectory {
  private readonly cache = new Map<string, Room>();

  constructor(private readonly sql: Sql) {}

  async open(streamerId: string, title: string): Promise<Room> {
    const id = `r_${randomBytes(9).toString('base64url')}`;
    const [row] = await this.sql<{ created_at: Date }[]>`
      insert into rooms (id, streamer_id, title) values (${id}, ${streamerId}, ${title}) returning created_at`;
    const room = { id, streamerId, title, createdAt: (row?.created_at ?? new Date()).toISOString() };
    this.remember(room);
    return room;
  }

  async find(roomId: string): Promise<Room | undefined> {
    const cached = this.cache.get(roomId);
    if (cached !== undefined) return cached;
    const [row] = await this.sql<{ id: string; streamer_id: string; title: string; created_at: Date }[]>`
      select id, streamer_id, title, created_at from rooms where id = ${roomId} and closed_at is null`;
    if (row === undefined) return undefined;
    const room = { id: row.id, streamerId: row.streamer_id, title: row.title, createdAt: row.created_at.toISOString() };
    this.remember(room);
    return room;
  }

  async openRoomsOf(streamerId: string): Promise<string[]> {
    const rows = await this.sql<{ id: string }[]>`
      select id from rooms where streamer_id = ${streamerId} and closed_at is null order by created_at desc limit 20`;
    return rows.map((row) => row.id);
  }

  async close(roomId: string, streamerId: string): Promise<boolean> {
    const closed = await this.sql`
      update rooms set closed_at = now() where id = ${roomId} and streamer_id = ${streamerId} and closed_at is null`;
    this.cache.delete(roomId);
    return closed.count > 0;
  }

  private remember(room: Room): void {
    if (this.cache.size >= cacheSizeMax) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(room.id, room);
  }
}
