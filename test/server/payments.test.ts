import { suite } from 'uvu';
import { limits } from '../../domain/limits.js';
import * as assert from 'uvu/assert';
import Stripe from 'stripe';
import type { RunningServer } from '../../server/server.js';
import { uniqueId } from '../helpers/env.js';
import { flushAndReconcile, http, token } from '../helpers/harness.js';
import { startTestServer } from '../helpers/harness.js';
import { StripeStandIn } from '../helpers/stripe-stand-in.js';
import { rebuildWallets } from '../../server/services/rebuild.js';
import { lockOrder, refundSplit } from '../../server/services/order-records.js';

interface Order { id: string; status: string; coins: number; bonusCoins: number; firstPurchaseBonusCoins: number; clientSecret: string | null;
  paymentIntentId: string | null; price: string; currency: string; transitions?: { from: string | null; to: string; cause: string }[] }

const key = () => uniqueId('idem').replace(/-/g, '_');

async function order(server: RunningServer, userId: string, packageId: string, idempotencyKey = key()) {
  return http<Order & { error?: { code: string } }>(server, 'POST', '/v1/orders', {
    bearer: await token(userId, 'viewer'), body: { packageId }, headers: { 'idempotency-key': idempotencyKey },
  });
}

async function balance(server: RunningServer, userId: string): Promise<number> {
  return (await http<{ balance: number }>(server, 'GET', '/v1/wallet', { bearer: await token(userId, 'viewer') })).body.balance;
}

// ---------------------------------------------------------------- sandbox
const sandbox = suite<{ server: RunningServer }>('payments: orders and the sandbox', {} as { server: RunningServer });
sandbox.before(async (ctx) => { ctx.server = await startTestServer(); });
sandbox.after(async (ctx) => { await ctx.server.stop(); });

sandbox('orders are idempotent by key: same body, same order; other body, 409; no key, 400; unknown package, 404', async ({ server }) => {
  const userId = uniqueId('buyer');
  const k = key();
  const first = await order(server, userId, 'usd-1000', k);
  assert.is(first.status, 201);
  assert.equal([first.body.status, first.body.price, first.body.currency, first.body.coins, first.body.bonusCoins], ['pending_payment', '9.99', 'USD', 1000, 100]);
  const again = await order(server, userId, 'usd-1000', k);
  assert.is(again.status, 200);
  assert.is(again.body.id, first.body.id);
  const conflict = await order(server, userId, 'usd-500', k);
  assert.is(conflict.status, 409);
  assert.is(conflict.body.error?.code, 'CONFLICT');
  const noKey = await http<{ error: { code: string } }>(server, 'POST', '/v1/orders', { bearer: await token(userId, 'viewer'), body: { packageId: 'usd-1000' } });
  assert.is(noKey.status, 400);
  assert.is((await order(server, userId, 'usd-999999')).status, 404);
  const concurrent = await Promise.all(Array.from({ length: 10 }, () => order(server, userId, 'usd-500', 'same_key_concurrently')));
  assert.is(new Set(concurrent.map((r) => r.body.id)).size, 1);
});

sandbox('sandbox payment fulfils once: coins + bonus + first-purchase bonus, one journal entry, transitions recorded', async ({ server }) => {
  const userId = uniqueId('buyer');
  const created = await order(server, userId, 'usd-1000');
  const bearer = await token(userId, 'viewer');
  const paid = await Promise.all(Array.from({ length: 5 }, () => http<Order>(server, 'POST', `/v1/orders/${created.body.id}/sandbox-pay`, { bearer })));
  assert.ok(paid.every((r) => r.status === 200 && r.body.status === 'fulfilled'), JSON.stringify(paid.map((r) => r.body)));
  assert.is(await balance(server, userId), 1000 + 100 + 100);
  const second = await order(server, userId, 'usd-500');
  await http(server, 'POST', `/v1/orders/${second.body.id}/sandbox-pay`, { bearer });
  assert.is(await balance(server, userId), 1200 + 500 + 25, 'the first-purchase bonus is paid once');
  const detail = await http<Order>(server, 'GET', `/v1/orders/${created.body.id}`, { bearer });
  assert.equal(detail.body.transitions?.map((t) => [t.from, t.to]), [[null, 'pending_payment'], ['pending_payment', 'paid'], ['paid', 'fulfilled']]);
  assert.is(detail.body.firstPurchaseBonusCoins, 100);
  assert.is((await http(server, 'GET', `/v1/orders/${created.body.id}`, { bearer: await token(uniqueId('other'), 'viewer') })).status, 404);
  assert.is((await http(server, 'GET', `/v1/orders/${created.body.id}`, { bearer: await token('an-admin', 'admin') })).status, 200);
  const listed = await http<{ orders: Order[] }>(server, 'GET', '/v1/orders', { bearer });
  assert.equal(listed.body.orders.map((o) => o.id), [second.body.id, created.body.id]);
  await flushAndReconcile(server);
  const flushed = await http<{ entries: { kind: string; amount: number; entryId: string; meta: Record<string, unknown> }[] }>(server, 'GET', '/v1/wallet/entries', { bearer });
  assert.equal(flushed.body.entries.map((e) => [e.kind, e.amount]), [['topup', 525], ['topup', 1200]]);
  assert.equal(flushed.body.entries[1]?.meta, { orderId: created.body.id, packageId: 'usd-1000' }, 'a top-up line names its order, and nothing of the price internals');
  assert.is(flushed.body.entries[1]?.entryId, (await http<Order & { fulfilledEntryId: string }>(server, 'GET', `/v1/orders/${created.body.id}`, { bearer })).body.fulfilledEntryId,
    'the order names the ledger entry that credited it');
  const [legs] = await server.ctx.sql<{ n: bigint }[]>`
    select count(*)::bigint as n from postings p join journal_entries e on e.id = p.entry_id
     where e.meta->>'orderId' = ${created.body.id} and p.account_id in ('system:issuance', 'system:bonus')`;
  assert.is(legs?.n, 2n, 'coins and bonus are separate legs');
  assert.ok((await flushAndReconcile(server)).ok);
});

sandbox('more payments of one order at once than the pool has connections: each answers, the order fulfils once', async ({ server }) => {
  // Each waits on the order's row lock holding a pooled connection; the holder must not
  // need another one, or all of them, and every query of the server, wait for ever.
  const userId = uniqueId('buyer');
  const created = await order(server, userId, 'usd-100');
  const bearer = await token(userId, 'viewer');
  const payments = Promise.all(Array.from({ length: 30 }, () => http<Order>(server, 'POST', `/v1/orders/${created.body.id}/sandbox-pay`, { bearer })));
  const hung = new Promise<'hung'>((resolve) => { setTimeout(() => resolve('hung'), 15_000).unref(); });
  const paid = await Promise.race([payments, hung]);
  assert.ok(paid !== 'hung', 'concurrent payments of one order did not all answer within 15 s');
  assert.ok(paid.every((r) => r.status === 200 && r.body.status === 'fulfilled'), JSON.stringify(paid.map((r) => r.status)));
  assert.is(await balance(server, userId), 100 + 100, 'credited once, with the first-purchase bonus');
  assert.ok((await flushAndReconcile(server)).ok);
});

sandbox('unpaid orders expire after their window; a late payment still fulfils', async ({ server }) => {
  const userId = uniqueId('buyer');
  const created = await order(server, userId, 'jpy-1000');
  assert.is(created.body.price, '1600');
  await server.ctx.sql`update orders set expires_at = now() - interval '1 minute' where id = ${created.body.id}`;
  assert.ok(await server.ctx.orders.expireDue() >= 1);
  const bearer = await token(userId, 'viewer');
  assert.is((await http<Order>(server, 'GET', `/v1/orders/${created.body.id}`, { bearer })).body.status, 'expired');
  const late = await http<Order>(server, 'POST', `/v1/orders/${created.body.id}/sandbox-pay`, { bearer });
  assert.is(late.body.status, 'fulfilled');
  assert.equal(late.body.transitions?.map((t) => t.to), ['pending_payment', 'expired', 'paid', 'fulfilled']);
});

