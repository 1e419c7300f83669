import type { Redis } from 'ioredis';
import { limits } from '../../domain/limits.js';
import { earningsMonth } from '../../domain/split-contracts.js';
import { DomainError } from '../../domain/errors.js';
import type { Sql } from '../db/sql.js';
import { compareStreamIds, parseStreamRecords } from '../flusher/journal-records.js';
import { debtFreezeReason } from './debt.js';
import { adminFreezeReasons } from './wallet-freezes.js';
import { flusherGroup, type WalletKeys } from '../redis/keys.js';

export interface RebuildReport {
  accounts: number;
  earners: number;
  liveRooms: number;
  /** Closed rooms whose figures were still kept for their streamers' recent sessions. */
  recentlyClosedRooms: number;
  carries: number;
  idempotencyRecords: number;
  unflushedEntriesIncluded: number;
}

type Counts = Map<string, bigint>;

function add(map: Counts, key: string, amount: bigint): void {
  map.set(key, (map.get(key) ?? 0n) + amount);
}

interface RoomState {
  board: Counts;
  gross: bigint;
  earned: bigint;
  /** Seconds its figures have left in Redis; null while the room is open. */
  keptSec: number | null;
}

function addToRoom(rooms: Map<string, RoomState>, roomId: string, keptSec: number | null, senderId: string, given: bigint, earned: bigint): void {
  let room = rooms.get(roomId);
  if (room === undefined) {
    room = { board: new Map(), gross: 0n, earned: 0n, keptSec };
    rooms.set(roomId, room);
  }
  add(room.board, senderId, given);
  room.gross += given;
  room.earned += earned;
}

async function writeLiveFigures(redis: Redis, keys: WalletKeys, monthEarned: Counts, rooms: Map<string, RoomState>): Promise<void> {
  await redis.del(keys.monthEarned);
  const fields = [...monthEarned].flatMap(([field, coins]) => [field, String(coins)]);
  if (fields.length > 0) await redis.hset(keys.monthEarned, ...fields);
  for (const [roomId, room] of rooms) {
    const write = redis.multi()
      .del(keys.roomBoard(roomId), keys.roomTotals(roomId))
      .zadd(keys.roomBoard(roomId), ...[...room.board].flatMap(([sender, coins]) => [String(coins), sender]))
      .hset(keys.roomTotals(roomId), 'gross', String(room.gross), 'earned', String(room.earned));
    if (room.keptSec !== null) write.expire(keys.roomBoard(roomId), room.keptSec).expire(keys.roomTotals(roomId), room.keptSec);
    await write.exec();
  }
}

async function assertNoLiveGateway(redis: Redis, keys: WalletKeys): Promise<void> {
  const live = await redis.zrangebyscore(keys.liveGateways, Date.now(), '+inf');
  if (live.length > 0) {
    throw new DomainError('CONFLICT', `gateways are taking gifts (${live.join(', ')}): stop them, or force the rebuild`);
  }
}

/**
 * Rebuilds the hot wallets of a Redis that lost its data: balances, lifetime earnings,
 * split carries and freezes (while a user owes coins), the month figures and the boards of
 * live and recently closed rooms, from the ledger plus whatever journal survived in Redis, and the
 * idempotency records still inside their 24-hour window, so replays answer their first ack.
 */
