import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunningServer } from '../../server/server.js';
import { uniqueId } from '../helpers/env.js';
import { flushAndReconcile, http, startTestServer, token } from '../helpers/harness.js';

// Admins change the top-up packages while users buy them: new orders take the new terms,
// orders already placed keep theirs, and the bonus ladder every read asserts is kept.
interface Ctx { server: RunningServer; admin: string }
const packages = suite<Ctx>('coin package administration', {} as Ctx);

// SGD: a currency no other suite sells in, so their ladders and lists are left as they were.
const ids = ['sgd-100', 'sgd-1000', 'sgd-5000'];

packages.before(async (ctx) => {
  ctx.server = await startTestServer();
  ctx.admin = await token('admin-packages', 'admin');
});
packages.after(async (ctx) => {
  await ctx.server.ctx.sql`update coin_packages set active = false where id = any(${ids})`;
  await ctx.server.stop();
});

interface PackageRecord { id: string; price: string; currency: string; coins: number; bonusCoins: number; firstPurchaseBonusCoins: number; active: boolean; sortOrder: number }

const save = (ctx: Ctx, id: string, body: unknown) =>
  http<PackageRecord & { error: { code: string; message: string } }>(ctx.server, 'PUT', `/v1/admin/coin-packages/${id}`, { bearer: ctx.admin, body });

async function placeOrder(ctx: Ctx, userId: string, packageId: string) {
  return http<{ id: string; price: string; currency: string; coins: number; bonusCoins: number; error?: { code: string } }>(ctx.server, 'POST', '/v1/orders', {
    bearer: await token(userId, 'viewer'), body: { packageId }, headers: { 'idempotency-key': uniqueId('idem') },
  });
}

async function offered(ctx: Ctx): Promise<Record<string, unknown>[]> {
  return (await http<Record<string, unknown>[]>(ctx.server, 'GET', '/v1/coin-packages')).body.filter((pkg) => pkg.currency === 'SGD');
}