sandbox('a user holds at most 10 unpaid orders: the next is RATE_LIMITED, even at once; replays, payment and expiry free the way', async ({ server }) => {
  const userId = uniqueId('buyer');
  const bearer = await token(userId, 'viewer');
  const keys = Array.from({ length: 15 }, (_, i) => `bound_${i}_${userId}`.slice(0, 64).replace(/[^A-Za-z0-9_-]/g, '_'));
  const created = await Promise.all(keys.map((k) => order(server, userId, 'usd-500', k)));
  const made = created.filter((r) => r.status === 201);
  assert.is(made.length, limits.unpaidOrdersPerUserMax, JSON.stringify(created.map((r) => r.status)));
  for (const refused of created.filter((r) => r.status !== 201)) {
    assert.equal([refused.status, refused.body.error?.code], [429, 'RATE_LIMITED']);
  }
  const [rows] = await server.ctx.sql<{ n: number }[]>`select count(*)::int as n from orders where user_id = ${userId}`;
  assert.is(rows?.n, limits.unpaidOrdersPerUserMax, 'nothing was recorded for the refused');
  // The same key again answers its order, whatever the bound.
  const madeKey = keys[created.findIndex((r) => r.status === 201)] ?? '';
  assert.is((await order(server, userId, 'usd-500', madeKey)).status, 200);
  assert.is((await order(server, userId, 'usd-500', key())).status, 429);
  // Paying one makes room for one; so does one expiring.
  assert.is((await http<Order>(server, 'POST', `/v1/orders/${made[0]?.body.id ?? ''}/sandbox-pay`, { bearer })).body.status, 'fulfilled');
  assert.is((await order(server, userId, 'usd-500', key())).status, 201);
  assert.is((await order(server, userId, 'usd-500', key())).status, 429);
  await server.ctx.sql`update orders set expires_at = now() - interval '1 minute' where id = ${made[1]?.body.id ?? ''}`;
  assert.is((await order(server, userId, 'usd-500', key())).status, 201);
  // Another user is not held back by this one.
  assert.is((await order(server, uniqueId('buyer'), 'usd-500', key())).status, 201);
});

sandbox('an order refunded in pieces gives back exactly its price; a piece worth under a cent is refused and moves nothing', async ({ server }) => {
  const userId = uniqueId('buyer');
  const bearer = await token(userId, 'viewer');
  const admin = await token('admin-pieces', 'admin');
  const made = await order(server, userId, 'usd-1000');
  assert.is((await http<Order>(server, 'POST', `/v1/orders/${made.body.id}/sandbox-pay`, { bearer })).body.status, 'fulfilled');
  const credited = await balance(server, userId);
  assert.is(credited, 1_200, '1,000 coins, the pack bonus and the first-purchase bonus for 9.99');
  const refund = (coins: number) => http<{ status: string; amount: string; coins: number; error?: { code: string; message: string } }>(
    server, 'POST', `/v1/orders/${made.body.id}/refund`, { bearer: admin, body: { coins } });

  // One coin is worth 0.008325: nothing to give back, so nothing is taken.
  const tiny = await refund(1);
  assert.equal([tiny.status, tiny.body.error?.code], [400, 'INVALID_ARGUMENT']);
  assert.match(tiny.body.error?.message ?? '', 'worth less than one minor unit');
  assert.is(await balance(server, userId), credited);

  // Pieces of 7, 13, 100 and 380 coins: on their own each share rounds down (0.05, 0.10,
  // 0.83, 3.16 = 4.14 of 4.163...); counted together the order loses nothing.
  const amounts: string[] = [];
  for (const coins of [7, 13, 100, 380, 700]) {
    const piece = await refund(coins);
    assert.equal([piece.status, piece.body.status], [201, 'succeeded'], JSON.stringify(piece.body));
    amounts.push(piece.body.amount);
  }
  assert.equal(amounts, ['0.05', '0.11', '0.83', '3.17', '5.83']);
  assert.is(amounts.reduce((sum, amount) => sum + BigInt(amount.replace('.', '')), 0n), 999n, 'the whole price, to the cent');
  assert.is(await balance(server, userId), 0);
  const report = await flushAndReconcile(server);
  assert.ok(report.ok, JSON.stringify(report.mismatches));
  // Each refund's line in the wallet's history names its refund and its order.
  const lines = await http<{ entries: { kind: string; amount: number; meta: Record<string, unknown> }[] }>(server, 'GET', '/v1/wallet/entries', { bearer });
  const refundLines = lines.body.entries.filter((e) => e.kind === 'refund');
  assert.equal(refundLines.map((e) => e.amount), [-700, -380, -100, -13, -7]);
  assert.ok(refundLines.every((e) => e.meta.orderId === made.body.id && typeof e.meta.refundId === 'string' && String(e.meta.refundId).startsWith('rf_')),
    JSON.stringify(refundLines.map((e) => e.meta)));
});

sandbox.run();

// ---------------------------------------------------------------- Stripe
interface StripeContext { server: RunningServer; standIn: StripeStandIn; stripe: Stripe }
const webhookSecret = 'whsec_test_0123456789abcdef';
const stripeSuite = suite<StripeContext>('payments: Stripe', {} as StripeContext);
stripeSuite.before(async (ctx) => {
  ctx.standIn = new StripeStandIn();
  await ctx.standIn.start();
  ctx.server = await startTestServer({ stripeSecretKey: 'sk_test_standin', stripeWebhookSecret: webhookSecret, stripeApiBase: ctx.standIn.url });
  ctx.stripe = new Stripe('sk_test_standin');
});
stripeSuite.after(async (ctx) => {
  await ctx.server.stop();
  await ctx.standIn.stop();
});

/** A Stripe event of this type around this object, as the webhook receives it. */
function stripeEvent(type: string, object: Record<string, unknown>): string {
  return JSON.stringify({
    id: uniqueId('evt'), object: 'event', type, api_version: '2024-06-20', created: Math.floor(Date.now() / 1000),
    livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, data: { object },
  });
}

function succeeded(intent: { id: string; amount: number; currency: string; metadata: Record<string, string> }) {
  return stripeEvent('payment_intent.succeeded', { ...intent, object: 'payment_intent', amount_received: intent.amount, status: 'succeeded' });
}

/** An order and the PaymentIntent the stand-in received for it. */
async function orderWithIntent(ctx: StripeContext, userId: string, packageId: string) {
  const created = await order(ctx.server, userId, packageId);
  const intent = ctx.standIn.intents.find((i) => i.metadata.order_id === created.body.id);
  if (intent === undefined) throw new Error(`no PaymentIntent for ${JSON.stringify(created.body)}`);
  return { created, intent };
}

function deliver(ctx: StripeContext, payload: string, options: { secret?: string; timestamp?: number; tamper?: (p: string) => string } = {}) {
  const signature = ctx.stripe.webhooks.generateTestHeaderString({
    payload, secret: options.secret ?? webhookSecret, ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp }),
  });
  return http<{ received?: boolean; duplicate?: boolean; error?: { code: string } }>(ctx.server, 'POST', '/v1/webhooks/stripe', {
    body: options.tamper?.(payload) ?? payload, headers: { 'content-type': 'application/json', 'stripe-signature': signature },
  });
}

stripeSuite('an order creates a PaymentIntent keyed and tagged by the order; the app gets its client secret', async (ctx) => {
  const { created, intent } = await orderWithIntent(ctx, uniqueId('buyer'), 'kwd-1000');
  assert.is(created.status, 201);
  assert.equal([intent.amount, intent.currency, intent.idempotencyKey], [3000, 'kwd', `order-${created.body.id}`]);
  assert.is(created.body.clientSecret, intent.client_secret);
  assert.is(created.body.paymentIntentId, intent.id);
  assert.is((await http(ctx.server, 'POST', `/v1/orders/${created.body.id}/sandbox-pay`, { bearer: await token('x', 'viewer') })).status, 403);
});

