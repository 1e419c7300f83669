import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Socket } from 'socket.io-client';
import type { RunningServer } from '../../server/server.js';
import { rejects } from '../helpers/assert.js';
import { uniqueId } from '../helpers/env.js';
import { GiftStorm } from '../helpers/gift-storm.js';
import { reconcile, type ReconcileReport } from '../../server/services/reconcile.js';
import {
  connectAs, flushAndReconcile, grant, http, nextEvent, openRoom, request, requestId, startTestServer, token, whileRedisIsFull,
} from '../helpers/harness.js';

interface Context { server: RunningServer; sockets: Socket[] }
const gifts = suite<Context>('gift:send', { server: undefined as unknown as RunningServer, sockets: [] });

gifts.before(async (ctx) => {
  ctx.server = await startTestServer();
});
gifts.after.each((ctx) => {
  for (const socket of ctx.sockets) socket.close();
  ctx.sockets = [];
});
gifts.after(async (ctx) => {
  await ctx.server.stop();
});

async function viewerInRoom(ctx: Context, coins: number, roomId: string, options: { batch?: boolean | 'columns' } = {}) {
  const userId = uniqueId('viewer');
  if (coins > 0) await grant(ctx.server, userId, coins);
  const socket = await connectAs(ctx.server, userId);
  ctx.sockets.push(socket);
  const joined = await request(socket, 'room:join', { roomId, ...options });
  assert.ok(joined.ok, JSON.stringify(joined));
  return { userId, socket };
}

/** room_frames_total by event. */
async function framesSent(server: RunningServer): Promise<Record<'gift' | 'gifts' | 'giftColumns', number>> {
  const { values } = await server.ctx.metrics.roomFrames.get();
  const of = (event: string) => values.find((v) => v.labels.event === event)?.value ?? 0;
  return { gift: of('gift'), gifts: of('gifts'), giftColumns: of('giftColumns') };
}

