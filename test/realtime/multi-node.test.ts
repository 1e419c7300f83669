import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Socket } from 'socket.io-client';
import type { RunningServer } from '../../server/server.js';
import { uniqueId } from '../helpers/env.js';
import { connectAs, grant, http, openRoom, request, requestId, startTestServer, token } from '../helpers/harness.js';
import { limits } from '../../domain/limits.js';
import { NodeRelay } from '../../realtime/node-relay.js';

// Two gateway nodes on one Redis and one PostgreSQL: a member on either node sees every gift
// of the room, once, and a user's updates reach their connections on the other node.
interface Context { a: RunningServer; b: RunningServer; sockets: Socket[] }
const nodes = suite<Context>('two gateway nodes', { sockets: [] } as unknown as Context);

nodes.before(async (ctx) => {
  ctx.a = await startTestServer({ flusherName: 'node-a' });
  // B waits until A has counted it; A learns of B at its next heartbeat, so give it one.
  ctx.b = await startTestServer({ flusherName: 'node-b' });
  await new Promise((resolve) => setTimeout(resolve, 1_200));
});
nodes.after(async (ctx) => {
  for (const socket of ctx.sockets) socket.close();
  await ctx.b.stop();
  await ctx.a.stop();
});

interface Columns { roomId: string; giftEventIds: string[] }

function collect<T>(socket: Socket, event: string): T[] {
  const seen: T[] = [];
  socket.on(event, (payload: T) => seen.push(payload));
  return seen;
}