stripeSuite('the same payment_intent.succeeded delivered 10 times concurrently credits once', async (ctx) => {
  const userId = uniqueId('buyer');
  const { created, intent } = await orderWithIntent(ctx, userId, 'usd-1000');
  const payload = succeeded(intent);
  const replies = await Promise.all(Array.from({ length: 10 }, () => deliver(ctx, payload)));
  assert.ok(replies.every((r) => r.status === 200), JSON.stringify(replies.map((r) => r.body)));
  assert.is(await balance(ctx.server, userId), 1200);
  // Once handled, the same event is answered as a duplicate without being handled again.
  const late = await deliver(ctx, payload);
  assert.equal([late.status, late.body.duplicate], [200, true]);
  // A second event id for the same payment (Stripe may send one) credits nothing more either.
  assert.is((await deliver(ctx, succeeded(intent))).status, 200);
  assert.is(await balance(ctx.server, userId), 1200);
  const [events] = await ctx.server.ctx.sql<{ n: bigint }[]>`select count(*)::bigint as n from stripe_events where payload->'data'->'object'->'metadata'->>'order_id' = ${created.body.id}`;
  assert.is(events?.n, 2n);
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

stripeSuite('forged signature, stale timestamp, tampered body: 400 and nothing changed; a wrong amount is refused', async (ctx) => {
  const userId = uniqueId('buyer');
  const { created, intent } = await orderWithIntent(ctx, userId, 'usd-500');
  const payload = succeeded(intent);
  const attempts = [
    await deliver(ctx, payload, { secret: 'whsec_forged_000000000000' }),
    await deliver(ctx, payload, { timestamp: Math.floor(Date.now() / 1000) - 400 }),
    await deliver(ctx, payload, { tamper: (p) => p.replace('"amount":499', '"amount":1') }),
    await http<{ error: { code: string } }>(ctx.server, 'POST', '/v1/webhooks/stripe', { body: payload, headers: { 'content-type': 'application/json' } }),
  ];
  for (const attempt of attempts) {
    assert.is(attempt.status, 400);
    assert.is(attempt.body.error?.code, 'INVALID_ARGUMENT');
  }
  const wrongAmount = await deliver(ctx, succeeded({ ...intent, amount: 1 }));
  assert.is(wrongAmount.status, 409);
  // The same number in another currency is not the price either: 499 yen are not $4.99.
  const wrongCurrency = await deliver(ctx, succeeded({ ...intent, currency: 'jpy' }));
  assert.is(wrongCurrency.status, 409);
  assert.is(await balance(ctx.server, userId), 0);
  const detail = await http<Order>(ctx.server, 'GET', `/v1/orders/${created.body.id}`, { bearer: await token(userId, 'viewer') });
  assert.is(detail.body.status, 'pending_payment');
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

function disputeEvent(type: 'charge.dispute.created' | 'charge.dispute.closed', disputeId: string, intentId: string, status: string) {
  return stripeEvent(type, { id: disputeId, object: 'dispute', payment_intent: intentId, status, amount: 999, currency: 'usd' });
}

async function paidOrder(ctx: StripeContext, userId: string, packageId: string) {
  const { created, intent } = await orderWithIntent(ctx, userId, packageId);
  assert.is((await deliver(ctx, succeeded(intent))).status, 200);
  return { orderId: created.body.id, intent };
}

async function spend(ctx: StripeContext, userId: string, coins: number) {
  return ctx.server.ctx.gifts.send({ senderId: userId, streamerId: uniqueId('s'), roomId: 'r_cb', giftId: 'castle', count: coins / 1000, requestId: uniqueId('req') });
}

stripeSuite('a chargeback takes the coins back into debt and freezes the account; a won dispute restores all', async (ctx) => {
  const userId = uniqueId('buyer');
  const { orderId, intent } = await paidOrder(ctx, userId, 'usd-1000');
  assert.is(await balance(ctx.server, userId), 1200);
  await spend(ctx, userId, 1000);
  const disputeId = uniqueId('dp');
  const opened = disputeEvent('charge.dispute.created', disputeId, intent.id, 'needs_response');
  await Promise.all(Array.from({ length: 5 }, () => deliver(ctx, opened)));
  const bearer = await token(userId, 'viewer');
  assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, { userId, balance: 0, frozen: true });
  assert.is(Number(await ctx.server.ctx.redis.hget(ctx.server.ctx.wallets.keys.balances, `debt:${userId}`)), -1000);
  let frozenError: unknown = null;
  await spend(ctx, userId, 1000).catch((error: unknown) => { frozenError = error; });
  assert.is((frozenError as { code?: string } | null)?.code, 'ACCOUNT_FROZEN');
  assert.is((await http<Order>(ctx.server, 'GET', `/v1/orders/${orderId}`, { bearer })).body.status, 'disputed');
  await deliver(ctx, disputeEvent('charge.dispute.closed', disputeId, intent.id, 'won'));
  assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, { userId, balance: 200, frozen: false });
  assert.is(Number(await ctx.server.ctx.redis.hget(ctx.server.ctx.wallets.keys.balances, `debt:${userId}`) ?? 0), 0);
  assert.is((await http<Order>(ctx.server, 'GET', `/v1/orders/${orderId}`, { bearer })).body.status, 'dispute_won');
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

/** A buyer who paid for 1,200 coins, spent 1,000 and disputed the charge: 200 coins taken from the wallet, 1,000 as debt. */
async function spentThenDisputed(ctx: StripeContext) {
  const userId = uniqueId('buyer');
  const { intent } = await paidOrder(ctx, userId, 'usd-1000');
  await spend(ctx, userId, 1000);
  const disputeId = uniqueId('dp');
  await deliver(ctx, disputeEvent('charge.dispute.created', disputeId, intent.id, 'needs_response'));
  return { userId, intent, disputeId };
}

stripeSuite('a won dispute gives the wallet what a top-up repaid of its debt meanwhile, never a debt below nothing', async (ctx) => {
  const { userId, intent, disputeId } = await spentThenDisputed(ctx);
  const debt = async () => Number(await ctx.server.ctx.redis.hget(ctx.server.ctx.wallets.keys.balances, `debt:${userId}`) ?? 0);
  assert.is(await debt(), -1000);
  // 1,100 coins while the dispute is open: 1,000 repay the debt, 100 reach the wallet.
  await paidOrder(ctx, userId, 'usd-1000');
  const bearer = await token(userId, 'viewer');
  assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, { userId, balance: 100, frozen: false });
  await deliver(ctx, disputeEvent('charge.dispute.closed', disputeId, intent.id, 'won'));
  // The 1,200 taken back (200 from the wallet, 1,000 as debt since repaid) all return to the wallet.
  assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, { userId, balance: 1_300, frozen: false });
  assert.is(await debt(), 0);
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

stripeSuite('a lost dispute keeps the account frozen until a new top-up repays the debt', async (ctx) => {
  const { userId, intent, disputeId } = await spentThenDisputed(ctx);
  await deliver(ctx, disputeEvent('charge.dispute.closed', disputeId, intent.id, 'lost'));
  const bearer = await token(userId, 'viewer');
  assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, { userId, balance: 0, frozen: true });
  // A Redis rebuilt from the ledger keeps the account frozen while the debt stands.
  await flushAndReconcile(ctx.server);
  await ctx.server.ctx.redis.hdel(ctx.server.ctx.wallets.keys.frozen, userId);
  await rebuildWallets(ctx.server.ctx.redis, ctx.server.ctx.sql, ctx.server.ctx.wallets.keys, { force: true });
  assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, { userId, balance: 0, frozen: true });
  await paidOrder(ctx, userId, 'usd-1000');
  // 1,100 coins (no second first-purchase bonus): 1,000 repay the debt, 100 reach the wallet.
  assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, { userId, balance: 100, frozen: false });
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

stripeSuite('a chargeback after a partial refund takes back only the coins the refund did not; a won dispute restores just those', async (ctx) => {
  const userId = uniqueId('buyer');
  const { orderId, intent } = await paidOrder(ctx, userId, 'usd-1000');
  const admin = await token('refund-admin', 'admin');
  const refunded = await http<{ status: string; coins: number }>(ctx.server, 'POST', `/v1/orders/${orderId}/refund`, { bearer: admin, body: { coins: 500 } });
  assert.equal([refunded.status, refunded.body.status], [201, 'succeeded'], JSON.stringify(refunded.body));
  assert.is(await balance(ctx.server, userId), 700);
  await spend(ctx, userId, 1000).catch(() => undefined); // 700 coins: not enough for a castle, nothing moves
  const disputeId = uniqueId('dp');
  await deliver(ctx, disputeEvent('charge.dispute.created', disputeId, intent.id, 'needs_response'));
  const bearer = await token(userId, 'viewer');
  // The refund already took 500 of the 1,200 back: the dispute takes the other 700, no debt.
  assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, { userId, balance: 0, frozen: false });
  const balances = ctx.server.ctx.wallets.keys.balances;
  assert.is(Number(await ctx.server.ctx.redis.hget(balances, `debt:${userId}`) ?? 0), 0, 'no coins owed for coins given back already');
  await deliver(ctx, disputeEvent('charge.dispute.closed', disputeId, intent.id, 'won'));
  assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, { userId, balance: 700, frozen: false });
  const report = await flushAndReconcile(ctx.server);
  assert.ok(report.ok, JSON.stringify(report.mismatches));
});

/** What the ledger's entries for one order moved on the system accounts the coins came from (after a flush). */
async function systemLegsOfOrder(server: RunningServer, orderId: string): Promise<{ issuance: number; bonus: number }> {
  const rows = await server.ctx.sql<{ account_id: string; amount: string }[]>`
    select p.account_id, sum(p.amount)::text as amount from postings p join journal_entries e on e.id = p.entry_id
     where e.meta->>'orderId' = ${orderId} and p.account_id in ('system:issuance', 'system:bonus') group by p.account_id`;
  const of = (account: string) => Number(rows.find((row) => row.account_id === account)?.amount ?? 0);
  return { issuance: of('system:issuance'), bonus: of('system:bonus') };
}

stripeSuite('refunds in many pieces return the pack and the bonus in proportion; a chargeback after takes exactly the rest', async (ctx) => {
  const userId = uniqueId('buyer');
  const { orderId, intent } = await paidOrder(ctx, userId, 'usd-1000');
  const admin = await token('refund-admin', 'admin');
  // 1,000 pack coins and 200 bonus. 41 coins hold 6.83 bonus coins: each piece rounded on
  // its own took 6, and 29 pieces sent 1,015 coins back to issuance for a 1,000-coin pack.
  for (let piece = 0; piece < 29; piece += 1) {
    const refunded = await http<Refund>(ctx.server, 'POST', `/v1/orders/${orderId}/refund`, { bearer: admin, body: { coins: 41 } });
    assert.equal([refunded.status, refunded.body.status], [201, 'succeeded'], JSON.stringify(refunded.body));
  }
  assert.is(await balance(ctx.server, userId), 11);
  const [taken] = await ctx.server.ctx.sql<{ coins: string; bonus: string }[]>`
    select sum(coins)::text as coins, sum(bonus_coins)::text as bonus from refunds where order_id = ${orderId} and status = 'succeeded'`;
  assert.equal(taken, { coins: '1189', bonus: '198' }, 'the bonus of 1,189 of 1,200 coins, rounded down once');
  const disputeId = uniqueId('dp');
  assert.is((await deliver(ctx, disputeEvent('charge.dispute.created', disputeId, intent.id, 'needs_response'))).status, 200);
  assert.is((await deliver(ctx, disputeEvent('charge.dispute.closed', disputeId, intent.id, 'lost'))).status, 200);
  const bearer = await token(userId, 'viewer');
  assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, { userId, balance: 0, frozen: false });
  const report = await flushAndReconcile(ctx.server);
  assert.ok(report.ok, JSON.stringify(report.mismatches));
  assert.equal(await systemLegsOfOrder(ctx.server, orderId), { issuance: 0, bonus: 0 }, 'every pack coin back to issuance, every bonus coin to the bonus account');
});