export async function rebuildWallets(redis: Redis, sql: Sql, keys: WalletKeys, options: { force: boolean }): Promise<RebuildReport> {
  if (!options.force) await assertNoLiveGateway(redis, keys);
  const surviving = parseStreamRecords(await redis.xrange(keys.journal, '-', '+'));
  const flushed = new Set((surviving.length === 0 ? [] : await sql<{ id: string }[]>`
    select id::text from journal_entries where id = any(${sql.array(surviving.map((r) => r.entry.id))}::uuid[])`).map((r) => r.id));
  const unflushed = surviving.filter((r) => !flushed.has(r.entry.id));

  const balances: Counts = new Map();
  for (const row of await sql<{ account_id: string; balance: string }[]>`
    select account_id, sum(amount)::text as balance from postings group by account_id`) add(balances, row.account_id, BigInt(row.balance));
  const earned: Counts = new Map();
  for (const row of await sql<{ streamer_id: string; total: string }[]>`
    select substr(p.account_id, length('earnings:') + 1) as streamer_id, sum(p.amount)::text as total
      from postings p join journal_entries e on e.id = p.entry_id
     where e.kind = 'gift' and p.account_id like 'earnings:%' group by p.account_id`) add(earned, row.streamer_id, BigInt(row.total));
  const carries = new Map((await sql<{ key: string; value: string }[]>`
    select distinct on (c.key) c.key, c.value
      from journal_entries e, jsonb_each_text(e.meta -> 'carries') as c(key, value)
     where e.meta ? 'carries'
     order by c.key, e.stream_ms desc, e.stream_seq desc`).map((r) => [r.key, r.value]));
  const monthEarned: Counts = new Map();
  for (const row of await sql<{ field: string; total: string }[]>`
    select (e.meta ->> 'streamerId') || '|' || to_char(e.created_at at time zone 'utc', 'YYYY-MM') as field, sum(p.amount)::text as total
      from postings p join journal_entries e on e.id = p.entry_id
     where e.kind = 'gift' and e.created_at >= date_trunc('month', now() at time zone 'utc') at time zone 'utc' - interval '1 month'
       and p.account_id = 'earnings:' || (e.meta ->> 'streamerId')
     group by 1`) add(monthEarned, row.field, BigInt(row.total));
  // Boards and totals of the rooms still live, and of those closed within the week their
  // figures are kept for (with what is left of it), from the sender's and the creator's legs.
  const keptRooms = new Map((await sql<{ id: string; kept_sec: number | null }[]>`
    select id, case when closed_at is null then null
                    else ceil(${limits.closedRoomFiguresKeptSec} - extract(epoch from now() - closed_at))::int end as kept_sec
      from rooms where closed_at is null or closed_at > now() - make_interval(secs => ${limits.closedRoomFiguresKeptSec})`)
    .map((r) => [r.id, r.kept_sec]));
  const rooms = new Map<string, RoomState>();
  for (const row of await sql<{ room_id: string; sender_id: string; given: string; earned: string }[]>`
    select e.meta ->> 'roomId' as room_id, e.meta ->> 'senderId' as sender_id,
           (-sum(p.amount) filter (where p.account_id = 'wallet:' || (e.meta ->> 'senderId')))::text as given,
           coalesce(sum(p.amount) filter (where p.account_id = 'earnings:' || (e.meta ->> 'streamerId')), 0)::text as earned
      from postings p join journal_entries e on e.id = p.entry_id
     where e.kind = 'gift' and e.meta ->> 'roomId' = any(${sql.array([...keptRooms.keys()])}::text[])
     group by 1, 2`) {
    const keptSec = keptRooms.get(row.room_id);
    if (keptSec !== undefined) addToRoom(rooms, row.room_id, keptSec, row.sender_id, BigInt(row.given), BigInt(row.earned));
  }
  const replays = await sql<{ kind: string; meta: Record<string, unknown>; age_s: number }[]>`
    select kind, meta, extract(epoch from now() - created_at)::float8 as age_s from journal_entries
     where created_at > now() - make_interval(secs => ${limits.idempotencyWindowSec}) and meta ? 'replayRecord'`;
  const replayRecords = replays.map((r) => ({ meta: r.meta, kind: r.kind, ageSec: r.age_s }));

  for (const record of unflushed) {
    const { entry } = record;
    for (const posting of entry.postings) add(balances, posting.accountId, BigInt(posting.amount));
    const streamerId = entry.meta.streamerId;
    const creatorLeg = entry.postings.find((p) => p.accountId === `earnings:${String(streamerId)}`);
    if (entry.kind === 'gift') {
      const creatorCoins = BigInt(creatorLeg?.amount ?? 0);
      add(earned, String(streamerId), creatorCoins);
      add(monthEarned, `${String(streamerId)}|${earningsMonth(entry.atMs)}`, creatorCoins);
      const roomId = String(entry.meta.roomId);
      const senderLeg = entry.postings.find((p) => p.accountId === `wallet:${String(entry.meta.senderId)}`);
      const keptSec = keptRooms.get(roomId);
      if (keptSec !== undefined && senderLeg !== undefined) addToRoom(rooms, roomId, keptSec, String(entry.meta.senderId), BigInt(-senderLeg.amount), creatorCoins);
    }
    const entryCarries = entry.meta.carries as Record<string, number> | undefined;
    for (const [key, value] of Object.entries(entryCarries ?? {})) carries.set(key, String(value));
    if (entry.meta.replayRecord !== undefined) replayRecords.push({ meta: entry.meta, kind: entry.kind, ageSec: (Date.now() - entry.atMs) / 1000 });
  }

  const idempotencyRecords = await writeHotState(redis, keys, balances, earned, carries, replayRecords, await adminFreezeReasons(sql));
  await writeLiveFigures(redis, keys, monthEarned, rooms);
  await restoreJournalPosition(redis, sql, keys);
  return { accounts: balances.size, earners: earned.size, liveRooms: [...rooms.values()].filter((room) => room.keptSec === null).length,
    recentlyClosedRooms: [...rooms.values()].filter((room) => room.keptSec !== null).length, carries: carries.size, idempotencyRecords, unflushedEntriesIncluded: unflushed.length };
}