packages('new orders take a package\'s new terms, placed ones keep theirs, and a retired package still fulfils what was ordered', async (ctx) => {
  const small = await save(ctx, 'sgd-100', { price: '1.39', currency: 'SGD', coins: 100, firstPurchaseBonusCoins: 50, sortOrder: 31 });
  assert.equal([small.status, small.body.price, small.body.active, small.body.sortOrder], [200, '1.39', true, 31], JSON.stringify(small.body));
  assert.is((await save(ctx, 'sgd-1000', { price: '13.9', currency: 'SGD', coins: 1000, bonusCoins: 100, firstPurchaseBonusCoins: 30, sortOrder: 32 })).status, 200);
  assert.equal(await offered(ctx), [
    { id: 'sgd-100', price: '1.39', currency: 'SGD', coins: 100, bonusCoins: 0, firstPurchaseBonusCoins: 50 },
    { id: 'sgd-1000', price: '13.90', currency: 'SGD', coins: 1000, bonusCoins: 100, firstPurchaseBonusCoins: 30 },
  ]);

  const early = uniqueId('buyer');
  const placed = await placeOrder(ctx, early, 'sgd-1000');
  assert.equal([placed.status, placed.body.price, placed.body.coins, placed.body.bonusCoins], [201, '13.90', 1000, 100], JSON.stringify(placed.body));

  assert.is((await save(ctx, 'sgd-1000', { price: '12.90', currency: 'SGD', coins: 1000, bonusCoins: 120, firstPurchaseBonusCoins: 30, sortOrder: 32 })).status, 200);
  const later = await placeOrder(ctx, uniqueId('buyer'), 'sgd-1000');
  assert.equal([later.body.price, later.body.bonusCoins], ['12.90', 120], 'the new terms');

  const retired = await save(ctx, 'sgd-1000', { price: '12.90', currency: 'SGD', coins: 1000, bonusCoins: 120, firstPurchaseBonusCoins: 30, active: false, sortOrder: 32 });
  assert.equal([retired.status, retired.body.active], [200, false]);
  assert.equal((await offered(ctx)).map((pkg) => pkg.id), ['sgd-100']);
  const refused = await placeOrder(ctx, uniqueId('buyer'), 'sgd-1000');
  assert.equal([refused.status, refused.body.error?.code], [404, 'NOT_FOUND']);

  // The early order pays its own price and is credited as placed, its first-purchase bonus included.
  const paid = await http<{ status: string; price: string }>(ctx.server, 'POST', `/v1/orders/${placed.body.id}/sandbox-pay`, { bearer: await token(early, 'viewer') });
  assert.equal([paid.status, paid.body.status, paid.body.price], [200, 'fulfilled', '13.90'], JSON.stringify(paid.body));
  const wallet = await http<{ balance: number }>(ctx.server, 'GET', '/v1/wallet', { bearer: await token(early, 'viewer') });
  assert.is(wallet.body.balance, 1000 + 100 + 30);
  const all = await http<PackageRecord[]>(ctx.server, 'GET', '/v1/admin/coin-packages', { bearer: ctx.admin });
  assert.equal(all.body.filter((pkg) => pkg.currency === 'SGD').map((pkg) => [pkg.id, pkg.price, pkg.active]), [['sgd-100', '1.39', true], ['sgd-1000', '12.90', false]]);
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

packages('a change that breaks the bonus ladder, or any bad input, is refused with INVALID_ARGUMENT and changes nothing; only admins change packages', async (ctx) => {
  assert.is((await save(ctx, 'sgd-100', { price: '1.39', currency: 'SGD', coins: 100, firstPurchaseBonusCoins: 50, sortOrder: 31 })).status, 200);
  const before = await offered(ctx);
  // Dearer than sgd-100 with a smaller bonus share (0 % against 0 % is fine; 10 % then 5 % is not).
  assert.is((await save(ctx, 'sgd-1000', { price: '13.90', currency: 'SGD', coins: 1000, bonusCoins: 100, sortOrder: 32 })).status, 200);
  const broken = await save(ctx, 'sgd-5000', { price: '60.00', currency: 'SGD', coins: 5000, bonusCoins: 250, sortOrder: 33 });
  assert.equal([broken.status, broken.body.error?.code], [400, 'INVALID_ARGUMENT'], JSON.stringify(broken.body));
  assert.match(broken.body.error.message, /bonus/);
  const cheaperWithMore = await save(ctx, 'sgd-100', { price: '1.39', currency: 'SGD', coins: 100, bonusCoins: 20, sortOrder: 31 });
  assert.is(cheaperWithMore.status, 400, 'a cheaper pack may not overtake a dearer one either');
  const afterLadder = await offered(ctx);
  assert.equal(afterLadder.map((pkg) => pkg.id), ['sgd-100', 'sgd-1000']);
  assert.equal(afterLadder[0], before[0], 'the refused changes left sgd-100 as it was');

  const good = { price: '1.39', currency: 'SGD', coins: 100, firstPurchaseBonusCoins: 50, sortOrder: 31 };
  const bad: [string, unknown][] = [
    ['sgd-100', { ...good, price: '0' }], ['sgd-100', { ...good, price: '0.00' }], ['sgd-100', { ...good, price: '-1.39' }],
    ['sgd-100', { ...good, price: '1.399' }], ['sgd-100', { ...good, price: '1e3' }], ['sgd-100', { ...good, price: 1.39 }],
    ['sgd-100', { ...good, price: '9999999999999999' }], ['sgd-100', { ...good, price: ' 1.39' }], ['sgd-100', { ...good, currency: 'sgd' }],
    ['sgd-100', { ...good, currency: 'XXX' }], ['sgd-100', { ...good, coins: 0 }], ['sgd-100', { ...good, coins: 1.5 }],
    ['sgd-100', { ...good, coins: '100' }], ['sgd-100', { ...good, coins: 1e10 }], ['sgd-100', { ...good, bonusCoins: -1 }],
    ['sgd-100', { ...good, firstPurchaseBonusCoins: null }], ['sgd-100', { ...good, active: 'yes' }], ['sgd-100', { ...good, extra: 1 }],
    ['sgd-100', { price: '1.39', currency: 'SGD' }], ['SGD-100', good], ['sgd 100', good], ['x'.repeat(41), good],
  ];
  for (const [id, body] of bad) {
    const reply = await save(ctx, id, body);
    assert.equal([reply.status, reply.body.error?.code], [400, 'INVALID_ARGUMENT'], `${id} ${JSON.stringify(body)}`);
  }
  assert.equal(await offered(ctx), afterLadder, 'unchanged');
  for (const bearer of [await token('v', 'viewer'), await token('s', 'streamer'), undefined]) {
    const put = await http(ctx.server, 'PUT', '/v1/admin/coin-packages/sgd-100', { bearer, body: good });
    const list = await http(ctx.server, 'GET', '/v1/admin/coin-packages', { bearer });
    assert.equal([put.status, list.status], bearer === undefined ? [401, 401] : [403, 403]);
  }
});

packages.run();
