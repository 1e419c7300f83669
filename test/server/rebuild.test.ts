import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { creatorCarryKey, earningsMonth } from '../../domain/split-contracts.js';
import { earningsAccount, walletAccount } from '../../domain/accounts.js';
import type { RunningServer } from '../../server/server.js';
import { rebuildWallets } from '../../server/services/rebuild.js';
import { retireRoomFigures } from '../../server/services/live-earnings.js';
import { limits } from '../../domain/limits.js';
import { reconcile } from '../../server/services/reconcile.js';
import { uniqueId } from '../helpers/env.js';
import { flushAndReconcile, grant, openRoom, startTestServer } from '../helpers/harness.js';

// The faults suite rebuilds a wiped Redis after the journal drained. Here part of the
// journal is still unflushed when the hot state is lost: what the rebuild takes from it
// (balances, earnings, month figures, carries, live boards) must come out as it was, and
// flushing it afterwards must not count it twice.

interface Context { server: RunningServer }
const rebuild = suite<Context>('rebuild-wallets with entries still in the journal', {} as Context);

rebuild.before(async (ctx) => { ctx.server = await startTestServer({ flusherEnabled: false }); });
rebuild.after(async (ctx) => { await ctx.server.stop(); });

rebuild('the hot state rebuilt from the ledger and the unflushed journal is what it was', async ({ server }) => {
  const { redis, sql, wallets, gifts } = server.ctx;
  const keys = wallets.keys;
  const streamerId = uniqueId('s');
  const roomId = await openRoom(server, streamerId);
  // A session that ended today: its figures are kept a week for the streamer's recent sessions.
  const endedRoom = await openRoom(server, streamerId);
  // One that ended eight days ago: its figures are gone, and stay gone.
  const oldRoom = await openRoom(server, streamerId);
  const viewers = [uniqueId('v'), uniqueId('v')];
  for (const viewer of viewers) await grant(server, viewer, 1_000);
  // One-coin roses leave the creator a fraction owed (a carry) after each gift.
  const send = async (senderId: string, giftId: string, count: number, room = roomId) =>
    gifts.send({ senderId, streamerId, roomId: room, giftId, count, requestId: uniqueId('req') });
  await send(viewers[0] ?? '', 'rose', 1);
  await send(viewers[1] ?? '', 'heart', 3);
  await send(viewers[1] ?? '', 'crown', 1, endedRoom);
  await send(viewers[0] ?? '', 'crown', 1, oldRoom);
  await server.ctx.flusher.drain();
  // These stay in the journal: the ledger has not seen them when the hot state is lost.
  await send(viewers[0] ?? '', 'rose', 1);
  await send(viewers[1] ?? '', 'rose', 1);
  await send(viewers[0] ?? '', 'lollipop', 2);
  await send(viewers[0] ?? '', 'heart', 2, endedRoom);
  assert.ok(await redis.xlen(keys.journal) >= 4);
  for (const closing of [endedRoom, oldRoom]) {
    assert.ok(await server.ctx.rooms.close(closing, null));
    await retireRoomFigures(redis, keys, closing);
  }
  await sql`update rooms set closed_at = now() - interval '8 days' where id = ${oldRoom}`;
  await redis.del(keys.roomBoard(oldRoom), keys.roomTotals(oldRoom));

  const monthField = `${streamerId}|${earningsMonth(Date.now())}`;
  const accounts = [...viewers.map(walletAccount), earningsAccount(streamerId)];
  const hotState = async () => ({
    balances: await redis.hmget(keys.balances, ...accounts),
    earned: await redis.hget(keys.earned, streamerId),
    carry: await redis.hget(keys.carries, creatorCarryKey(streamerId)),
    month: await redis.hget(keys.monthEarned, monthField),
    board: await redis.zrange(keys.roomBoard(roomId), 0, -1, 'WITHSCORES'),
    totals: await redis.hgetall(keys.roomTotals(roomId)),
    endedBoard: await redis.zrange(keys.roomBoard(endedRoom), 0, -1, 'WITHSCORES'),
    endedTotals: await redis.hgetall(keys.roomTotals(endedRoom)),
    oldFigures: await redis.exists(keys.roomBoard(oldRoom), keys.roomTotals(oldRoom)),
  });
  const before = await hotState();
  // 38 coins given in the live room and 210 in the closed ones; the creator's 70 % of 248 is
  // 173.6: 173 coins paid, 0.6 coin (6,000 / 10,000) owed.
  assert.equal([before.balances, before.earned, before.carry, before.month], [['868', '884', '173'], '173', '6000', '173']);
  assert.equal([before.endedBoard, before.endedTotals, before.oldFigures], [[viewers[0], '10', viewers[1], '100'], { gross: '110', earned: '77' }, 0]);

  // Lost: everything but the journal, which the rebuild reads with the ledger.
  await redis.del(keys.balances, keys.earned, keys.carries, keys.monthEarned, ...[roomId, endedRoom].flatMap((room) => [keys.roomBoard(room), keys.roomTotals(room)]));
  const report = await rebuildWallets(redis, sql, keys, { force: true });
  assert.ok(report.unflushedEntriesIncluded >= 4, JSON.stringify(report));
  assert.equal(await hotState(), before);
  for (const key of [keys.roomBoard(endedRoom), keys.roomTotals(endedRoom)]) {
    const ttl = await redis.ttl(key);
    assert.ok(ttl > limits.closedRoomFiguresKeptSec - 120 && ttl <= limits.closedRoomFiguresKeptSec, `what is left of the week: ${ttl} s`);
  }
  assert.is(await redis.ttl(keys.roomBoard(roomId)), -1, 'a live room\'s figures do not expire');
  assert.ok((await reconcile(redis, sql, keys)).ok);

  // Flushed now, the same entries are in the ledger once, and nothing moves.
  assert.ok((await flushAndReconcile(server)).ok);
  assert.equal(await hotState(), before);
});

rebuild.run();