async function until(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

nodes('gifts charged on one node reach the room on both, once; wallet, earnings and leaderboards cross too', async (ctx) => {
  const streamer = uniqueId('streamer');
  const sender = uniqueId('fan');
  const roomId = await openRoom(ctx.a, streamer);
  await grant(ctx.a, sender, 1_000);

  const onA = await connectAs(ctx.a, sender);
  const senderOnB = await connectAs(ctx.b, sender);
  const watcherOnB = await connectAs(ctx.b, uniqueId('watch'));
  const rowsOnB = await connectAs(ctx.b, uniqueId('rows'));
  const watcherOnA = await connectAs(ctx.a, uniqueId('watch'));
  const streamerOnB = await connectAs(ctx.b, streamer, 'streamer');
  ctx.sockets.push(onA, senderOnB, watcherOnB, rowsOnB, watcherOnA, streamerOnB);
  for (const [socket, batch] of [[onA, 'columns'], [watcherOnB, 'columns'], [rowsOnB, true], [watcherOnA, 'columns']] as const) {
    assert.ok((await request(socket, 'room:join', { roomId, batch })).ok);
  }
  const columnsB = collect<Columns>(watcherOnB, 'giftColumns');
  const rowsB = collect<{ gifts: unknown[][] }>(rowsOnB, 'gifts');
  const columnsA = collect<Columns>(watcherOnA, 'giftColumns');
  const walletsB = collect<{ balance: number; reason: string }>(senderOnB, 'wallet');
  const earningsB = collect<{ giftEventId: string; delta: number }>(streamerOnB, 'earnings');
  const boardsB = collect<{ top: { userId: string; coins: number }[] }>(watcherOnB, 'leaderboard');

  const sent: string[] = [];
  for (let i = 0; i < 5; i += 1) {
    const ack = await request(onA, 'gift:send', { requestId: requestId(), roomId, giftId: 'heart', count: 1 });
    assert.ok(ack.ok, JSON.stringify(ack));
    sent.push(String(ack.giftEventId));
  }
  const ids = (frames: Columns[]) => frames.flatMap((frame) => frame.giftEventIds);
  await until(() => ids(columnsB).length >= 5 && rowsB.flatMap((f) => f.gifts).length >= 5 && ids(columnsA).length >= 5, 'the gifts on both nodes');
  const giftWallets = () => walletsB.filter((w) => w.reason === 'gift');
  await until(() => earningsB.length >= 5 && giftWallets().length >= 5, 'wallet and earnings on node B');
  await until(() => boardsB.some((board) => board.top.some((entry) => entry.userId === sender && entry.coins === 25)), 'the leaderboard on node B');
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(ids(columnsB), sent, 'node B: every gift, once, in charge order');
  assert.equal(rowsB.flatMap((frame) => frame.gifts.map((row) => row[0])), sent);
  assert.equal(ids(columnsA), sent, 'node A: every gift, once');
  assert.equal(earningsB.map((e) => e.giftEventId), sent);
  assert.equal(giftWallets().map((w) => w.balance), [995, 990, 985, 980, 975]);

  // Stray entries in the relay's stream are skipped, and delivery goes on.
  for (const stray of [['x', 'no body'], ['n', 'someone', 'b', '{not json'], ['n', 'someone', 'b', '{"gifts":5}'], ['b', 'null']]) {
    await ctx.a.ctx.redis.xadd(ctx.a.ctx.wallets.keys.gatewayRelay, '*', ...stray);
  }

  // An update from HTTP on node B (a grant) reaches the sender's connection on node A.
  const walletsA = collect<{ balance: number }>(onA, 'wallet');
  await grant(ctx.b, sender, 25);
  await until(() => walletsA.some((w) => w.balance === 1_000), 'the grant on node A');
});

nodes('peers are the other relaying gateways: not this node, not a solo server (GATEWAY_RELAY=off)', async (ctx) => {
  const redis = ctx.a.ctx.redis;
  const stream = `${ctx.a.ctx.wallets.keys.gatewayRelay}-unit`;
  const relaying = new NodeRelay(redis, redis.duplicate(), stream, 'n1', () => {}, { tickMs: 1_000 });
  const solo = new NodeRelay(redis, null, stream, 'n9', () => {}, { tickMs: 1_000 });
  try {
    assert.equal([relaying.gatewayName, solo.gatewayName], ['n1', 'solo:n9']);
    relaying.seeGateways(['n1', 'solo:n9']);
    assert.is(relaying.shared, false, 'itself and a solo server are no peers');
    relaying.seeGateways(['n1', 'solo:n9', 'n2']);
    assert.is(relaying.shared, true);
    solo.seeGateways(['n1', 'n2', 'solo:n9']);
    assert.is(solo.shared, false, 'a solo server never relays');
    relaying.seeGateways([]);
    assert.is(relaying.shared, false, 'the peer has gone');
  } finally {
    await relaying.stop();
    await solo.stop();
  }
});

/** A room opened through node A, and a fan with 100 coins connected to node B. */
async function roomOnAFanOnB(ctx: Context) {
  const streamer = uniqueId('streamer');
  const roomId = await openRoom(ctx.a, streamer);
  const sender = uniqueId('fan');
  await grant(ctx.a, sender, 100);
  const onB = await connectAs(ctx.b, sender);
  ctx.sockets.push(onB);
  return { streamer, roomId, onB };
}

nodes('a room closed through one node: members on the other are told at once, and it takes no more gifts or joins there', async (ctx) => {
  const { streamer, roomId, onB } = await roomOnAFanOnB(ctx);
  const watcherOnB = await connectAs(ctx.b, uniqueId('watch'));
  ctx.sockets.push(watcherOnB);
  for (const socket of [onB, watcherOnB]) assert.ok((await request(socket, 'room:join', { roomId, batch: 'columns' })).ok);
  const seen: string[] = [];
  watcherOnB.onAny((event: string) => seen.push(event));
  const send = () => request(onB, 'gift:send', { requestId: requestId(), roomId, giftId: 'heart', count: 1 });
  assert.ok((await send()).ok, 'node B has the room open');
  const told = new Promise<{ roomId: string }>((resolve) => onB.once('room:closed', resolve));
  const closed = await http(ctx.a, 'POST', `/v1/rooms/${roomId}/close`, { bearer: await token(streamer, 'streamer') });
  assert.is(closed.status, 200);
  assert.is((await told).roomId, roomId);
  // Told through the relay, so well before its recheck of the room: refused at once.
  const after = await send();
  assert.is(after.error?.code, 'UNKNOWN_ROOM', JSON.stringify(after));
  const late = await connectAs(ctx.b, uniqueId('late'));
  ctx.sockets.push(late);
  assert.is((await request(late, 'room:join', { roomId })).error?.code, 'UNKNOWN_ROOM');
  assert.equal(await request(onB, 'wallet:get', {}), { ok: true, balance: 95, frozen: false });
  await until(() => seen.includes('room:closed'), 'room:closed for the watcher on B');
  assert.equal(seen.filter((event) => event !== 'leaderboard'), ['giftColumns', 'room:closed'], 'the gift, then the close');
});

nodes('a room closed without a word through the relay is found closed on the other node within the recheck interval', async (ctx) => {
  const { streamer, roomId, onB } = await roomOnAFanOnB(ctx);
  assert.ok((await request(onB, 'room:join', { roomId })).ok);
  const send = () => request(onB, 'gift:send', { requestId: requestId(), roomId, giftId: 'heart', count: 1 });
  assert.ok((await send()).ok, 'node B has the room open in its cache');
  // Closed as by a node whose relay batch never reached Redis: only the record says so.
  const closed = await ctx.a.ctx.sql`update rooms set closed_at = now() where id = ${roomId} and streamer_id = ${streamer}`;
  assert.is(closed.count, 1);
  await new Promise((resolve) => setTimeout(resolve, limits.roomRecheckMs));
  // The recheck runs beside the gifts, not in front of them: one or two may still pass while it asks.
  let charged = 1;
  const deadline = Date.now() + 1_000;
  let last = await send();
  while (last.ok && Date.now() < deadline) {
    charged += 1;
    await new Promise((resolve) => setTimeout(resolve, 20));
    last = await send();
  }
  assert.is(last.error?.code, 'UNKNOWN_ROOM', JSON.stringify(last));
  assert.ok(charged <= 3, `${charged} gifts charged in all`);
  const late = await connectAs(ctx.b, uniqueId('late'));
  ctx.sockets.push(late);
  assert.is((await request(late, 'room:join', { roomId })).error?.code, 'UNKNOWN_ROOM');
  assert.equal(await request(onB, 'wallet:get', {}), { ok: true, balance: 100 - 5 * charged, frozen: false });
});

nodes("a sender's gift rate is counted across nodes, not per node", async () => {
  const limitedA = await startTestServer({ flusherName: 'rate-a', giftsPerSecondPerUser: 1, giftBurstPerUser: 3 });
  const limitedB = await startTestServer({ flusherName: 'rate-b', giftsPerSecondPerUser: 1, giftBurstPerUser: 3 });
  const sockets: Socket[] = [];
  try {
    const roomId = await openRoom(limitedA, uniqueId('streamer'));
    const sender = uniqueId('fan');
    await grant(limitedA, sender, 100);
    const [onA, onB] = [await connectAs(limitedA, sender), await connectAs(limitedB, sender)] as [Socket, Socket];
    sockets.push(onA, onB);
    for (const socket of sockets) assert.ok((await request(socket, 'room:join', { roomId })).ok);
    const send = (socket: Socket) => request(socket, 'gift:send', { requestId: requestId(), roomId, giftId: 'heart', count: 1 });
    // Three at once on each node: each node's own bucket would let all six through.
    const acks = await Promise.all([onA, onA, onA, onB, onB, onB].map(send));
    const charged = acks.filter((ack) => ack.ok).length;
    // The burst of three, plus at most one refilled while the six were in flight.
    assert.ok(charged >= 3 && charged <= 4, `${charged} charged: ${JSON.stringify(acks)}`);
    assert.ok(acks.filter((ack) => !ack.ok).every((ack) => ack.error?.code === 'RATE_LIMITED'), JSON.stringify(acks));
    assert.equal(await request(onB, 'wallet:get', {}), { ok: true, balance: 100 - 5 * charged, frozen: false });
  } finally {
    for (const socket of sockets) socket.close();
    await limitedB.stop();
    await limitedA.stop();
  }
});

nodes('a node whose relay connection drops gets every batch of the gap once it is back', async (ctx) => {
  const redis = ctx.a.ctx.redis;
  const stream = `${ctx.a.ctx.wallets.keys.gatewayRelay}-${uniqueId('gap')}`;
  const readerName = uniqueId('relay-reader');
  const readerConnection = redis.duplicate({ enableOfflineQueue: true, connectionName: readerName });
  readerConnection.on('error', () => {});
  let reconnects = 0;
  readerConnection.on('reconnecting', () => { reconnects += 1; });
  const received: string[] = [];
  const errors: unknown[] = [];
  const reader = new NodeRelay(redis, readerConnection, stream, 'reader', (batch) => {
    received.push(...batch.gifts.map((gift) => gift.giftEventId));
  }, { tickMs: 1_000, blockMs: 200, onDeliveryError: (error) => errors.push(error) });
  // The writer appends a batch every 5 ms: a reconnect (~50 ms or more) always spans several.
  const writer = new NodeRelay(redis, redis.duplicate(), stream, 'writer', () => {}, { tickMs: 5 });
  try {
    await reader.start();
    writer.seeGateways(['writer', 'reader']);
    const sent: string[] = [];
    const gift = (i: number): void => {
      const giftEventId = `g${i}`;
      sent.push(giftEventId);
      writer.gift({ giftEventId, roomId: 'r', senderId: 's', giftId: 'heart', count: 1, coins: 5, combo: 1, at: Date.now() });
    };
    let killed = 0;
    for (let i = 0; i < 600; i += 1) {
      gift(i);
      if (i % 150 === 75) {
        const clients = String(await redis.client('LIST'));
        const id = /id=(\d+) [^\n]*name=(\S+)/g;
        for (const match of clients.matchAll(id)) {
          if (match[2] === readerName) { await redis.client('KILL', 'ID', match[1] as string); killed += 1; }
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    assert.ok(killed >= 3, `the reader's connection was cut ${killed} times`);
    // Each reconnect waits at least 50 ms (ioredis' first retry): ten batches or more were
    // appended while the reader was away, which pub/sub would have dropped.
    assert.ok(reconnects >= 3, `the reader reconnected ${reconnects} times`);
    await until(() => received.length >= sent.length, `all ${sent.length} gifts (got ${received.length})`, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(received, sent, 'every gift, once, in order');
    assert.equal(errors, []);
  } finally {
    await writer.stop();
    await reader.stop();
    await redis.del(stream);
  }
});

nodes.run();
