import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'socket.io-client';
import type { RunningServer } from '../../server/server.js';
import { GiftCatalog } from '../../server/services/catalog.js';
import { uniqueId } from '../helpers/env.js';
import { connectAs, flushAndReconcile, grant, http, openRoom, request, requestId, startTestServer, token } from '../helpers/harness.js';

// Admins change the gift catalog while gifts flow: the price charged, the catalog shown and
// the gifts refused follow at once on the node that took the change, and on every node soon.
interface Ctx { server: RunningServer; admin: string; sockets: Socket[]; added: string[] }
const catalog = suite<Ctx>('gift catalog administration', {} as Ctx);

catalog.before(async (ctx) => {
  ctx.server = await startTestServer();
  ctx.admin = await token('admin-catalog', 'admin');
  ctx.sockets = [];
  ctx.added = [];
});
catalog.after(async (ctx) => {
  for (const socket of ctx.sockets) socket.close();
  // The suites share one database: gifts added here leave the catalog other suites see.
  for (const id of ctx.added) await ctx.server.ctx.sql`update gifts set active = false where id = ${id}`;
  await ctx.server.stop();
});

interface GiftRecord { id: string; name: string; coins: number; active: boolean; sortOrder: number; updatedAt: string }

function newGiftId(ctx: Ctx): string {
  const id = `t-${randomBytes(5).toString('hex')}`;
  ctx.added.push(id);
  return id;
}

async function saveGift(ctx: Ctx, id: string, body: Record<string, unknown>) {
  return http<GiftRecord & { error: { code: string } }>(ctx.server, 'PUT', `/v1/admin/gifts/${id}`, { bearer: ctx.admin, body });
}

async function shown(ctx: Ctx): Promise<{ id: string; name: string; coins: number }[]> {
  const reply = await http<{ id: string; name: string; coins: number }[]>(ctx.server, 'GET', '/v1/gifts');
  assert.is(reply.status, 200);
  return reply.body;
}

