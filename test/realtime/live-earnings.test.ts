import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Socket } from 'socket.io-client';
import { limits } from '../../domain/limits.js';
import type { RunningServer } from '../../server/server.js';
import { uniqueId } from '../helpers/env.js';
import { connectAs, grant, ledgerCaughtUp, http, openRoom, request, requestId, startTestServer, token } from '../helpers/harness.js';

interface Context { server: RunningServer; sockets: Socket[] }
const live = suite<Context>('live earnings and leaderboards', { server: undefined as unknown as RunningServer, sockets: [] });

live.before(async (ctx) => { ctx.server = await startTestServer(); });
live.after.each((ctx) => {
  for (const socket of ctx.sockets) socket.close();
  ctx.sockets = [];
});
live.after(async (ctx) => { await ctx.server.stop(); });

interface Board { roomId: string; top: { userId: string; coins: number }[]; at: number }

/** Coins given per sender in a room, counted from the ledger alone. */
async function ledgerGiven(server: RunningServer, roomId: string): Promise<Map<string, number>> {
  await ledgerCaughtUp(server);
  const rows = await server.ctx.sql<{ sender: string; coins: string }[]>`
    select e.meta ->> 'senderId' as sender, (-sum(p.amount))::text as coins
      from journal_entries e join postings p on p.entry_id = e.id and p.account_id = 'wallet:' || (e.meta ->> 'senderId')
     where e.kind = 'gift' and e.meta ->> 'roomId' = ${roomId}
     group by 1`;
  return new Map(rows.map((row) => [row.sender, Number(row.coins)]));
}