stripeSuite('a refund under way when a dispute opens: refused by Stripe, the dispute holds its coins (won gives them back, lost keeps them); made, it stands', async (ctx) => {
  const admin = await token('refund-admin', 'admin');
  // [how the dispute ends, whether Stripe refuses the refund, whether the dispute ends before Stripe answers]
  const cases = [['lost', true, false], ['won', true, false], ['lost', false, false], ['lost', true, true]] as const;
  for (const [outcome, stripeRefuses, closedFirst] of cases) {
    const userId = uniqueId('buyer');
    const { orderId, intent } = await paidOrder(ctx, userId, 'usd-1000');
    // Stripe does not answer: the refund of 500 coins has taken them and waits, `processing`.
    ctx.standIn.failLists = true;
    const refunding = await http<Refund>(ctx.server, 'POST', `/v1/orders/${orderId}/refund`, { bearer: admin, body: { coins: 500 } }).finally(() => {
      ctx.standIn.failLists = false;
    });
    assert.equal([refunding.status, refunding.body.status], [201, 'processing'], JSON.stringify(refunding.body));
    assert.is(await balance(ctx.server, userId), 700);
    // The dispute takes the other 700; then Stripe refuses to refund a disputed charge.
    const disputeId = uniqueId('dp');
    assert.is((await deliver(ctx, disputeEvent('charge.dispute.created', disputeId, intent.id, 'needs_response'))).status, 200);
    assert.is(await balance(ctx.server, userId), 0);
    const close = async () => assert.is((await deliver(ctx, disputeEvent('charge.dispute.closed', disputeId, intent.id, outcome))).status, 200);
    if (closedFirst) await close();
    if (stripeRefuses) ctx.standIn.disputedIntents.add(intent.id);
    await ctx.server.ctx.refunds.resume();
    const refund = (await http<Refund>(ctx.server, 'GET', `/v1/refunds/${refunding.body.id}`, { bearer: admin })).body;
    const bearer = await token(userId, 'viewer');
    if (stripeRefuses) {
      assert.equal([refund.status, refund.cause], ['failed', closedFirst
        ? 'the payment provider refused the refund: the charge was lost to a dispute, which keeps the coins'
        : `the payment provider refused the refund: the order is disputed, and dispute ${disputeId} holds the coins`]);
    } else {
      // Made before the dispute reached it: the refund stands; the order's story is the dispute's.
      assert.equal([refund.status, (await http<Order>(ctx.server, 'GET', `/v1/orders/${orderId}`, { bearer })).body.status], ['succeeded', 'disputed']);
    }
    assert.is(await balance(ctx.server, userId), 0, 'the coins do not go back to a buyer whose charge is disputed');
    if (!closedFirst) await close();
    assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, { userId, balance: outcome === 'won' ? 1_200 : 0, frozen: false }, outcome);
    const report = await flushAndReconcile(ctx.server);
    assert.ok(report.ok, JSON.stringify(report.mismatches));
    assert.equal(await systemLegsOfOrder(ctx.server, orderId), outcome === 'won' ? { issuance: -1_000, bonus: -200 } : { issuance: 0, bonus: 0 }, outcome);
  }
});

stripeSuite('a dispute of an order refunded in full takes nothing, freezes nothing, and is recorded to its close', async (ctx) => {
  const userId = uniqueId('buyer');
  const { orderId, intent } = await paidOrder(ctx, userId, 'usd-1000');
  const admin = await token('refund-admin', 'admin');
  const refunded = await http<{ status: string }>(ctx.server, 'POST', `/v1/orders/${orderId}/refund`, { bearer: admin, body: {} });
  assert.equal([refunded.status, refunded.body.status], [201, 'succeeded']);
  const bearer = await token(userId, 'viewer');
  assert.is((await http<Order>(ctx.server, 'GET', `/v1/orders/${orderId}`, { bearer })).body.status, 'refunded');
  await paidOrder(ctx, userId, 'usd-500');
  const before = await balance(ctx.server, userId);
  const disputeId = uniqueId('dp');
  assert.is((await deliver(ctx, disputeEvent('charge.dispute.created', disputeId, intent.id, 'needs_response'))).status, 200);
  assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, { userId, balance: before, frozen: false });
  assert.is((await http<Order>(ctx.server, 'GET', `/v1/orders/${orderId}`, { bearer })).body.status, 'disputed');
  // A second dispute while the first is open is refused before anything moves, and leaves no freeze behind.
  assert.is((await deliver(ctx, disputeEvent('charge.dispute.created', uniqueId('dp'), intent.id, 'needs_response'))).status, 409);
  assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, { userId, balance: before, frozen: false });
  assert.is((await deliver(ctx, disputeEvent('charge.dispute.closed', disputeId, intent.id, 'lost'))).status, 200);
  const closed = await http<Order>(ctx.server, 'GET', `/v1/orders/${orderId}`, { bearer });
  assert.equal(closed.body.transitions?.map((t) => t.to).slice(-3), ['refunded', 'disputed', 'dispute_lost']);
  assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, { userId, balance: before, frozen: false });
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

