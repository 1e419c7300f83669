import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connectClient, type Socket } from 'socket.io-client';
import type { GiftColumns, GiftEvent, LeaderboardEvent } from '../../realtime/events.js';
import { MembersEmitter } from '../../realtime/members-emit.js';
import type { Io } from '../../realtime/handlers/context.js';
import { textFrame } from '../../realtime/raw-frames.js';
import { RoomBroadcaster, roomChannel } from '../../realtime/room-broadcaster.js';
import { limits } from '../../domain/limits.js';

// The broadcaster writes `gifts` frames straight to TCP sockets: a real Socket.IO client
// must read them exactly as Socket.IO's own frames, at every frame size, in order.

interface Context { http: HttpServer; io: Io; broadcaster: RoomBroadcaster; client: Socket; serverSocketId: string }
const broadcast = suite<Context>('room broadcaster frames', {} as Context);

broadcast.before(async (ctx) => {
  ctx.http = createServer();
  ctx.io = new Server(ctx.http, { transports: ['websocket'] }) as Io;
  // A long tick: each test flushes by hand.
  ctx.broadcaster = new RoomBroadcaster(ctx.io, 60_000);
  const joined = new Promise<string>((resolve) => ctx.io.on('connection', (socket) => {
    // Both batch channels at once (the gateway allows one): each frame is checked against the other.
    void socket.join([roomChannel('r1', 'rows'), roomChannel('r1', 'columns')]);
    resolve(socket.id);
  }));
  await new Promise<void>((resolve) => ctx.http.listen(0, '127.0.0.1', resolve));
  const { port } = ctx.http.address() as AddressInfo;
  ctx.client = connectClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false, forceNew: true });
  ctx.serverSocketId = await joined;
});

broadcast.after(async (ctx) => {
  ctx.broadcaster.stop();
  ctx.client.close();
  await new Promise<void>((resolve) => { ctx.io.close(() => resolve()); });
});

const gift = (i: number): GiftEvent => ({
  giftEventId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, roomId: 'r1', senderId: `sender-${i % 7}`,
  giftId: 'rosé', count: 1 + (i % 3), coins: 10 * (1 + (i % 3)), combo: 1 + (i % 5), at: 1_764_000_000_000 + i,
});
const row = (g: GiftEvent) => [g.giftEventId, g.senderId, g.giftId, g.count, g.coins, g.combo, g.at];

function nextBatch(client: Socket): Promise<{ roomId: string; gifts: unknown[][] }> {
  return new Promise((resolve) => client.once('gifts', resolve));
}

function nextColumns(client: Socket): Promise<GiftColumns> {
  return new Promise((resolve) => client.once('giftColumns', resolve));
}