live('the room gets its top gifters at a bounded rate, and the last board is exact against the ledger', async (ctx) => {
  const streamerId = uniqueId('streamer');
  const roomId = await openRoom(ctx.server, streamerId);
  const senders = await Promise.all(Array.from({ length: 12 }, async () => {
    const userId = uniqueId('fan');
    await grant(ctx.server, userId, 100_000);
    const socket = await connectAs(ctx.server, userId);
    ctx.sockets.push(socket);
    assert.ok((await request(socket, 'room:join', { roomId })).ok);
    return { userId, socket };
  }));
  const watcher = await connectAs(ctx.server, uniqueId('watcher'));
  ctx.sockets.push(watcher);
  assert.ok((await request(watcher, 'room:join', { roomId, batch: true })).ok);
  const boards: Board[] = [];
  watcher.on('leaderboard', (board: Board) => boards.push(board));

  const started = Date.now();
  const gifts = ['rose', 'heart', 'lollipop', 'crown'];
  await Promise.all(senders.map(async ({ socket }, index) => {
    for (let i = 0; i < 40; i += 1) {
      const ack = await request(socket, 'gift:send', { requestId: requestId(), roomId, giftId: gifts[(index + i) % gifts.length], count: 1 + (index % 3) });
      assert.ok(ack.ok, JSON.stringify(ack));
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
  }));
  const elapsed = Date.now() - started;
  await new Promise((resolve) => setTimeout(resolve, limits.leaderboardIntervalMs * 2 + 200));

  assert.ok(boards.length >= 2, `only ${boards.length} boards`);
  assert.ok(boards.length <= Math.ceil((elapsed + 2 * limits.leaderboardIntervalMs + 200) / limits.leaderboardIntervalMs) + 1, `${boards.length} boards in ${elapsed} ms`);
  for (let i = 1; i < boards.length; i += 1) {
    assert.ok((boards[i]?.at ?? 0) - (boards[i - 1]?.at ?? 0) >= limits.leaderboardIntervalMs * 0.8, 'boards closer than the interval');
  }
  const last = boards[boards.length - 1];
  assert.is(last?.roomId, roomId);
  assert.is(last?.top.length, limits.leaderboardSize);
  const given = await ledgerGiven(ctx.server, roomId);
  // Every sender on the board with exactly the coins the ledger shows, highest first, and
  // nobody left off who gave more than the last place (ties may list in either order).
  for (const entry of last?.top ?? []) assert.is(entry.coins, given.get(entry.userId), `${entry.userId} on the board`);
  const coins = last?.top.map((entry) => entry.coins) ?? [];
  assert.equal(coins, [...coins].sort((a, b) => b - a));
  assert.equal(coins, [...given.values()].sort((a, b) => b - a).slice(0, limits.leaderboardSize));
});

live('GET /v1/streamers/me/earnings: live figures, periods, rooms and the live session, under an agency contract', async (ctx) => {
  const streamerId = uniqueId('streamer');
  const admin = await token('admin-live', 'admin');
  const agencyId = uniqueId('guild');
  assert.is((await http(ctx.server, 'PUT', `/v1/admin/agencies/${agencyId}`, { bearer: admin, body: { name: 'Guild' } })).status, 200);
  assert.is((await http(ctx.server, 'PUT', `/v1/admin/contracts/${streamerId}`, {
    bearer: admin, body: { creatorTiers: [{ fromMonthCoins: 0, bps: 6000 }], agency: { agencyId, bps: 1500 } },
  })).status, 200);
  const firstRoom = await openRoom(ctx.server, streamerId);
  const secondRoom = await openRoom(ctx.server, streamerId);
  const fan = uniqueId('fan');
  await grant(ctx.server, fan, 10_000);
  const socket = await connectAs(ctx.server, fan);
  ctx.sockets.push(socket);
  const streamerSocket = await connectAs(ctx.server, streamerId, 'streamer');
  ctx.sockets.push(streamerSocket);
  const events: { delta: number; total: number; balance: number; month: number; room: number }[] = [];
  streamerSocket.on('earnings', (event: (typeof events)[number]) => events.push(event));
  for (const [roomId, giftId, count] of [[firstRoom, 'crown', 3], [secondRoom, 'lollipop', 7], [firstRoom, 'rose', 1]] as const) {
    assert.ok((await request(socket, 'room:join', { roomId })).ok);
    assert.ok((await request(socket, 'gift:send', { requestId: requestId(), roomId, giftId, count })).ok);
  }
  // 300 x 60 % = 180, 70 x 60 % = 42, 1 x 60 % = 0.6 carried: 222 coins; the agency 45 + 10.5 + 0.15.
  await ledgerCaughtUp(ctx.server);
  const reply = await http<Record<string, unknown>>(ctx.server, 'GET', '/v1/streamers/me/earnings', { bearer: await token(streamerId, 'streamer') });
  assert.is(reply.status, 200);
  const body = reply.body as {
    total: number; unsettled: number; balance: number; awaitingPayout: number; month: number; today: number; ledgerTotal: number;
    currentPeriod: { id: string; schedule: string; coins: number }; perRoom: { roomId: string; coins: number; gifts: number }[];
    liveSession: { roomId: string; gross: number; earned: number; topGifters: { userId: string; coins: number }[] }[];
  };
  assert.equal([body.total, body.unsettled, body.balance, body.awaitingPayout, body.month, body.today, body.ledgerTotal], [222, 222, 222, 0, 222, 222, 222]);
  assert.equal([body.currentPeriod.id, body.currentPeriod.schedule, body.currentPeriod.coins], [new Date().toISOString().slice(0, 7), 'monthly', 222]);
  assert.equal(body.perRoom.map((r) => [r.roomId, r.coins, r.gifts]).sort(), [[firstRoom, 180, 1], [secondRoom, 42, 1]].sort(), 'the rose credited nothing yet: its 0.6 coin carries');
  const sessions = new Map(body.liveSession.map((s) => [s.roomId, s]));
  assert.equal(sessions.get(firstRoom), { roomId: firstRoom, gross: 301, earned: 180, topGifters: [{ userId: fan, coins: 301 }] });
  assert.equal(sessions.get(secondRoom), { roomId: secondRoom, gross: 70, earned: 42, topGifters: [{ userId: fan, coins: 70 }] });
  const agencyCoins = await ctx.server.ctx.redis.hget(ctx.server.ctx.wallets.keys.balances, `agency:${agencyId}`);
  assert.is(agencyCoins, '55');
  assert.equal(events.map((e) => [e.delta, e.total, e.room]), [[180, 180, 180], [42, 222, 42], [0, 222, 180]]);
  const viewer = await http(ctx.server, 'GET', '/v1/streamers/me/earnings', { bearer: await token(fan, 'viewer') });
  assert.is(viewer.status, 403);
});

live('a session that ended stays in the streamer\'s view for a week with its figures and top gifters; an older one does not', async (ctx) => {
  const streamerId = uniqueId('streamer');
  const bearer = await token(streamerId, 'streamer');
  const open = async (title: string) => {
    const reply = await http<{ id: string }>(ctx.server, 'POST', '/v1/rooms', { bearer, body: { title } });
    assert.is(reply.status, 201);
    return reply.body.id;
  };
  const [ended, older, stillLive] = [await open('Friday night'), await open('Last month'), await open('Now')];
  const fans = [uniqueId('fan'), uniqueId('fan')];
  for (const fan of fans) await grant(ctx.server, fan, 1_000);
  const send = (senderId: string, roomId: string, giftId: string, count: number) =>
    ctx.server.ctx.gifts.send({ senderId, streamerId, roomId, giftId, count, requestId: requestId() });
  await send(fans[0] ?? '', ended, 'crown', 2);
  await send(fans[1] ?? '', ended, 'lollipop', 3);
  await send(fans[1] ?? '', older, 'crown', 1);
  await send(fans[0] ?? '', stillLive, 'rose', 1);
  for (const roomId of [ended, older]) assert.is((await http(ctx.server, 'POST', `/v1/rooms/${roomId}/close`, { bearer })).status, 200);
  await ctx.server.ctx.sql`update rooms set closed_at = now() - interval '8 days' where id = ${older}`;

  const reply = await http<{
    liveSession: { roomId: string }[];
    recentSessions: { roomId: string; title: string; openedAt: string; closedAt: string; gross: number; earned: number; topGifters: { userId: string; coins: number }[] }[];
  }>(ctx.server, 'GET', '/v1/streamers/me/earnings', { bearer });
  assert.is(reply.status, 200, JSON.stringify(reply.body));
  assert.equal(reply.body.liveSession.map((session) => session.roomId), [stillLive]);
  const [session, ...others] = reply.body.recentSessions;
  assert.is(others.length, 0, 'the session closed eight days ago is past the week');
  assert.equal([session?.roomId, session?.title, session?.gross, session?.earned, session?.topGifters],
    [ended, 'Friday night', 230, 161, [{ userId: fans[0], coins: 200 }, { userId: fans[1], coins: 30 }]]);
  assert.ok(Date.parse(session?.openedAt ?? '') <= Date.parse(session?.closedAt ?? '') && Date.now() - Date.parse(session?.closedAt ?? '') < 60_000);
});

live.run();
