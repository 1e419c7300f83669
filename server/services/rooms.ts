import { randomBytes } from 'node:crypto';
import { DomainError } from '../../domain/errors.js';
import { limits } from '../../domain/limits.js';
import type { Sql } from '../db/sql.js';
import { within } from '../within.js';

export interface Room {
  id: string;
  streamerId: string;
  title: string;
  createdAt: string;
}

const cacheSizeMax = 100_000;

interface CachedRoom {
  room: Room;
  checkedAtMs: number;
}

/**
 * Live rooms: PostgreSQL is the record, a bounded in-memory map serves joins and gifts. A
 * room closed through this node leaves the map at once; one closed through another node
 * is found closed by the check that starts `recheckMs` after the last. While PostgreSQL
 * does not answer, rooms known to be open stay open: gifts go on through a ledger outage.
 */
export class RoomDirectory {
  private readonly cache = new Map<string, CachedRoom>();
  /** One query per room at a time, however many gifts wait on it. */
  private readonly checking = new Map<string, Promise<Room | undefined>>();
  /** Closes made through this node: a check that was already asking when one came caches nothing. */
  private closes = 0;

  constructor(private readonly sql: Sql, private readonly recheckMs: number = limits.roomRecheckMs,
    private readonly clock: () => number = Date.now, private readonly timeoutMs: number = limits.storageTimeoutMs) {}

  /** Opens a room; CONFLICT when the streamer already holds `openRoomsPerStreamerMax` open. */
  async open(streamerId: string, title: string): Promise<Room> {
    const id = `r_${randomBytes(9).toString('base64url')}`;
    const row = await this.sql.begin(async (tx) => {
      // One streamer's opens are counted one after the other, so two at once cannot both pass the bound.
      await tx`select pg_advisory_xact_lock(hashtext(${`rooms:${streamerId}`}))`;
      const [open] = await tx<{ n: number }[]>`select count(*)::int as n from rooms where streamer_id = ${streamerId} and closed_at is null`;
      if ((open?.n ?? 0) >= limits.openRoomsPerStreamerMax) {
        throw new DomainError('CONFLICT', `a streamer may hold at most ${limits.openRoomsPerStreamerMax} open rooms: close one first`);
      }
      const [inserted] = await tx<{ created_at: Date }[]>`
        insert into rooms (id, streamer_id, title) values (${id}, ${streamerId}, ${title}) returning created_at`;
      return inserted;
    });
    const room = { id, streamerId, title, createdAt: (row?.created_at ?? new Date()).toISOString() };
    this.remember(room);
    return room;
  }

  /**
   * A cached room answers at once; when its last check is `recheckMs` old, a new one starts
   * in the background and the gifts meanwhile are not held up by a PostgreSQL round trip
   * (a hot room's p99 would carry one every interval). An unknown room waits for the query.
   */
  async find(roomId: string): Promise<Room | undefined> {
    const cached = this.cache.get(roomId);
    if (cached === undefined) return this.checkOnce(roomId, undefined);
    if (this.clock() - cached.checkedAtMs >= this.recheckMs) void this.checkOnce(roomId, cached);
    return cached.room;
  }

  async openRoomsOf(streamerId: string): Promise<string[]> {
    const rows = await this.sql<{ id: string }[]>`
      select id from rooms where streamer_id = ${streamerId} and closed_at is null order by created_at desc limit ${limits.openRoomsPerStreamerMax}`;
    return rows.map((row) => row.id);
  }

  /** The streamer's rooms closed since `sinceMs`, the latest closed first. */
  async closedSince(streamerId: string, sinceMs: number, limit: number): Promise<{ id: string; title: string; openedAt: string; closedAt: string }[]> {
    const rows = await this.sql<{ id: string; title: string; created_at: Date; closed_at: Date }[]>`
      select id, title, created_at, closed_at from rooms
       where streamer_id = ${streamerId} and closed_at > ${new Date(sinceMs)}
       order by closed_at desc, id limit ${limit}`;
    return rows.map((row) => ({ id: row.id, title: row.title, openedAt: row.created_at.toISOString(), closedAt: row.closed_at.toISOString() }));
  }