stripeSuite('a refund asked for before a dispute opened cannot be approved while it is open: 409, and nothing moves', async (ctx) => {
  const userId = uniqueId('buyer');
  const { orderId, intent } = await paidOrder(ctx, userId, 'usd-1000');
  const bearer = await token(userId, 'viewer');
  const asked = await http<{ id: string; status: string }>(ctx.server, 'POST', `/v1/orders/${orderId}/refund`, { bearer, body: { coins: 100 } });
  assert.equal([asked.status, asked.body.status], [201, 'requested']);
  await paidOrder(ctx, userId, 'usd-500'); // coins from another order, which the refund must not take
  await deliver(ctx, disputeEvent('charge.dispute.created', uniqueId('dp'), intent.id, 'needs_response'));
  const before = await balance(ctx.server, userId);
  const refundsBefore = ctx.standIn.refunds.length;
  const approved = await http<{ error: { code: string; message: string } }>(ctx.server, 'POST', `/v1/admin/refunds/${asked.body.id}/approve`,
    { bearer: await token('refund-admin', 'admin') });
  assert.equal([approved.status, approved.body.error.code], [409, 'CONFLICT'], JSON.stringify(approved.body));
  assert.match(approved.body.error.message, 'disputed');
  assert.is(await balance(ctx.server, userId), before, 'no coins taken');
  assert.is(ctx.standIn.refunds.length, refundsBefore, 'nothing refunded');
  assert.is((await http<{ status: string }>(ctx.server, 'GET', `/v1/refunds/${asked.body.id}`, { bearer })).body.status, 'requested');
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

stripeSuite('a dispute\'s close that arrives before its opening applies both: won gives back what it took, lost keeps it; the late opening changes nothing', async (ctx) => {
  const bearerOf = (userId: string) => token(userId, 'viewer');
  for (const outcome of ['won', 'lost'] as const) {
    const userId = uniqueId(`buyer-${outcome}`);
    const { orderId, intent } = await paidOrder(ctx, userId, 'usd-1000');
    await spend(ctx, userId, 1000);
    const disputeId = uniqueId('dp');
    // Stripe does not promise order: the close comes first.
    assert.is((await deliver(ctx, disputeEvent('charge.dispute.closed', disputeId, intent.id, outcome))).status, 200);
    const bearer = await bearerOf(userId);
    const expected = outcome === 'won' ? { userId, balance: 200, frozen: false } : { userId, balance: 0, frozen: true };
    assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, expected, outcome);
    assert.is((await http<Order>(ctx.server, 'GET', `/v1/orders/${orderId}`, { bearer })).body.status, `dispute_${outcome}`);
    assert.is((await deliver(ctx, disputeEvent('charge.dispute.created', disputeId, intent.id, 'needs_response'))).status, 200);
    assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, expected, `${outcome}, after the late opening`);
    assert.is((await http<Order>(ctx.server, 'GET', `/v1/orders/${orderId}`, { bearer })).body.status, `dispute_${outcome}`);
  }
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

stripeSuite('an inquiry that closes without a chargeback, or a dispute prevented, gives back what it took', async (ctx) => {
  for (const closedAs of ['warning_closed', 'prevented']) {
    const userId = uniqueId('buyer');
    const { orderId, intent } = await paidOrder(ctx, userId, 'usd-1000');
    await spend(ctx, userId, 1000);
    const disputeId = uniqueId('dp');
    // An inquiry is announced with charge.dispute.created too, before any money is withdrawn.
    await deliver(ctx, disputeEvent('charge.dispute.created', disputeId, intent.id, 'warning_needs_response'));
    const bearer = await token(userId, 'viewer');
    assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, { userId, balance: 0, frozen: true }, closedAs);
    assert.is((await deliver(ctx, disputeEvent('charge.dispute.closed', disputeId, intent.id, closedAs))).status, 200);
    assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, { userId, balance: 200, frozen: false }, closedAs);
    assert.is((await http<Order>(ctx.server, 'GET', `/v1/orders/${orderId}`, { bearer })).body.status, 'dispute_won', closedAs);
  }
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

interface Refund { id: string; status: string; coins: number; amount: string; providerRefundId: string | null; cause: string; error?: { code: string } }

stripeSuite('refunds: the owner asks, an admin approves; the unspent part is debited then refunded pro rata, rounded down', async (ctx) => {
  const userId = uniqueId('buyer');
  const { orderId } = await paidOrder(ctx, userId, 'usd-1000');
  await ctx.server.ctx.gifts.send({ senderId: userId, streamerId: uniqueId('s'), roomId: 'r_rf', giftId: 'bubbles', count: 12, requestId: uniqueId('req') });
  const bearer = await token(userId, 'viewer');
  const admin = await token('refund-admin', 'admin');
  const tooMuch = await http<Refund>(ctx.server, 'POST', `/v1/orders/${orderId}/refund`, { bearer, body: { coins: 601 } });
  assert.is(tooMuch.status, 400);
  const asked = await http<Refund>(ctx.server, 'POST', `/v1/orders/${orderId}/refund`, { bearer, body: {} });
  assert.is(asked.status, 201);
  assert.equal([asked.body.status, asked.body.coins, asked.body.amount], ['requested', 600, '4.99']);
  assert.is(await balance(ctx.server, userId), 600, 'a request moves nothing');
  assert.is((await http(ctx.server, 'POST', `/v1/admin/refunds/${asked.body.id}/approve`, { bearer })).status, 403);
  const approved = await http<Refund>(ctx.server, 'POST', `/v1/admin/refunds/${asked.body.id}/approve`, { bearer: admin });
  assert.equal([approved.body.status, approved.body.providerRefundId !== null], ['succeeded', true]);
  assert.is(await balance(ctx.server, userId), 0);
  const sent = ctx.standIn.refunds.find((r) => r.id === approved.body.providerRefundId);
  assert.equal([sent?.amount, sent?.idempotencyKey], [499, `refund-${asked.body.id}`]);
  assert.is((await http<Order>(ctx.server, 'GET', `/v1/orders/${orderId}`, { bearer })).body.status, 'partially_refunded');
  assert.is((await http(ctx.server, 'POST', `/v1/admin/refunds/${asked.body.id}/approve`, { bearer: admin })).status, 409, 'approved once');
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

/** A paid order, its owner's and an admin's tokens, and the owner's request for `coins` of it. */
async function refundable(ctx: StripeContext, packageId: string, coins: number) {
  const userId = uniqueId('buyer');
  const { orderId } = await paidOrder(ctx, userId, packageId);
  const bearer = await token(userId, 'viewer');
  const admin = await token('refund-admin', 'admin');
  const ask = () => http<Refund>(ctx.server, 'POST', `/v1/orders/${orderId}/refund`, { bearer, body: { coins } });
  return { userId, bearer, admin, ask };
}

stripeSuite('refunds: an admin lists the requests and rejects one with a reason; nothing moves, and the order can be asked for again', async (ctx) => {
  const { userId, bearer, admin, ask } = await refundable(ctx, 'usd-1000', 1000);
  const asked = await ask();
  assert.equal([asked.status, asked.body.status], [201, 'requested']);
  const queue = await http<Refund[]>(ctx.server, 'GET', '/v1/admin/refunds?status=requested&limit=200', { bearer: admin });
  assert.is(queue.status, 200);
  assert.ok(queue.body.some((r) => r.id === asked.body.id), 'the request is in the queue');
  assert.ok(queue.body.every((r) => r.status === 'requested'));
  assert.is((await http(ctx.server, 'GET', '/v1/admin/refunds', { bearer })).status, 403);
  for (const bad of ['/v1/admin/refunds?status=lost', '/v1/admin/refunds?limit=0', '/v1/admin/refunds?limit=201', '/v1/admin/refunds?other=1']) {
    assert.is((await http(ctx.server, 'GET', bad, { bearer: admin })).status, 400, bad);
  }
  const reject = (id: string, body: unknown, who = admin) => http<Refund & { error?: { code: string; message: string } }>(ctx.server, 'POST', `/v1/admin/refunds/${id}/reject`, { bearer: who, body });
  for (const body of [{}, { reason: '' }, { reason: 'x'.repeat(201) }, { reason: 5 }, { reason: 'ok', extra: 1 }]) {
    assert.is((await reject(asked.body.id, body)).status, 400, JSON.stringify(body));
  }
  assert.is((await reject(asked.body.id, { reason: 'mine' }, bearer)).status, 403);
  assert.is((await reject('rf_nosuchrefund', { reason: 'no' })).status, 404);
  const rejected = await reject(asked.body.id, { reason: 'bought and gifted within the hour' });
  assert.equal([rejected.status, rejected.body.status, rejected.body.cause], [200, 'rejected', 'rejected by an admin: bought and gifted within the hour']);
  assert.is(await balance(ctx.server, userId), 1200, 'nothing moved');
  assert.equal((await http<Refund>(ctx.server, 'GET', `/v1/refunds/${asked.body.id}`, { bearer })).body.status, 'rejected', 'the owner reads it');
  const approveRejected = await http<{ error: { code: string; message: string } }>(ctx.server, 'POST', `/v1/admin/refunds/${asked.body.id}/approve`, { bearer: admin });
  assert.equal([approveRejected.status, approveRejected.body.error.code], [409, 'CONFLICT']);
  assert.match(approveRejected.body.error.message, /this one is rejected/);
  assert.is((await reject(asked.body.id, { reason: 'again' })).status, 409);

  // A rejected request no longer holds the order's coins: the owner may ask again. An
  // approval and a rejection at once: one of them decides.
  const again = await ask();
  assert.equal([again.status, again.body.status], [201, 'requested']);
  const [approved, turnedDown] = await Promise.all([
    http<Refund>(ctx.server, 'POST', `/v1/admin/refunds/${again.body.id}/approve`, { bearer: admin }),
    reject(again.body.id, { reason: 'race' }),
  ]);
  assert.equal([approved.status, turnedDown.status].sort(), [200, 409].sort());
  const final = (await http<Refund>(ctx.server, 'GET', `/v1/refunds/${again.body.id}`, { bearer: admin })).body.status;
  assert.is(await balance(ctx.server, userId), final === 'succeeded' ? 200 : 1200);
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

stripeSuite('refunds: the owner withdraws a request no admin has decided; another user cannot, and a decided one stays', async (ctx) => {
  const { userId, bearer, admin, ask } = await refundable(ctx, 'usd-500', 100);
  const cancel = (id: string, who: string) => http<Refund & { error?: { code: string; message: string } }>(ctx.server, 'POST', `/v1/refunds/${id}/cancel`, { bearer: who });
  const asked = await ask();
  assert.is(asked.body.status, 'requested');
  assert.is((await cancel(asked.body.id, await token(uniqueId('other'), 'viewer'))).status, 404, 'another user\'s refund is not found');
  assert.is((await cancel('rf_nosuchrefund', bearer)).status, 404);
  const canceled = await cancel(asked.body.id, bearer);
  assert.equal([canceled.status, canceled.body.status, canceled.body.cause], [200, 'canceled', 'canceled by the owner']);
  assert.is(await balance(ctx.server, userId), 625, 'nothing moved');
  const twice = await cancel(asked.body.id, bearer);
  assert.equal([twice.status, twice.body.error?.code], [409, 'CONFLICT']);
  assert.match(twice.body.error?.message ?? '', /this one is canceled/);
  assert.is((await http(ctx.server, 'POST', `/v1/admin/refunds/${asked.body.id}/approve`, { bearer: admin })).status, 409);
  const listed = await http<Refund[]>(ctx.server, 'GET', '/v1/admin/refunds?status=canceled', { bearer: admin });
  assert.ok(listed.body.some((r) => r.id === asked.body.id));
  // Decided by an admin: no longer the owner's to withdraw.
  const again = await ask();
  assert.is((await http<Refund>(ctx.server, 'POST', `/v1/admin/refunds/${again.body.id}/approve`, { bearer: admin })).body.status, 'succeeded');
  assert.is((await cancel(again.body.id, bearer)).status, 409);
  assert.is(await balance(ctx.server, userId), 525);
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

stripeSuite('an admin refund of everything marks the order refunded; a refused refund credits the coins back', async (ctx) => {
  const userId = uniqueId('buyer');
  const admin = await token('refund-admin', 'admin');
  const first = await paidOrder(ctx, userId, 'usd-500');
  ctx.standIn.refuseRefundAmount = 499;
  const refused = await http<Refund>(ctx.server, 'POST', `/v1/orders/${first.orderId}/refund`, { bearer: admin, body: {} });
  ctx.standIn.refuseRefundAmount = null;
  assert.is(refused.body.status, 'failed');
  assert.is(await balance(ctx.server, userId), 625, 'compensated: 500 + 25 bonus + 100 first-purchase bonus');
  assert.is((await http<Order>(ctx.server, 'GET', `/v1/orders/${first.orderId}`, { bearer: admin })).body.status, 'fulfilled');
  const full = await http<Refund>(ctx.server, 'POST', `/v1/orders/${first.orderId}/refund`, { bearer: admin, body: {} });
  assert.equal([full.body.status, full.body.coins, full.body.amount], ['succeeded', 625, '4.99']);
  assert.is(await balance(ctx.server, userId), 0);
  assert.is((await http<Order>(ctx.server, 'GET', `/v1/orders/${first.orderId}`, { bearer: admin })).body.status, 'refunded');
  const again = await http<Refund>(ctx.server, 'POST', `/v1/orders/${first.orderId}/refund`, { bearer: admin, body: {} });
  assert.is(again.status, 409);
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

stripeSuite('refund requests for one order at once never ask, together, for more than it left', async (ctx) => {
  // Two orders: the wallet holds far more than the first one credited, so only the
  // order's own count, not the wallet's floor, can stop a second refund of it.
  const userId = uniqueId('buyer');
  const admin = await token('refund-admin', 'admin');
  const bearer = await token(userId, 'viewer');
  const first = await paidOrder(ctx, userId, 'usd-500');
  await paidOrder(ctx, userId, 'usd-1000');
  const before = await balance(ctx.server, userId);
  const refundsSent = ctx.standIn.refunds.length;
  const full = await Promise.all(Array.from({ length: 8 }, () => http<Refund>(ctx.server, 'POST', `/v1/orders/${first.orderId}/refund`, { bearer: admin, body: {} })));
  const made = full.filter((r) => r.status === 201);
  assert.equal(made.map((r) => [r.body.status, r.body.coins]), [['succeeded', 625]], JSON.stringify(full.map((r) => [r.status, r.body.status ?? r.body.error?.code])));
  assert.ok(full.every((r) => r.status === 201 || r.status === 400 || r.status === 409), 'the others are refused, not recorded as failed');
  assert.is(ctx.standIn.refunds.length, refundsSent + 1, 'one refund reached the provider');
  assert.is(await balance(ctx.server, userId), before - 625);

  const second = await paidOrder(ctx, userId, 'usd-500');
  const asked = await Promise.all(Array.from({ length: 6 }, () => http<Refund>(ctx.server, 'POST', `/v1/orders/${second.orderId}/refund`, { bearer, body: { coins: 400 } })));
  assert.is(asked.filter((r) => r.status === 201 && r.body.status === 'requested').length, 1, 'one request of 400 fits in 525 coins; two do not');
  const stranger = await http<{ error: { code: string; message: string } }>(ctx.server, 'POST', `/v1/orders/${second.orderId}/refund`, { bearer: await token(uniqueId('other'), 'viewer'), body: {} });
  const absent = await http<{ error: { code: string; message: string } }>(ctx.server, 'POST', '/v1/orders/ord_nosuchorder/refund', { bearer, body: {} });
  assert.equal([stranger.status, stranger.body.error.message.replace(second.orderId, 'ID')], [404, absent.body.error.message.replace('ord_nosuchorder', 'ID')],
    'another user\'s order answers as an absent one');
  assert.ok(asked.every((r) => r.status === 201 || r.status === 400));
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

stripeSuite('a refund resumed after Stripe and Redis forgot its keys refunds once and debits once', async (ctx) => {
  const userId = uniqueId('buyer');
  const admin = await token('refund-admin', 'admin');
  const { orderId } = await paidOrder(ctx, userId, 'usd-500');
  // The refund is made, but its answer never arrives: the coins are debited, the refund stays processing.
  ctx.standIn.loseRefundAnswers = true;
  const lost = await http<Refund>(ctx.server, 'POST', `/v1/orders/${orderId}/refund`, { bearer: admin, body: {} });
  ctx.standIn.loseRefundAnswers = false;
  assert.equal([lost.status, lost.body.status, lost.body.providerRefundId], [201, 'processing', null], JSON.stringify(lost.body));
  const refundsOf = () => ctx.standIn.refunds.filter((r) => r.metadata.refund_id === lost.body.id);
  assert.is(refundsOf().length, 1);
  assert.is(await balance(ctx.server, userId), 0);

  // A day and more later: Stripe and Redis no longer know the keys; the ledger and the refund list do.
  assert.ok((await flushAndReconcile(ctx.server)).ok);
  ctx.standIn.forgetIdempotencyKeys();
  await ctx.server.ctx.redis.del(ctx.server.ctx.wallets.keys.operationIdempotency(`refund:${lost.body.id}`));
  // While Stripe cannot list, the refund neither goes out again nor fails (no coins credited back).
  ctx.standIn.failLists = true;
  await ctx.server.ctx.refunds.resume();
  ctx.standIn.failLists = false;
  assert.is((await http<Refund>(ctx.server, 'GET', `/v1/refunds/${lost.body.id}`, { bearer: admin })).body.status, 'processing');
  assert.is(refundsOf().length, 1);
  assert.is(await balance(ctx.server, userId), 0);
  await ctx.server.ctx.refunds.resume();
  const resumed = await http<Refund>(ctx.server, 'GET', `/v1/refunds/${lost.body.id}`, { bearer: admin });
  assert.equal([resumed.body.status, resumed.body.providerRefundId], ['succeeded', refundsOf()[0]?.id], JSON.stringify(resumed.body));
  assert.is(refundsOf().length, 1, 'one refund at Stripe');
  assert.is(await balance(ctx.server, userId), 0, 'debited once, not pushed below zero or refused');
  const entries = await ctx.server.ctx.sql`select 1 from journal_entries where kind = 'refund' and meta ->> 'refundId' = ${lost.body.id}`;
  assert.is(entries.length, 1);
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

function chargeRefunded(intentId: string, amountRefunded: number) {
  return stripeEvent('charge.refunded', { id: uniqueId('ch'), object: 'charge', payment_intent: intentId, amount: 999,
    amount_refunded: amountRefunded, currency: 'usd', refunded: amountRefunded === 999 });
}

stripeSuite('events in any order: a dispute or refund before its payment is refused for retry and changes nothing; redelivered, it applies', async (ctx) => {
  const userId = uniqueId('buyer');
  const { created, intent } = await orderWithIntent(ctx, userId, 'usd-1000');
  const dispute = disputeEvent('charge.dispute.created', uniqueId('dp'), intent.id, 'needs_response');
  const refunded = chargeRefunded(intent.id, 500);
  assert.is((await deliver(ctx, dispute)).status, 409);
  assert.is((await deliver(ctx, refunded)).status, 409);
  const bearer = await token(userId, 'viewer');
  assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, { userId, balance: 0, frozen: false });
  assert.is((await deliver(ctx, succeeded(intent))).status, 200);
  assert.is(await balance(ctx.server, userId), 1200);
  // Stripe retries: the refund made in the dashboard (5.00 of 9.99) takes back 600 coins, once.
  for (let i = 0; i < 3; i += 1) assert.is((await deliver(ctx, refunded)).status, 200);
  assert.is(await balance(ctx.server, userId), 600);
  assert.is((await http<Order>(ctx.server, 'GET', `/v1/orders/${created.body.id}`, { bearer })).body.status, 'partially_refunded');
  assert.is((await deliver(ctx, dispute)).status, 200);
  // The dispute takes the 600 coins the dashboard refund left, not those it took back already: no debt, no freeze.
  assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, { userId, balance: 0, frozen: false });
  assert.is((await http<Order>(ctx.server, 'GET', `/v1/orders/${created.body.id}`, { bearer })).body.status, 'disputed');
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

stripeSuite('charge.refunded for a refund the app made itself takes nothing more', async (ctx) => {
  const userId = uniqueId('buyer');
  const { orderId, intent } = await paidOrder(ctx, userId, 'usd-1000');
  const refund = await http<Refund>(ctx.server, 'POST', `/v1/orders/${orderId}/refund`, { bearer: await token('refund-admin', 'admin'), body: { coins: 600 } });
  assert.equal([refund.body.status, refund.body.amount], ['succeeded', '4.99']);
  assert.is(await balance(ctx.server, userId), 600);
  assert.is((await deliver(ctx, chargeRefunded(intent.id, 499))).status, 200);
  assert.is(await balance(ctx.server, userId), 600);
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

stripeSuite('two dashboard refunds reported at once take back what was refunded, not more', async (ctx) => {
  const userId = uniqueId('buyer');
  const { orderId, intent } = await paidOrder(ctx, userId, 'usd-1000');
  assert.is(await balance(ctx.server, userId), 1200);
  // Two refunds of 3.00 in the dashboard: Stripe reports each with the charge's running total.
  const events = [chargeRefunded(intent.id, 300), chargeRefunded(intent.id, 600)];
  // Both handlers get as far as recording their refund, and wait there together.
  const replies = await ctx.server.ctx.sql.begin(async (tx) => {
    await tx`lock table refunds in exclusive mode`;
    const both = events.map((event) => deliver(ctx, event));
    await new Promise((resolve) => setTimeout(resolve, 300));
    return both;
  });
  for (const reply of await Promise.all(replies)) assert.is(reply.status, 200);
  // 6.00 of 9.99 refunded: 720 of the 1,200 coins, however the reports interleave.
  assert.is(await balance(ctx.server, userId), 480);
  const [taken] = await ctx.server.ctx.sql<{ coins: string }[]>`
    select coalesce(sum(coins), 0)::text as coins from refunds where order_id = ${orderId} and status = 'succeeded'`;
  assert.is(taken?.coins, '720');
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

stripeSuite('dashboard refunds in pieces take back, together, all the coins once the whole price is refunded', async (ctx) => {
  const userId = uniqueId('buyer');
  const { orderId, intent } = await paidOrder(ctx, userId, 'usd-1000');
  // 1.00 at a time of 9.99 for 1,200 coins: 120.12 coins a dollar. Each rounded on its own
  // took 120, and 118 for the last 0.99: the buyer kept 2 coins of a fully refunded order.
  for (const cents of [100, 200, 300, 400, 500, 600, 700, 800, 900]) {
    assert.is((await deliver(ctx, chargeRefunded(intent.id, cents))).status, 200);
    assert.is(await balance(ctx.server, userId), 1_200 - Math.floor((cents * 1_200) / 999), `${cents} cents refunded`);
  }
  assert.is((await deliver(ctx, chargeRefunded(intent.id, 999))).status, 200);
  const bearer = await token(userId, 'viewer');
  assert.equal((await http(ctx.server, 'GET', '/v1/wallet', { bearer })).body, { userId, balance: 0, frozen: false });
  assert.is((await http<Order>(ctx.server, 'GET', `/v1/orders/${orderId}`, { bearer })).body.status, 'refunded');
  assert.ok((await flushAndReconcile(ctx.server)).ok);
  assert.equal(await systemLegsOfOrder(ctx.server, orderId), { issuance: 0, bonus: 0 });
});

stripeSuite('a dashboard refund reported while one of ours was under way, which Stripe then refused, takes its coins back then', async (ctx) => {
  const userId = uniqueId('buyer');
  const { orderId, intent } = await paidOrder(ctx, userId, 'usd-1000');
  const admin = await token('refund-admin', 'admin');
  ctx.standIn.failLists = true;
  const ours = await http<Refund>(ctx.server, 'POST', `/v1/orders/${orderId}/refund`, { bearer: admin, body: { coins: 500 } }).finally(() => {
    ctx.standIn.failLists = false;
  });
  assert.equal([ours.body.status, ours.body.amount], ['processing', '4.16']);
  assert.is(await balance(ctx.server, userId), 700);
  // 1.00 refunded in the dashboard: Stripe's running total (1.00) is below our 4.16 under way.
  assert.is((await deliver(ctx, chargeRefunded(intent.id, 100))).status, 200);
  assert.is(await balance(ctx.server, userId), 700, 'counted against ours while ours may still be made');
  // Stripe refuses ours: its 500 coins come back, and the dashboard's 1.00 takes its 120.
  ctx.standIn.refuseRefundAmount = 416;
  await ctx.server.ctx.refunds.resume().finally(() => {
    ctx.standIn.refuseRefundAmount = null;
  });
  assert.is((await http<Refund>(ctx.server, 'GET', `/v1/refunds/${ours.body.id}`, { bearer: admin })).body.status, 'failed');
  assert.is(await balance(ctx.server, userId), 1_080);
  // The next dashboard refund is counted from there: 2.00 in all is worth 240 coins.
  assert.is((await deliver(ctx, chargeRefunded(intent.id, 200))).status, 200);
  assert.is(await balance(ctx.server, userId), 960);
  const bearer = await token(userId, 'viewer');
  assert.is((await http<Order>(ctx.server, 'GET', `/v1/orders/${orderId}`, { bearer })).body.status, 'partially_refunded');
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

stripeSuite('a refund the sweep cannot finish does not hold back the others, and its refusal is still thrown', async (ctx) => {
  const admin = await token('refund-admin', 'admin');
  const sql = ctx.server.ctx.sql;
  // A refund no path makes today, written by hand: a dashboard refund of an order already
  // refunded in full, whose finish would move the order from refunded to refunded.
  const full = await paidOrder(ctx, uniqueId('buyer'), 'usd-500');
  assert.is((await http<Refund>(ctx.server, 'POST', `/v1/orders/${full.orderId}/refund`, { bearer: admin, body: {} })).body.status, 'succeeded');
  const stuckId = `rf_xstuck${uniqueId('x').replace(/[^A-Za-z0-9]/g, '')}`;
  await sql`insert into refunds (id, order_id, requested_by, coins, bonus_coins, amount, currency, status, cause, made_outside, updated_at)
            values (${stuckId}, ${full.orderId}, 'stripe', 0, 0, '0.01', 'USD', 'processing', 'refunded outside the app', true, now() - interval '1 hour')`;
  // Behind it, a refund left waiting by a provider that did not answer.
  const userId = uniqueId('buyer');
  const { orderId } = await paidOrder(ctx, userId, 'usd-1000');
  ctx.standIn.failLists = true;
  const waiting = await http<Refund>(ctx.server, 'POST', `/v1/orders/${orderId}/refund`, { bearer: admin, body: { coins: 500 } }).finally(() => {
    ctx.standIn.failLists = false;
  });
  assert.is(waiting.body.status, 'processing');
  try {
    let thrown: unknown = null;
    await ctx.server.ctx.refunds.resume().catch((error: unknown) => { thrown = error; });
    assert.is((thrown as { code?: string } | null)?.code, 'CONFLICT', 'the refusal reaches the sweep\'s log');
    assert.is((await http<Refund>(ctx.server, 'GET', `/v1/refunds/${waiting.body.id}`, { bearer: admin })).body.status, 'succeeded');
    assert.is(await balance(ctx.server, userId), 700);
  } finally {
    await sql`update refunds set status = 'failed', cause = 'made by hand for a test' where id = ${stuckId}`;
  }
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

stripeSuite('a dashboard refund a crash left half-done is finished by the sweep or by its redelivery, never sent to Stripe again', async (ctx) => {
  const userId = uniqueId('buyer');
  const { orderId, intent } = await paidOrder(ctx, userId, 'usd-1000');
  const refundsAtStripe = ctx.standIn.refunds.length;
  const sql = ctx.server.ctx.sql;
  // What the handler records before it takes the coins back; the crash comes right after.
  const recordedThenCrashed = async (event: string, coins: number, amount: string) => {
    const eventId = (JSON.parse(event) as { id: string }).id;
    const id = `rf_x${eventId.replace(/[^A-Za-z0-9]/g, '').slice(-36)}`;
    await sql.begin(async (tx) => {
      const { bonus } = await refundSplit(tx, await lockOrder(tx, orderId), coins);
      await tx`insert into refunds (id, order_id, requested_by, coins, bonus_coins, amount, currency, status, cause, made_outside)
               values (${id}, ${orderId}, 'stripe', ${coins}, ${bonus}, ${amount}, 'USD', 'processing', 'refunded outside the app', true)`;
    });
    return id;
  };
  const first = chargeRefunded(intent.id, 300);
  const firstId = await recordedThenCrashed(first, 360, '3.00');
  await ctx.server.ctx.refunds.resume();
  assert.is((await http<Refund>(ctx.server, 'GET', `/v1/refunds/${firstId}`, { bearer: await token('refund-admin', 'admin') })).body.status, 'succeeded');
  assert.is(await balance(ctx.server, userId), 840, 'the sweep took the 360 coins back');
  assert.is((await deliver(ctx, first)).status, 200);
  assert.is(await balance(ctx.server, userId), 840, 'its redelivery takes nothing more');

  const second = chargeRefunded(intent.id, 600);
  await recordedThenCrashed(second, 360, '3.00');
  assert.is((await deliver(ctx, second)).status, 200);
  assert.is(await balance(ctx.server, userId), 480, 'the redelivery finished it');
  assert.is(ctx.standIn.refunds.length, refundsAtStripe, 'no refund was sent to Stripe');
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

stripeSuite('an event larger than other requests may be (a long description, full metadata) is applied; past 1 MiB, 413', async (ctx) => {
  const userId = uniqueId('buyer');
  const { intent } = await orderWithIntent(ctx, userId, 'usd-500');
  const metadata = { ...intent.metadata, ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`note_${i}`, 'm'.repeat(500)])) };
  const large = stripeEvent('payment_intent.succeeded', { ...intent, metadata, description: 'd'.repeat(100_000), object: 'payment_intent',
    amount_received: intent.amount, status: 'succeeded' });
  assert.ok(Buffer.byteLength(large) > limits.httpBodyBytesMax, 'larger than any other request may be');
  const applied = await deliver(ctx, large);
  assert.is(applied.status, 200, JSON.stringify(applied.body));
  assert.is(await balance(ctx.server, userId), 625);
  const huge = await deliver(ctx, stripeEvent('payment_intent.succeeded', { ...intent, description: 'd'.repeat(limits.webhookBodyBytesMax) }));
  assert.is(huge.status, 413);
});

stripeSuite('an event holding text jsonb refuses (U+0000, half a surrogate pair) is applied, its kept copy made storable', async (ctx) => {
  const userId = uniqueId('buyer');
  const { intent } = await orderWithIntent(ctx, userId, 'usd-500');
  const event = succeeded({ ...intent, metadata: { ...intent.metadata, ['note\u0000']: 'x' }, description: 'Zo\u0000e \ud800' } as typeof intent);
  const reply = await deliver(ctx, event);
  assert.is(reply.status, 200, JSON.stringify(reply.body));
  assert.is(await balance(ctx.server, userId), 625);
  const eventId = (JSON.parse(event) as { id: string }).id;
  const [kept] = await ctx.server.ctx.sql<{ description: string; processed: boolean }[]>`
    select payload->'data'->'object'->>'description' as description, processed_at is not null as processed from stripe_events where id = ${eventId}`;
  assert.equal([kept?.description, kept?.processed], ['Zo\ufffde \ufffd', true]);
});

stripeSuite.run();