async function writeHotState(redis: Redis, keys: WalletKeys, balances: Counts, earned: Counts, carries: Map<string, string>,
  replays: { meta: Record<string, unknown>; kind: string; ageSec: number }[], adminFreezes: Map<string, string>): Promise<number> {
  const chunk = <T>(items: T[], size: number) => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, i * size + size));
  await redis.del(keys.balances, keys.earned, keys.carries, keys.frozen);
  for (const part of chunk([...balances].filter(([, v]) => v !== 0n), 1000)) await redis.hset(keys.balances, ...part.flatMap(([k, v]) => [k, String(v)]));
  // Frozen while an admin's freeze stands or the user owes coins (server/services/wallet-freezes.ts):
  // the one from its table, the other derived from the ledger; an admin's reason first.
  const frozen = new Map([...balances].filter(([account, v]) => account.startsWith('debt:') && v < 0n)
    .map(([account, v]) => [account.slice('debt:'.length), debtFreezeReason(-v)]));
  for (const [userId, reason] of adminFreezes) frozen.set(userId, reason);
  for (const part of chunk([...frozen], 1000)) await redis.hset(keys.frozen, ...part.flat());
  for (const part of chunk([...earned], 1000)) await redis.hset(keys.earned, ...part.flatMap(([k, v]) => [k, String(v)]));
  for (const part of chunk([...carries], 1000)) await redis.hset(keys.carries, ...part.flatMap(([k, v]) => [k, v]));
  let restored = 0;
  for (const part of chunk(replays, 1000)) {
    const pipeline = redis.pipeline();
    for (const { meta, kind, ageSec } of part) {
      const ttl = Math.floor(limits.idempotencyWindowSec - ageSec);
      if (ttl <= 0) continue;
      const key = kind === 'gift'
        ? keys.giftIdempotency(String(meta.senderId), String(meta.requestId))
        : keys.operationIdempotency(String(meta.idempotencyKey));
      pipeline.set(key, String(meta.replayRecord), 'EX', ttl);
      restored += 1;
    }
    await pipeline.exec();
  }
  return restored;
}

/** New stream ids must sort after every id already in the ledger: reconcile relies on it. */
async function restoreJournalPosition(redis: Redis, sql: Sql, keys: WalletKeys): Promise<void> {
  try {
    await redis.xgroup('CREATE', keys.journal, flusherGroup, '0', 'MKSTREAM');
  } catch (error) {
    if (!(error instanceof Error && error.message.includes('BUSYGROUP'))) throw error;
  }
  const [last] = await sql<{ ms: string | null; seq: string | null }[]>`
    select stream_ms::text as ms, stream_seq::text as seq from journal_entries order by stream_ms desc nulls last, stream_seq desc limit 1`;
  if (last?.ms === null || last?.ms === undefined) return;
  const [newest] = await redis.xrevrange(keys.journal, '+', '-', 'COUNT', 1);
  const ledgerId = `${last.ms}-${last.seq}`;
  if (newest === undefined || compareStreamIds(newest[0], ledgerId) < 0) {
    const info = await redis.xinfo('STREAM', keys.journal) as unknown[];
    const lastGenerated = String(info[info.indexOf('last-generated-id') + 1]);
    if (compareStreamIds(lastGenerated, ledgerId) < 0) await redis.xsetid(keys.journal, ledgerId);
  }
}