/** The promise, or a failure after 5 s: a frame that never comes fails its test instead of hanging the run. */
function soon<T>(promise: Promise<T>, what: string): Promise<T> {
  const late = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not arrive within 5 s`)), 5_000).unref());
  return Promise.race([promise, late]);
}

/** The protocol's recipe for reading a `giftColumns` frame back into gifts. */
function fromColumns(frame: GiftColumns): GiftEvent[] {
  return frame.giftEventIds.map((giftEventId, i) => ({
    giftEventId, roomId: frame.roomId, senderId: frame.senderIds[frame.senderIndex[i] ?? -1] ?? '?',
    giftId: frame.giftIds[frame.giftIndex[i] ?? -1] ?? '?', count: frame.count[i] ?? 0, coins: frame.coins[i] ?? 0,
    combo: frame.combo[i] ?? 0, at: frame.at + (frame.atOffset[i] ?? NaN),
  }));
}

broadcast('a frame header carries each length form (7-bit, 16-bit, 64-bit), and UTF-8 bytes are counted, not characters', () => {
  assert.equal([...textFrame('hi')], [0x81, 2, 0x68, 0x69]);
  const medium = textFrame('é'.repeat(100));
  assert.equal([...medium.subarray(0, 4)], [0x81, 126, 0, 200]);
  assert.is(medium.length, 204);
  const large = textFrame('x'.repeat(70_000));
  assert.equal([...large.subarray(0, 10)], [0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
  assert.is(large.length, 70_010);
});

for (const count of [1, 40, 1_500]) {
  broadcast(`a real client reads a ${count}-gift frame whole and in order`, async (ctx) => {
    const received = nextBatch(ctx.client);
    const receivedColumns = nextColumns(ctx.client);
    const gifts = Array.from({ length: count }, (_, i) => gift(i));
    for (const g of gifts) ctx.broadcaster.enqueue(g);
    ctx.broadcaster.flush();
    const batch = await received;
    assert.is(batch.roomId, 'r1');
    assert.equal(batch.gifts, gifts.map(row));
    const columns = await receivedColumns;
    assert.equal(fromColumns(columns), gifts);
    // Tables name each sender and gift once.
    assert.is(columns.senderIds.length, new Set(gifts.map((g) => g.senderId)).size);
    assert.equal(columns.giftIds, ['rosé']);
  });
}

broadcast('a room whose queue reaches its cap within a tick is sent it at once; the next gift waits for the tick', async (ctx) => {
  const received = nextBatch(ctx.client);
  const gifts = Array.from({ length: limits.broadcastQueueMaxPerRoom }, (_, i) => gift(i));
  for (const g of gifts) ctx.broadcaster.enqueue(g);
  // The tick is a minute long here: only the cap can have sent this frame.
  assert.is((await soon(received, 'the full queue')).gifts.length, gifts.length);
  const next = nextBatch(ctx.client);
  ctx.broadcaster.enqueue(gift(gifts.length));
  ctx.broadcaster.flush();
  assert.equal((await next).gifts, [row(gift(gifts.length))]);
});

broadcast('a member who takes gifts one by one gets every gift of a tick as its own `gift` event, in order', async (ctx) => {
  const serverSocket = ctx.io.sockets.sockets.get(ctx.serverSocketId);
  assert.ok(serverSocket);
  await serverSocket.join(roomChannel('r1', 'single'));
  const gifts = [gift(1), gift(2), gift(3)];
  const singles = new Promise<GiftEvent[]>((resolve) => {
    const seen: GiftEvent[] = [];
    const onGift = (event: GiftEvent) => {
      seen.push(event);
      if (seen.length === gifts.length) { ctx.client.off('gift', onGift); resolve(seen); }
    };
    ctx.client.on('gift', onGift);
  });
  const frames = Promise.all([nextBatch(ctx.client), nextColumns(ctx.client)]);
  for (const g of gifts) ctx.broadcaster.enqueue(g);
  ctx.broadcaster.flush();
  assert.equal(await soon(singles, 'every single gift'), gifts);
  await frames;
  await serverSocket.leave(roomChannel('r1', 'single'));
});

/** Records the client's events in arrival order until `count` have arrived: `wallet` by its reason, others by name. */
function record(client: Socket, count: number): Promise<string[]> {
  const order: string[] = [];
  return new Promise((resolve) => {
    const onAny = (event: string, payload: { reason?: string }) => {
      order.push(event === 'wallet' ? payload.reason ?? '?' : event);
      if (order.length === count) {
        client.offAny(onAny);
        resolve(order);
      }
    };
    client.onAny(onAny);
  });
}

const wallet = (reason: string) => ({ balance: 1, frozen: false, reason });
const board = (roomId: string): LeaderboardEvent => ({ roomId, top: [{ userId: 'u', coins: 1 }], at: 1 });

broadcast('a frame never overtakes packets the connection already queued', async (ctx) => {
  const serverSocket = ctx.io.sockets.sockets.get(ctx.serverSocketId);
  assert.ok(serverSocket);
  // The first emit goes to the wire; the second waits in engine.io's queue for the first
  // write's callback, so a frame written now must take the queued path behind it.
  const emitter = new MembersEmitter(ctx.io);
  const order = record(ctx.client, 4);
  serverSocket.emit('wallet', wallet('first'));
  serverSocket.emit('wallet', wallet('queued'));
  emitter.emit(new Set([ctx.serverSocketId]), 'leaderboard', board('r1'));
  emitter.flush();
  serverSocket.emit('wallet', wallet('last'));
  assert.equal(await order, ['first', 'queued', 'leaderboard', 'last']);
});

broadcast('a room\'s frames keep their order: gift frames, then the leaderboard sent after them', async (ctx) => {
  const order = record(ctx.client, 3);
  ctx.broadcaster.enqueue(gift(1));
  ctx.broadcaster.flush();
  ctx.broadcaster.emitToRoom('r1', 'leaderboard', board('r1'));
  assert.equal(await order, ['gifts', 'giftColumns', 'leaderboard']);
});

broadcast('writes spread over event-loop turns still reach every member once, in order', async (ctx) => {
  const emitter = new MembersEmitter(ctx.io, 1);
  const order = record(ctx.client, 3);
  const members = new Set([ctx.serverSocketId, 'no-such-socket']);
  for (const id of ['a', 'b', 'c']) emitter.emit(members, 'leaderboard', board(id));
  const seen: string[] = [];
  ctx.client.on('leaderboard', (event: LeaderboardEvent) => seen.push(event.roomId));
  assert.equal(await order, ['leaderboard', 'leaderboard', 'leaderboard']);
  ctx.client.off('leaderboard');
  assert.equal(seen, ['a', 'b', 'c']);
});

broadcast('frames are counted per member written: a member that has left is not counted', async (ctx) => {
  const counted: Record<string, number> = {};
  const count = (event: string, members: number) => { counted[event] = (counted[event] ?? 0) + members; };
  const emitter = new MembersEmitter(ctx.io, 1, count);
  const order = record(ctx.client, 3);
  for (const id of ['a', 'b', 'c']) emitter.emit(new Set([ctx.serverSocketId, 'no-such-socket']), 'leaderboard', board(id));
  await order;
  assert.equal(counted, { leaderboard: 3 });

  const broadcaster = new RoomBroadcaster(ctx.io, 60_000, count);
  const frames = record(ctx.client, 2);
  broadcaster.enqueue(gift(1));
  broadcaster.enqueue(gift(2));
  broadcaster.stop();
  await frames;
  // One member in each batch channel: one frame each, however many gifts they carry.
  assert.equal(counted, { leaderboard: 3, gifts: 1, giftColumns: 1 });
});

broadcast.run();
