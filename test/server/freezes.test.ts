import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'socket.io-client';
import { coinIssuanceAccount, debtAccount } from '../../domain/accounts.js';
import type { RunningServer } from '../../server/server.js';
import { holdForChargeback, refreshFreeze, releaseChargebackHold, type FreezeStatus } from '../../server/services/wallet-freezes.js';
import { uniqueId } from '../helpers/env.js';
import { connectAs, flushAndReconcile, grant, http, nextEvent, openRoom, request, requestId, startTestServer, token } from '../helpers/harness.js';

interface Context { server: RunningServer; admin: string; sockets: Socket[] }
const freezes = suite<Context>('admins freeze and lift wallets', { sockets: [] } as unknown as Context);

freezes.before(async (ctx) => {
  ctx.server = await startTestServer();
  ctx.admin = await token(uniqueId('admin'), 'admin');
});
freezes.after.each((ctx) => {
  for (const socket of ctx.sockets) socket.close();
  ctx.sockets = [];
});
freezes.after(async (ctx) => { await ctx.server.stop(); });

const act = (ctx: Context, userId: string, action: 'freeze' | 'unfreeze', reason: unknown, bearer = ctx.admin) =>
  http<FreezeStatus & { error?: { code: string; message: string } }>(ctx.server, 'POST', `/v1/admin/users/${userId}/${action}`, { bearer, body: { reason } });
const status = (ctx: Context, userId: string) => http<FreezeStatus>(ctx.server, 'GET', `/v1/admin/users/${userId}/freeze`, { bearer: ctx.admin });

/** Makes the user owe (or, negative, repay) coins on their debt account, as a chargeback beyond the wallet does. */
async function owe(ctx: Context, userId: string, coins: number): Promise<void> {
  await ctx.server.ctx.wallets.postEntry({
    entryId: randomUUID(), kind: 'chargeback', nowMs: Date.now(), meta: { test: 'freezes', userId },
    postings: [{ accountId: debtAccount(userId), amount: -coins }, { accountId: coinIssuanceAccount, amount: coins }],
    flooredAccounts: new Set(),
  });
  await refreshFreeze(ctx.server.ctx.wallets, ctx.server.ctx.sql, userId);
}

