import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { creatorCarryKey, earningsMonth } from '../../domain/split-contracts.js';
import { earningsAccount, walletAccount } from '../../domain/accounts.js';
import type { RunningServer } from '../../server/server.js';
import { rebuildWallets } from '../../server/services/rebuild.js';
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
  const viewers = [uniqueId('v'), uniqueId('v')];
  for (const viewer of viewers) await grant(server, viewer, 1_000);
  // One-coin roses leave the creator a fraction owed (a carry) after each gift.
  const send = async (senderId: string, giftId: string, count: number) =>
    gifts.send({ senderId, streamerId, roomId, giftId, count, requestId: uniqueId('req') });
  await send(viewers[0] ?? '', 'rose', 1);
  await send(viewers[1] ?? '', 'heart', 3);
  await server.ctx.flusher.drain();
  // These three stay in the journal: the ledger has not seen them when the hot state is lost.
  await send(viewers[0] ?? '', 'rose', 1);
  await send(viewers[1] ?? '', 'rose', 1);
  await send(viewers[0] ?? '', 'lollipop', 2);
  assert.ok(await redis.xlen(keys.journal) >= 3);

  const monthField = `${streamerId}|${earningsMonth(Date.now())}`;
  const accounts = [...viewers.map(walletAccount), earningsAccount(streamerId)];
  const hotState = async () => ({
    balances: await redis.hmget(keys.balances, ...accounts),
    earned: await redis.hget(keys.earned, streamerId),
    carry: await redis.hget(keys.carries, creatorCarryKey(streamerId)),
    month: await redis.hget(keys.monthEarned, monthField),
    board: await redis.zrange(keys.roomBoard(roomId), 0, -1, 'WITHSCORES'),
    totals: await redis.hgetall(keys.roomTotals(roomId)),
  });
  const before = await hotState();
  // 38 coins given; the creator's 70 % is 26.6: 26 coins paid, 0.6 coin (6,000 / 10,000) owed.
  assert.equal([before.balances, before.earned, before.carry, before.month], [['978', '984', '26'], '26', '6000', '26']);

  // Lost: everything but the journal, which the rebuild reads with the ledger.
  await redis.del(keys.balances, keys.earned, keys.carries, keys.monthEarned, keys.roomBoard(roomId), keys.roomTotals(roomId));
  const report = await rebuildWallets(redis, sql, keys, { force: true });
  assert.ok(report.unflushedEntriesIncluded >= 3, JSON.stringify(report));
  assert.equal(await hotState(), before);
  assert.ok((await reconcile(redis, sql, keys)).ok);

  // Flushed now, the same entries are in the ledger once, and nothing moves.
  assert.ok((await flushAndReconcile(server)).ok);
  assert.equal(await hotState(), before);
});

rebuild.run();