  /** Whether the open room (of this streamer; of anyone for null) was closed now, and when (ms). */
  async close(roomId: string, streamerId: string | null): Promise<{ closedAtMs: number } | null> {
    const [closed] = await this.sql<{ closed_at: Date }[]>`
      update rooms set closed_at = now()
       where id = ${roomId} and closed_at is null ${streamerId === null ? this.sql`` : this.sql`and streamer_id = ${streamerId}`}
      returning closed_at`;
    this.forget(roomId);
    return closed === undefined ? null : { closedAtMs: closed.closed_at.getTime() };
  }

  /**
   * Closes up to `batch` open rooms opened before `cutMs` in which no gift has credited
   * their streamer since (as the ledger has it: migration 00022's per-room sums). Rows
   * another node is closing at the same time are skipped, so each room is closed, and its
   * members told, once.
   */
  async closeIdle(cutMs: number, batch: number): Promise<{ roomId: string; closedAtMs: number }[]> {
    const cut = new Date(cutMs);
    const rows = await this.sql<{ id: string; closed_at: Date }[]>`
      update rooms set closed_at = now()
       where closed_at is null and id in (
             select r.id from rooms r
              where r.closed_at is null and r.created_at < ${cut}
                -- The streamer's account id as domain/accounts.ts writes it (earningsAccount).
                and not exists (select 1 from payee_rooms p
                                 where p.account_id = 'earnings:' || r.streamer_id and p.room_id = r.id and p.last_gift_at >= ${cut})
              order by r.created_at
              limit ${batch}
                for update skip locked)
      returning id, closed_at`;
    for (const row of rows) this.forget(row.id);
    return rows.map((row) => ({ roomId: row.id, closedAtMs: row.closed_at.getTime() }));
  }

  /** The room closed (here, or through another node that said so): no more gifts or joins here, from now. */
  forget(roomId: string): void {
    this.closes += 1;
    this.cache.delete(roomId);
  }

  private checkOnce(roomId: string, cached: CachedRoom | undefined): Promise<Room | undefined> {
    let check = this.checking.get(roomId);
    if (check === undefined) {
      check = this.check(roomId, cached).finally(() => this.checking.delete(roomId));
      this.checking.set(roomId, check);
    }
    return check;
  }

  /** Never rejects when the room was cached: an outage keeps it open (see the class). */
  private async check(roomId: string, cached: CachedRoom | undefined): Promise<Room | undefined> {
    let row: { id: string; streamer_id: string; title: string; created_at: Date } | undefined;
    const closesBefore = this.closes;
    try {
      // A PostgreSQL that stops answering is as good as gone: the join waiting on it is answered.
      [row] = await within(this.sql<{ id: string; streamer_id: string; title: string; created_at: Date }[]>`
        select id, streamer_id, title, created_at from rooms where id = ${roomId} and closed_at is null`,
      this.timeoutMs, () => new Error(`PostgreSQL did not answer within ${this.timeoutMs} ms`));
    } catch {
      if (cached === undefined) throw new DomainError('UNAVAILABLE', 'the room directory did not answer; try again');
      // Asked again only after another interval: an outage costs one failed query per room, not one per gift.
      cached.checkedAtMs = this.clock();
      return cached.room;
    }
    if (row === undefined) {
      this.cache.delete(roomId);
      return undefined;
    }
    const room = { id: row.id, streamerId: row.streamer_id, title: row.title, createdAt: row.created_at.toISOString() };
    // Its answer may predate a close made here meanwhile: caching it would reopen the room.
    if (this.closes === closesBefore) this.remember(room);
    return room;
  }

  private remember(room: Room): void {
    if (!this.cache.has(room.id) && this.cache.size >= cacheSizeMax) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(room.id, { room, checkedAtMs: this.clock() });
  }
}