catalog('an added gift is offered and charged at its price; a new price is charged at once; a replay keeps its first price; a retired gift is refused', async (ctx) => {
  const id = newGiftId(ctx);
  const added = await saveGift(ctx, id, { name: 'Snowman', coins: 600, sortOrder: 5 });
  assert.is(added.status, 200, JSON.stringify(added.body));
  assert.equal([added.body.id, added.body.name, added.body.coins, added.body.active, added.body.sortOrder], [id, 'Snowman', 600, true, 5]);
  const list = await shown(ctx);
  assert.equal(list.find((gift) => gift.id === id), { id, name: 'Snowman', coins: 600 });
  // Sort order first, then price: after the seeded crown (5, 100 coins), before the cheaper rocket (6, 500).
  const ids = list.map((gift) => gift.id);
  assert.ok(ids.indexOf('crown') < ids.indexOf(id) && ids.indexOf(id) < ids.indexOf('rocket'), ids.join(','));

  const viewer = uniqueId('viewer');
  await grant(ctx.server, viewer, 5_000);
  const roomId = await openRoom(ctx.server, uniqueId('streamer'));
  const socket = await connectAs(ctx.server, viewer);
  ctx.sockets.push(socket);
  assert.ok((await request(socket, 'room:join', { roomId })).ok);
  const first = { requestId: requestId(), roomId, giftId: id, count: 2 };
  const charged = await request(socket, 'gift:send', first);
  assert.equal([charged.ok, charged.charged, charged.balance], [true, 1_200, 3_800]);

  assert.is((await saveGift(ctx, id, { name: 'Snowman', coins: 650, sortOrder: 5 })).status, 200);
  const dearer = await request(socket, 'gift:send', { requestId: requestId(), roomId, giftId: id, count: 1 });
  assert.equal([dearer.ok, dearer.charged, dearer.balance], [true, 650, 3_150], 'the new price, at once');
  const replay = await request(socket, 'gift:send', first);
  assert.equal([replay.ok, replay.charged, replay.balance, replay.giftEventId], [true, 1_200, 3_800, charged.giftEventId], 'the first ack again, charged once');

  const retired = await saveGift(ctx, id, { name: 'Snowman', coins: 650, active: false });
  assert.equal([retired.status, retired.body.active], [200, false]);
  const refused = await request(socket, 'gift:send', { requestId: requestId(), roomId, giftId: id, count: 1 });
  assert.equal([refused.ok, refused.error?.code], [false, 'UNKNOWN_GIFT']);
  assert.is((await request(socket, 'wallet:get', {})).balance, 3_150, 'nothing charged');
  assert.not.ok((await shown(ctx)).some((gift) => gift.id === id), 'not offered');
  const everything = await http<GiftRecord[]>(ctx.server, 'GET', '/v1/admin/gifts', { bearer: ctx.admin });
  assert.equal(everything.body.filter((gift) => gift.id === id).map((gift) => [gift.coins, gift.active]), [[650, false]], 'the admin still sees it');
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

catalog('bad changes are refused with INVALID_ARGUMENT and change nothing; only admins change the catalog', async (ctx) => {
  const id = newGiftId(ctx);
  assert.is((await saveGift(ctx, id, { name: 'Comet', coins: 300 })).status, 200);
  const bad: [string, Record<string, unknown>][] = [
    [id, { name: 'Comet', coins: 0 }], [id, { name: 'Comet', coins: -5 }], [id, { name: 'Comet', coins: 1.5 }],
    [id, { name: 'Comet', coins: '300' }], [id, { name: 'Comet', coins: 1_000_001 }], [id, { name: 'Comet', coins: 1e21 }],
    [id, { name: 'Comet', coins: null }], [id, { name: '', coins: 300 }], [id, { name: '   ', coins: 300 }],
    [id, { name: 'x'.repeat(41), coins: 300 }], [id, { coins: 300 }], [id, { name: 'Comet' }], [id, { name: 'Comet', coins: 300, active: 'no' }],
    [id, { name: 'Comet', coins: 300, sortOrder: 2_000_000 }], [id, { name: 'Comet', coins: 300, price: 1 }],
    ['Bad-Id', { name: 'Comet', coins: 300 }], ['a'.repeat(33), { name: 'Comet', coins: 300 }], ['comet%00', { name: 'Comet', coins: 300 }],
  ];
  for (const [giftId, body] of bad) {
    const reply = await saveGift(ctx, giftId, body);
    assert.equal([reply.status, reply.body.error?.code], [400, 'INVALID_ARGUMENT'], `${giftId} ${JSON.stringify(body)}`);
  }
  assert.equal((await shown(ctx)).find((gift) => gift.id === id), { id, name: 'Comet', coins: 300 }, 'unchanged');
  for (const bearer of [await token('v', 'viewer'), await token('s', 'streamer'), undefined]) {
    const put = await http(ctx.server, 'PUT', `/v1/admin/gifts/${id}`, { bearer, body: { name: 'Comet', coins: 1 } });
    const list = await http(ctx.server, 'GET', '/v1/admin/gifts', { bearer });
    assert.equal([put.status, list.status], bearer === undefined ? [401, 401] : [403, 403]);
  }
  assert.equal((await shown(ctx)).find((gift) => gift.id === id)?.coins, 300);
});

catalog('another node charges the new price after its 2 s check; a change made straight in the table counts too', async (ctx) => {
  const sql = ctx.server.ctx.sql;
  const other = new GiftCatalog(sql);
  await other.load();
  const id = newGiftId(ctx);
  assert.is(other.get(id), undefined);
  assert.is((await saveGift(ctx, id, { name: 'Aurora', coins: 700 })).status, 200);
  assert.is(other.get(id), undefined, 'its copy is under 2 s old: not asked yet');
  const deadline = Date.now() + 6_000;
  while (other.get(id)?.coins !== 700 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.is(other.get(id)?.coins, 700, 'seen after the check');
  // A change straight in the table (an operator, a migration) counts too.
  await sql`update gifts set coins = 800 where id = ${id}`;
  await other.load();
  assert.is(other.get(id)?.coins, 800);
});

catalog.run();