gifts('a gift is charged once, acked with the contract fields, and appears in the ledger', async (ctx) => {
  const streamerId = uniqueId('streamer');
  const roomId = await openRoom(ctx.server, streamerId);
  const { userId, socket } = await viewerInRoom(ctx, 1000, roomId);
  const ack = await request(socket, 'gift:send', { requestId: requestId(), roomId, giftId: 'crown', count: 3 });
  assert.is(ack.ok, true);
  assert.is(ack.charged, 300);
  assert.is(ack.balance, 700);
  assert.is(ack.combo, 1);
  assert.type(ack.giftEventId, 'string');
  const wallet = await request(socket, 'wallet:get', {});
  assert.equal(wallet, { ok: true, balance: 700, frozen: false });
  const report = await flushAndReconcile(ctx.server);
  assert.ok(report.ok, JSON.stringify(report));
  const entries = await http<{ entries: { kind: string; amount: number; entryId: string; meta: Record<string, unknown> }[] }>(ctx.server, 'GET', '/v1/wallet/entries', { bearer: await token(userId, 'viewer') });
  assert.equal(entries.body.entries[0]?.meta, { roomId, giftId: 'crown', count: 3, senderId: userId, streamerId }, 'internal meta (carries, replay record) must not leak');
  assert.equal(entries.body.entries.map((e) => [e.kind, e.amount]), [['gift', -300], ['grant', 1000]]);
  assert.is(entries.body.entries[0]?.entryId, ack.giftEventId);
  const [split] = await ctx.server.ctx.sql<{ account_id: string; amount: bigint }[]>`
    select account_id, amount from postings where entry_id = ${String(ack.giftEventId)}::uuid and account_id = ${`earnings:${streamerId}`}`;
  assert.is(split?.amount, 210n);
  // The entry id is a time-ordered UUID (version 7) that begins with the charge time.
  const giftEventId = String(ack.giftEventId);
  assert.match(giftEventId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const [entry] = await ctx.server.ctx.sql<{ created_ms: string }[]>`
    select round(extract(epoch from created_at) * 1000)::text as created_ms from journal_entries where id = ${giftEventId}::uuid`;
  assert.is(parseInt(giftEventId.slice(0, 8) + giftEventId.slice(9, 13), 16), Number(entry?.created_ms));
});

gifts('500 concurrent sends with funds for exactly 300: 300 succeed, the rest are INSUFFICIENT_FUNDS, balance 0', async (ctx) => {
  const roomId = await openRoom(ctx.server, uniqueId('streamer'));
  const { socket } = await viewerInRoom(ctx, 300, roomId);
  const acks = await Promise.all(Array.from({ length: 500 }, () =>
    request(socket, 'gift:send', { requestId: requestId(), roomId, giftId: 'rose', count: 1 })));
  assert.is(acks.filter((a) => a.ok).length, 300);
  assert.ok(acks.filter((a) => !a.ok).every((a) => a.error?.code === 'INSUFFICIENT_FUNDS'));
  assert.equal(await request(socket, 'wallet:get', {}), { ok: true, balance: 0, frozen: false });
  const report = await flushAndReconcile(ctx.server);
  assert.ok(report.ok, JSON.stringify(report.mismatches));
});

gifts('the same requestId sent 20 times concurrently charges once and answers the first ack each time', async (ctx) => {
  const roomId = await openRoom(ctx.server, uniqueId('streamer'));
  const { socket } = await viewerInRoom(ctx, 100, roomId);
  const id = requestId();
  const acks = await Promise.all(Array.from({ length: 20 }, () =>
    request(socket, 'gift:send', { requestId: id, roomId, giftId: 'heart', count: 2 })));
  assert.ok(acks.every((a) => a.ok));
  assert.is(new Set(acks.map((a) => a.giftEventId)).size, 1);
  assert.ok(acks.every((a) => a.balance === 90 && a.charged === 10));
  assert.equal(await request(socket, 'wallet:get', {}), { ok: true, balance: 90, frozen: false });
  const other = await request(socket, 'gift:send', { requestId: id, roomId, giftId: 'heart', count: 3 });
  assert.is(other.error?.code, 'INVALID_ARGUMENT');
  assert.equal(await request(socket, 'wallet:get', {}), { ok: true, balance: 90, frozen: false });
});

gifts('combo counts the same gift in a row; another gift starts over', async (ctx) => {
  const roomId = await openRoom(ctx.server, uniqueId('streamer'));
  const { socket } = await viewerInRoom(ctx, 100, roomId);
  const send = (giftId: string) => request(socket, 'gift:send', { requestId: requestId(), roomId, giftId, count: 1 });
  const combos = [];
  for (const giftId of ['rose', 'rose', 'rose', 'heart', 'rose']) combos.push((await send(giftId)).combo);
  assert.equal(combos, [1, 2, 3, 1, 1]);
});

gifts('other members receive gift, batch members receive gifts, the streamer receives earnings outside the room', async (ctx) => {
  const streamerId = uniqueId('streamer');
  const roomId = await openRoom(ctx.server, streamerId);
  const sender = await viewerInRoom(ctx, 1000, roomId);
  const watcher = await viewerInRoom(ctx, 0, roomId);
  const batchWatcher = await viewerInRoom(ctx, 0, roomId, { batch: true });
  const streamer = await connectAs(ctx.server, streamerId, 'streamer');
  ctx.sockets.push(streamer);
  const seen = nextEvent<Record<string, unknown>>(watcher.socket, 'gift');
  const seenBatch = nextEvent<{ roomId: string; fields: string[]; gifts: unknown[][] }>(batchWatcher.socket, 'gifts');
  const earnings = nextEvent<Record<string, unknown>>(streamer, 'earnings');
  const walletPush = nextEvent<Record<string, unknown>>(sender.socket, 'wallet');
  const ack = await request(sender.socket, 'gift:send', { requestId: requestId(), roomId, giftId: 'lollipop', count: 2 });
  assert.ok(ack.ok);
  const gift = await seen;
  assert.equal(gift, { giftEventId: ack.giftEventId, roomId, senderId: sender.userId, giftId: 'lollipop', count: 2, coins: 20, combo: 1, at: gift.at });
  assert.type(gift.at, 'number');
  const batch = await seenBatch;
  assert.is(batch.roomId, roomId);
  assert.equal(batch.fields, ['giftEventId', 'senderId', 'giftId', 'count', 'coins', 'combo', 'at']);
  assert.equal(batch.gifts.map((row) => Object.fromEntries(batch.fields.map((field, i) => [field, row[i]]))), [{ ...gift, roomId: undefined }].map(({ roomId: _room, ...rest }) => rest));
  assert.equal(await earnings, { giftEventId: ack.giftEventId, roomId, delta: 14, total: 14, balance: 14, month: 14, room: 14 });
  assert.equal(await walletPush, { balance: 980, frozen: false, reason: 'gift' });
});

gifts('batch: \'columns\' members receive giftColumns; joining again switches the delivery, never doubles it', async (ctx) => {
  const roomId = await openRoom(ctx.server, uniqueId('streamer'));
  const sender = await viewerInRoom(ctx, 1000, roomId);
  const watcher = await viewerInRoom(ctx, 0, roomId, { batch: 'columns' });
  const seen: string[] = [];
  for (const event of ['gift', 'gifts', 'giftColumns']) watcher.socket.on(event, () => seen.push(event));
  const columns = nextEvent<{ roomId: string; at: number; giftEventIds: string[]; senderIds: string[]; giftIds: string[];
    senderIndex: number[]; giftIndex: number[]; count: number[]; coins: number[]; combo: number[]; atOffset: number[] }>(watcher.socket, 'giftColumns');
  const framesBefore = await framesSent(ctx.server);
  const first = await request(sender.socket, 'gift:send', { requestId: requestId(), roomId, giftId: 'lollipop', count: 2 });
  const frame = await columns;
  // The metric counts one frame per member: the watcher's columns and the sender's own `gift`.
  const framesAfter = await framesSent(ctx.server);
  assert.equal([framesAfter.giftColumns - framesBefore.giftColumns, framesAfter.gift - framesBefore.gift], [1, 1]);
  assert.equal({ ...frame, at: 0 }, { roomId, at: 0, giftEventIds: [first.giftEventId], senderIds: [sender.userId], giftIds: ['lollipop'],
    senderIndex: [0], giftIndex: [0], count: [2], coins: [20], combo: [1], atOffset: [0] });
  assert.type(frame.at, 'number');
  // Switch to rows: the next gift arrives once, as `gifts`.
  assert.ok((await request(watcher.socket, 'room:join', { roomId, batch: true })).ok);
  const rows = nextEvent<{ gifts: unknown[][] }>(watcher.socket, 'gifts');
  const second = await request(sender.socket, 'gift:send', { requestId: requestId(), roomId, giftId: 'rose', count: 1 });
  assert.is((await rows).gifts[0]?.[0], second.giftEventId);
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(seen, ['giftColumns', 'gifts']);
});

gifts('walletEcho: false: the ack is the sending connection\'s wallet update, the user\'s other connections still get the event', async (ctx) => {
  const roomId = await openRoom(ctx.server, uniqueId('streamer'));
  const userId = uniqueId('viewer');
  await grant(ctx.server, userId, 100);
  const quiet = await connectAs(ctx.server, userId, 'viewer', { walletEcho: false });
  const otherDevice = await connectAs(ctx.server, userId);
  ctx.sockets.push(quiet, otherDevice);
  assert.ok((await request(quiet, 'room:join', { roomId })).ok);
  const pushes: unknown[] = [];
  quiet.on('wallet', (event: unknown) => pushes.push(event));
  const elsewhere = nextEvent<Record<string, unknown>>(otherDevice, 'wallet');
  const ack = await request(quiet, 'gift:send', { requestId: requestId(), roomId, giftId: 'rose', count: 3 });
  assert.is(ack.balance, 97);
  assert.equal(await elsewhere, { balance: 97, frozen: false, reason: 'gift' });
  // A change this connection did not ack still arrives on it.
  const granted = nextEvent<Record<string, unknown>>(quiet, 'wallet');
  await grant(ctx.server, userId, 3);
  assert.equal(await granted, { balance: 100, frozen: false, reason: 'grant' });
  assert.equal(pushes, [{ balance: 100, frozen: false, reason: 'grant' }]);
  for (const walletEcho of ['no', 0, null, { x: 1 }]) {
    await rejects(connectAs(ctx.server, userId, 'viewer', { walletEcho }), (error) => error instanceof Error && error.message === 'INVALID_ARGUMENT',
      `walletEcho ${JSON.stringify(walletEcho)}`);
  }
});

gifts('NOT_IN_ROOM, UNKNOWN_ROOM, UNKNOWN_GIFT and a streamer gifting their own room are refused, nothing charged', async (ctx) => {
  const streamerId = uniqueId('streamer');
  const roomId = await openRoom(ctx.server, streamerId);
  const { socket } = await viewerInRoom(ctx, 50, roomId);
  const otherRoom = await openRoom(ctx.server, uniqueId('streamer'));
  const send = (payload: Record<string, unknown>) => request(socket, 'gift:send', { requestId: requestId(), roomId, giftId: 'rose', count: 1, ...payload });
  assert.is((await send({ roomId: otherRoom })).error?.code, 'NOT_IN_ROOM');
  assert.is((await send({ giftId: 'unicorn' })).error?.code, 'UNKNOWN_GIFT');
  assert.is((await request(socket, 'room:join', { roomId: 'r_doesnotexist' })).error?.code, 'UNKNOWN_ROOM');
  assert.is((await request(socket, 'room:leave', { roomId: otherRoom })).error?.code, 'NOT_IN_ROOM');
  await grant(ctx.server, streamerId, 10);
  const streamer = await connectAs(ctx.server, streamerId, 'streamer');
  ctx.sockets.push(streamer);
  await request(streamer, 'room:join', { roomId });
  const own = await request(streamer, 'gift:send', { requestId: requestId(), roomId, giftId: 'rose', count: 1 });
  assert.is(own.error?.code, 'FORBIDDEN');
  assert.equal(await request(socket, 'wallet:get', {}), { ok: true, balance: 50, frozen: false });
  assert.ok((await request(socket, 'room:leave', { roomId })).ok);
  assert.is((await send({})).error?.code, 'NOT_IN_ROOM');
});

gifts('a Redis out of memory refuses a gift with UNAVAILABLE and charges nothing; the same requestId goes through once, after', async (ctx) => {
  const roomId = await openRoom(ctx.server, uniqueId('streamer'));
  const { socket } = await viewerInRoom(ctx, 50, roomId);
  const gift = { requestId: requestId(), roomId, giftId: 'rose', count: 1 };
  await whileRedisIsFull(ctx.server.ctx.redis, async () => {
    const refused = await request(socket, 'gift:send', gift);
    assert.is(refused.error?.code, 'UNAVAILABLE', JSON.stringify(refused));
    assert.equal(await request(socket, 'wallet:get', {}), { ok: true, balance: 50, frozen: false }, 'reads still answer');
  });
  const charged = await request(socket, 'gift:send', gift);
  assert.equal([charged.ok, charged.balance], [true, 49], JSON.stringify(charged));
  assert.equal((await request(socket, 'gift:send', gift)).giftEventId, charged.giftEventId, 'a replay, not a second charge');
  assert.equal(await request(socket, 'wallet:get', {}), { ok: true, balance: 49, frozen: false });
});

gifts('a closed room takes no more gifts', async (ctx) => {
  const streamerId = uniqueId('streamer');
  const roomId = await openRoom(ctx.server, streamerId);
  const { socket } = await viewerInRoom(ctx, 50, roomId);
  const closed = await http(ctx.server, 'POST', `/v1/rooms/${roomId}/close`, { bearer: await token(streamerId, 'streamer') });
  assert.is(closed.status, 200);
  const ack = await request(socket, 'gift:send', { requestId: requestId(), roomId, giftId: 'rose', count: 1 });
  assert.is(ack.error?.code, 'UNKNOWN_ROOM');
  assert.equal(await request(socket, 'wallet:get', {}), { ok: true, balance: 50, frozen: false });
});

gifts('a retry gets the first ack even after the room closed, or from a new connection that is in no room', async (ctx) => {
  const streamerId = uniqueId('streamer');
  const roomId = await openRoom(ctx.server, streamerId);
  const { userId, socket } = await viewerInRoom(ctx, 50, roomId);
  const gift = { requestId: requestId(), roomId, giftId: 'rose', count: 1 };
  const first = await request(socket, 'gift:send', gift);
  assert.ok(first.ok, JSON.stringify(first));
  // The ack was lost with the connection; the app reconnects and retries, and meanwhile the room closed.
  socket.close();
  const closed = await http(ctx.server, 'POST', `/v1/rooms/${roomId}/close`, { bearer: await token(streamerId, 'streamer') });
  assert.is(closed.status, 200);
  const again = await connectAs(ctx.server, userId);
  ctx.sockets.push(again);
  assert.equal(await request(again, 'gift:send', gift), first, 'not in the room, the room closed: still the first ack');
  assert.is((await request(again, 'gift:send', { ...gift, count: 2 })).error?.code, 'INVALID_ARGUMENT', 'the requestId of another gift');
  assert.is((await request(again, 'gift:send', { ...gift, requestId: requestId() })).error?.code, 'NOT_IN_ROOM', 'a new gift');
  assert.equal(await request(again, 'wallet:get', {}), { ok: true, balance: 50 - Number(first.charged), frozen: false });
  // Another user's requestId is not this user's replay.
  const other = await viewerInRoom(ctx, 50, await openRoom(ctx.server, uniqueId('streamer')));
  assert.is((await request(other.socket, 'gift:send', gift)).error?.code, 'NOT_IN_ROOM');
});

gifts('a retry of a gift since taken out of the catalog gets the first ack; a new one answers UNKNOWN_GIFT', async (ctx) => {
  const giftId = `retired-${Math.floor(Math.random() * 1e9)}`;
  await ctx.server.ctx.sql`insert into gifts (id, name, coins) values (${giftId}, 'Retired', 3)`;
  await ctx.server.ctx.catalog.load();
  const roomId = await openRoom(ctx.server, uniqueId('streamer'));
  const { socket } = await viewerInRoom(ctx, 50, roomId);
  const gift = { requestId: requestId(), roomId, giftId, count: 2 };
  const first = await request(socket, 'gift:send', gift);
  assert.equal([first.ok, first.charged, first.balance], [true, 6, 44]);
  await ctx.server.ctx.sql`update gifts set active = false where id = ${giftId}`;
  await ctx.server.ctx.catalog.load();
  assert.equal(await request(socket, 'gift:send', gift), first);
  assert.is((await request(socket, 'gift:send', { ...gift, requestId: requestId() })).error?.code, 'UNKNOWN_GIFT');
  assert.equal(await request(socket, 'wallet:get', {}), { ok: true, balance: 44, frozen: false });
});

gifts('closing a room sends each member its last gifts, then room:closed, and takes them out of it', async (ctx) => {
  const streamerId = uniqueId('streamer');
  const roomId = await openRoom(ctx.server, streamerId);
  const sender = await viewerInRoom(ctx, 50, roomId, { batch: 'columns' });
  const single = await viewerInRoom(ctx, 0, roomId);
  const rows = await viewerInRoom(ctx, 0, roomId, { batch: true });
  const seen = new Map<Socket, string[]>();
  for (const socket of [sender.socket, single.socket, rows.socket]) {
    const events: string[] = [];
    seen.set(socket, events);
    socket.onAny((event: string, payload: { roomId?: string }) => { if (payload.roomId === roomId) events.push(event); });
  }
  const closedEvents = [sender, single, rows].map(({ socket }) => nextEvent<{ roomId: string; at: number }>(socket, 'room:closed'));
  const ack = await request(sender.socket, 'gift:send', { requestId: requestId(), roomId, giftId: 'rose', count: 1 });
  assert.ok(ack.ok);
  // Closed within the gift's tick: its frame has not gone out yet, and must go out first.
  const before = Date.now();
  const closed = await http(ctx.server, 'POST', `/v1/rooms/${roomId}/close`, { bearer: await token(streamerId, 'streamer') });
  assert.is(closed.status, 200);
  for (const event of await Promise.all(closedEvents)) {
    assert.is(event.roomId, roomId);
    assert.ok(event.at >= before - 1_000 && event.at <= Date.now() + 1_000, 'at: when it closed');
  }
  await new Promise((resolve) => setTimeout(resolve, 250));
  assert.equal(seen.get(sender.socket), ['giftColumns', 'room:closed']);
  assert.equal(seen.get(single.socket), ['gift', 'room:closed']);
  assert.equal(seen.get(rows.socket), ['gifts', 'room:closed']);
  // No longer in it: nothing more arrives, a gift answers UNKNOWN_ROOM, leaving is fine once.
  const late = await request(sender.socket, 'gift:send', { requestId: requestId(), roomId, giftId: 'rose', count: 1 });
  assert.is(late.error?.code, 'UNKNOWN_ROOM');
  assert.equal(await request(sender.socket, 'wallet:get', {}), { ok: true, balance: 50 - Number(ack.charged), frozen: false });
  assert.ok((await request(single.socket, 'room:leave', { roomId })).ok);
  assert.is((await request(single.socket, 'room:leave', { roomId })).error?.code, 'NOT_IN_ROOM');
  assert.is((await request(rows.socket, 'room:join', { roomId })).error?.code, 'UNKNOWN_ROOM');
  assert.equal(seen.get(single.socket), ['gift', 'room:closed']);
});

gifts('an admin closes any room (moderation); another streamer or a viewer cannot', async (ctx) => {
  const streamerId = uniqueId('streamer');
  const roomId = await openRoom(ctx.server, streamerId);
  const { socket } = await viewerInRoom(ctx, 0, roomId);
  const told = nextEvent<{ roomId: string }>(socket, 'room:closed');
  const close = async (bearer: string) => http<{ error?: { code: string } }>(ctx.server, 'POST', `/v1/rooms/${roomId}/close`, { bearer });
  assert.is((await close(await token(uniqueId('other'), 'streamer'))).body.error?.code, 'UNKNOWN_ROOM', 'not their room');
  assert.is((await close(await token(uniqueId('v'), 'viewer'))).status, 403);
  assert.is((await close(await token(uniqueId('mod'), 'admin'))).status, 200);
  assert.is((await told).roomId, roomId);
  assert.is((await close(await token(uniqueId('mod'), 'admin'))).body.error?.code, 'UNKNOWN_ROOM', 'closed once');
  assert.is((await request(socket, 'room:join', { roomId })).error?.code, 'UNKNOWN_ROOM');
});

gifts('after everything, the ledger balances and reconcile is clean', async (ctx) => {
  const report = await flushAndReconcile(ctx.server);
  assert.ok(report.ok, JSON.stringify(report));
  assert.is(report.unflushedEntries, 0);
  const [sums] = await ctx.server.ctx.sql<{ total: bigint; unbalanced: bigint }[]>`
    select coalesce(sum(amount), 0)::bigint as total,
           (select count(*) from (select 1 from postings group by entry_id having sum(amount) <> 0) u) as unbalanced
      from postings`;
  assert.is(sums?.total, 0n);
  assert.is(sums?.unbalanced, 0n);
});

gifts('reconciles at once while gifts flow and the journal flushes see no drift that is not there', async (ctx) => {
  const roomId = await openRoom(ctx.server, uniqueId('streamer'));
  const viewers = [uniqueId('v'), uniqueId('v'), uniqueId('v'), uniqueId('v')];
  for (const userId of viewers) await grant(ctx.server, userId, 1_000_000);
  const storm = await GiftStorm.start(ctx.server.url, roomId, viewers);
  const reports: ReconcileReport[] = [];
  const deadline = Date.now() + 2_500;
  // Three reconcilers at once, each checkpoint moving on while the others look.
  await Promise.all([0, 1, 2].map(async () => {
    while (Date.now() < deadline) reports.push(await reconcile(ctx.server.ctx.redis, ctx.server.ctx.sql, ctx.server.ctx.wallets.keys));
  }));
  await storm.stop();
  assert.ok(storm.acked.length > 100, `${storm.acked.length} gifts acked`);
  assert.ok(reports.length >= 6, `${reports.length} reconciles`);
  const drifted = reports.filter((report) => !report.ok);
  assert.is(drifted.length, 0, JSON.stringify(drifted[0]));
  assert.ok(reports.some((report) => report.unflushedEntries > 0), 'some looked while entries were still in the journal');
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

gifts.run();