freezes('a frozen wallet sends no gift and keeps its coins; its connections are told; a lift lets it gift again; all in the history', async (ctx) => {
  const [viewerId, streamerId] = [uniqueId('viewer'), uniqueId('streamer')];
  await grant(ctx.server, viewerId, 100);
  const roomId = await openRoom(ctx.server, streamerId);
  const socket = await connectAs(ctx.server, viewerId);
  ctx.sockets.push(socket);
  assert.ok((await request(socket, 'room:join', { roomId })).ok);
  const gift = () => request(socket, 'gift:send', { requestId: requestId(), roomId, giftId: 'heart', count: 1 });

  const toldFrozen = nextEvent<{ balance: number; frozen: boolean; reason: string }>(socket, 'wallet');
  const frozen = await act(ctx, viewerId, 'freeze', 'card testing pattern');
  assert.is(frozen.status, 200, JSON.stringify(frozen.body));
  assert.equal([frozen.body.frozen, frozen.body.adminFreeze?.reason, frozen.body.owes], [true, 'card testing pattern', 0]);
  assert.equal(await toldFrozen, { balance: 100, frozen: true, reason: 'freeze' });
  const refused = await gift();
  assert.is(refused.error?.code, 'ACCOUNT_FROZEN');
  assert.equal(await request(socket, 'wallet:get', {}), { ok: true, balance: 100, frozen: true });
  // Coins still come in: a grant lands on a frozen wallet.
  await grant(ctx.server, viewerId, 5);
  assert.equal((await http<{ balance: number; frozen: boolean }>(ctx.server, 'GET', '/v1/wallet', { bearer: await token(viewerId, 'viewer') })).body,
    { userId: viewerId, balance: 105, frozen: true });

  // Frozen again: a new reason, still frozen.
  const toldAgain = nextEvent<{ frozen: boolean; reason: string }>(socket, 'wallet');
  assert.is((await act(ctx, viewerId, 'freeze', 'confirmed by risk team')).body.adminFreeze?.reason, 'confirmed by risk team');
  assert.equal(await toldAgain, { balance: 105, frozen: true, reason: 'freeze' });
  const toldLifted = nextEvent<{ frozen: boolean; reason: string }>(socket, 'wallet');
  const lifted = await act(ctx, viewerId, 'unfreeze', 'cleared after review');
  assert.equal([lifted.status, lifted.body.frozen, lifted.body.adminFreeze], [200, false, null]);
  assert.equal(await toldLifted, { balance: 105, frozen: false, reason: 'unfreeze' });
  assert.ok((await gift()).ok);
  const again = await act(ctx, viewerId, 'unfreeze', 'twice');
  assert.equal([again.status, again.body.error?.code], [409, 'CONFLICT']);

  const counted = (await ctx.server.ctx.metrics.walletFreezes.get()).values.map((value) => [value.labels.action, value.value]).sort();
  assert.equal(counted, [['freeze', 2], ['unfreeze', 1]], 'wallet_freezes_total counts what was done, not what was refused');
  const { body } = await status(ctx, viewerId);
  assert.equal(body.history.map((event) => [event.action, event.reason]),
    [['unfreeze', 'cleared after review'], ['freeze', 'confirmed by risk team'], ['freeze', 'card testing pattern']]);
  assert.ok(body.history.every((event) => event.by.startsWith('admin-') && !Number.isNaN(Date.parse(event.at))));
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

freezes('a freeze and a debt each hold the wallet frozen: lifting one leaves the other in force', async (ctx) => {
  const userId = uniqueId('debtor');
  await owe(ctx, userId, 7);
  assert.equal([(await status(ctx, userId)).body.frozen, (await status(ctx, userId)).body.owes], [true, 7]);
  await act(ctx, userId, 'freeze', 'chargeback fraud');
  // The debt is repaid: the admin's freeze stands.
  await owe(ctx, userId, -7);
  assert.equal([(await status(ctx, userId)).body.frozen, (await status(ctx, userId)).body.owes], [true, 0]);
  // Owing again, then lifted by the admin: the debt's freeze stands.
  await owe(ctx, userId, 3);
  const lifted = await act(ctx, userId, 'unfreeze', 'merchant error');
  assert.equal([lifted.body.frozen, lifted.body.adminFreeze, lifted.body.owes], [true, null, 3]);
  await owe(ctx, userId, -3);
  assert.is((await status(ctx, userId)).body.frozen, false);
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

freezes('an admin\'s lift during a chargeback\'s take-back leaves the wallet frozen until that dispute releases it, or its hold runs out', async (ctx) => {
  const { wallets, sql, redis } = ctx.server.ctx;
  const userId = uniqueId('disputed');
  await act(ctx, userId, 'freeze', 'before the dispute');
  await holdForChargeback(wallets, sql, userId, 'dp_first');
  assert.is((await act(ctx, userId, 'unfreeze', 'lifted mid take-back')).body.frozen, true, 'the take-back still holds it');
  assert.is(await releaseChargebackHold(wallets, sql, userId, 'dp_other'), true, 'another dispute does not release this one\'s hold');
  assert.is(await releaseChargebackHold(wallets, sql, userId, 'dp_first'), false);
  assert.is((await status(ctx, userId)).body.frozen, false);

  // A take-back that never released (a crash) holds the wallet a minute at most.
  await holdForChargeback(wallets, sql, userId, 'dp_crashed');
  assert.is(await refreshFreeze(wallets, sql, userId), true);
  await redis.pexpire(wallets.keys.chargebackHold(userId), 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.is(await refreshFreeze(wallets, sql, userId), false);
});

freezes('freezes and lifts at once leave Redis as the last one committed says', async (ctx) => {
  const users = Array.from({ length: 4 }, () => uniqueId('racer'));
  const replies = await Promise.all(users.map((userId) => Promise.all(Array.from({ length: 6 }, (_, i) =>
    act(ctx, userId, i % 2 === 0 ? 'freeze' : 'unfreeze', `round ${i}`)))));
  for (const [index, userId] of users.entries()) {
    const [row] = await ctx.server.ctx.sql`select 1 from wallet_freezes where user_id = ${userId}`;
    const { body } = await status(ctx, userId);
    assert.is(body.frozen, row !== undefined, userId);
    assert.is(body.adminFreeze !== null, row !== undefined, userId);
    // Each lift that found a freeze is in the history; each that did not was refused.
    const statuses = (replies[index] ?? []).map((reply) => reply.status);
    assert.is(body.history.filter((event) => event.action === 'freeze').length, 3);
    assert.is(body.history.filter((event) => event.action === 'unfreeze').length, statuses.filter((s, i) => i % 2 === 1 && s === 200).length);
    assert.ok(statuses.every((s, i) => (i % 2 === 0 ? s === 200 : s === 200 || s === 409)), JSON.stringify(statuses));
  }
});

freezes('only admins; the user id, the reason and nothing else, as the routes say', async (ctx) => {
  const userId = uniqueId('target');
  for (const role of ['viewer', 'streamer', 'advertiser'] as const) {
    const bearer = await token(uniqueId(role), role);
    assert.is((await act(ctx, userId, 'freeze', 'no', bearer)).status, 403, role);
    assert.is((await http(ctx.server, 'GET', `/v1/admin/users/${userId}/freeze`, { bearer })).status, 403, role);
  }
  for (const reason of ['', 'x'.repeat(201), 42, null, ['a'], { text: 'a' }, 'nul\u0000byte']) {
    const reply = await act(ctx, userId, 'freeze', reason);
    assert.equal([reply.status, reply.body.error?.code], [400, 'INVALID_ARGUMENT'], JSON.stringify(reason));
  }
  const extra = await http<{ error: { code: string } }>(ctx.server, 'POST', `/v1/admin/users/${userId}/freeze`, { bearer: ctx.admin, body: { reason: 'r', coins: 5 } });
  assert.equal([extra.status, extra.body.error.code], [400, 'INVALID_ARGUMENT']);
  const badId = await http<{ error: { code: string } }>(ctx.server, 'POST', '/v1/admin/users/has%20space/freeze', { bearer: ctx.admin, body: { reason: 'r' } });
  assert.equal([badId.status, badId.body.error.code], [400, 'INVALID_ARGUMENT']);
  assert.equal((await status(ctx, userId)).body, { userId, frozen: false, adminFreeze: null, owes: 0, history: [] }, 'nothing refused left a trace');
});

freezes.run();
