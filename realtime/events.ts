import type { WireError } from '../domain/errors.js';
import type { TokenBucket } from '../domain/rate-limit.js';

export type Ack<T> = (reply: ({ ok: true } & T) | { ok: false; error: WireError }) => void;

export interface RoomJoined { roomId: string; streamerId: string }
export interface GiftAck { giftEventId: string; charged: number; balance: number; combo: number }
export interface WalletAck { balance: number; frozen: boolean }

// Payloads from clients are untrusted: typed unknown here, narrowed by realtime/validate.ts.
export interface ClientToServerEvents {
  'room:join': (payload: unknown, ack: unknown) => void;
  'room:leave': (payload: unknown, ack: unknown) => void;
  'gift:send': (payload: unknown, ack: unknown) => void;
  'wallet:get': (payload: unknown, ack: unknown) => void;
  /** Only with BENCH_HANDLERS=1: acks at once, for the benchmarks' ack-only ceiling. */
  'bench:ack': (payload: unknown, ack: unknown) => void;
}

export interface GiftEvent {
  giftEventId: string;
  roomId: string;
  senderId: string;
  giftId: string;
  count: number;
  coins: number;
  combo: number;
  at: number;
}

/** Columns of a `gifts` row, in order; the room is named once per frame. */
export const giftBatchFields = ['giftEventId', 'senderId', 'giftId', 'count', 'coins', 'combo', 'at'] as const;
export type GiftBatchRow = [giftEventId: string, senderId: string, giftId: string, count: number, coins: number, combo: number, at: number];
/** Compact: field names once per frame, one array per gift (half the bytes of gift objects). */
export interface GiftBatch { roomId: string; fields: typeof giftBatchFields; gifts: GiftBatchRow[] }
/**
 * The same gifts as columns, for big rooms: ids are named once per frame in tables, the
 * numbers are flat arrays. Gift i is giftEventIds[i], senderIds[senderIndex[i]],
 * giftIds[giftIndex[i]], count[i], coins[i], combo[i], at + atOffset[i].
 */
export interface GiftColumns {
  roomId: string;
  at: number;
  giftEventIds: string[];
  senderIds: string[];
  giftIds: string[];
  senderIndex: number[];
  giftIndex: number[];
  count: number[];
  coins: number[];
  combo: number[];
  atOffset: number[];
}
export interface WalletEvent { balance: number; frozen: boolean; reason: string }
/** `total` lifetime, `balance` unsettled, `month` this calendar month (UTC), `room` in this room; all coins. */
export interface EarningsEvent { giftEventId: string; roomId: string; delta: number; total: number; balance: number; month: number; room: number }
export interface LeaderboardEntry { userId: string; coins: number }
/** A room's top gifters since it opened, exact against the ledger; `at` is when it was read. */
export interface LeaderboardEvent { roomId: string; top: LeaderboardEntry[]; at: number }
/** The room's streamer closed it, at `at` (ms): no more gifts or joins; members are out of it. */
export interface RoomClosedEvent { roomId: string; at: number }

export interface ServerToClientEvents {
  gift: (event: GiftEvent) => void;
  /** For sockets that joined with `batch: true`: every gift since the last tick, in one frame. */
  gifts: (batch: GiftBatch) => void;
  /** For sockets that joined with `batch: 'columns'`: every gift since the last tick, as columns. */
  giftColumns: (frame: GiftColumns) => void;
  wallet: (event: WalletEvent) => void;
  earnings: (event: EarningsEvent) => void;
  leaderboard: (event: LeaderboardEvent) => void;
  /** After the room's last gift frame: the room has closed and this connection is no longer in it. */
  'room:closed': (event: RoomClosedEvent) => void;
  /** The token's `exp` has come: sent once, just before the server ends the connection. */
  'session:expired': (error: WireError) => void;
}

export interface SocketData {
  userId: string;
  role: string;
  /** False when the client asked (handshake `walletEcho: false`) to take its own gifts' balances from the acks only. */
  walletEcho: boolean;
  /** roomId -> streamerId for the rooms this socket joined. */
  rooms: Map<string, string>;
  /** Rooms this socket was in when they closed (the latest few): their gifts answer UNKNOWN_ROOM, not NOT_IN_ROOM. */
  closedRooms: Set<string>;
  /** The token's `exp` in ms (infinite without one): the connection ends then. */
  expiresAtMs: number;
  /** This connection's rate for requests other than gift:send. */
  requests: TokenBucket;
}
