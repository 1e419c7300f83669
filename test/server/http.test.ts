import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { walletAccount } from '../../domain/accounts.js';
import { errorRegistry } from '../../domain/errors.js';
import { projectRoot } from '../../server/paths.js';
import type { RunningServer } from '../../server/server.js';
import { uniqueId } from '../helpers/env.js';
import { connectAs, flushAndReconcile, grant, http, openRoom, request, requestId, startTestServer, token } from '../helpers/harness.js';

interface Context { server: RunningServer }
const api = suite<Context>('HTTP API', {} as Context);

api.before(async (ctx) => { ctx.server = await startTestServer(); });
api.after(async (ctx) => { await ctx.server.stop(); });

api('health, readiness with journal lag, metrics and the OpenAPI document', async ({ server }) => {
  assert.is((await http(server, 'GET', '/health')).status, 200);
  const ready = await http<{ ok: boolean; journal: { entries: number } }>(server, 'GET', '/ready');
  assert.is(ready.status, 200);
  assert.is(ready.body.ok, true);
  assert.type(ready.body.journal.entries, 'number');
  const metrics = await server.app.inject({ method: 'GET', url: '/metrics' });
  assert.is(metrics.statusCode, 200);
  for (const name of ['gifts_total', 'gift_latency_seconds', 'wallet_store_seconds', 'journal_entries', 'journal_lag_seconds', 'reconcile_mismatches']) {
    assert.ok(metrics.body.includes(name), `metrics lack ${name}`);
  }
  // Redis's memory against its limit, so a full Redis is seen coming (see README Capacity).
  const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics.body)?.[1]);
  const [, maxmemory] = await server.ctx.redis.config('GET', 'maxmemory') as [string, string];
  assert.is(gauge('redis_maxmemory_bytes'), Number(maxmemory));
  const used = gauge('redis_used_memory_bytes');
  assert.ok(used > 100_000 && used < 16 * 1024 ** 3, `redis_used_memory_bytes ${used}`);
  const openapi = await http<{ openapi: string; paths: Record<string, unknown> }>(server, 'GET', '/docs/json');
  assert.ok(openapi.body.openapi.startsWith('3.'));
  for (const route of ['/v1/gifts', '/v1/rooms', '/v1/wallet', '/v1/wallet/entries', '/v1/admin/grants', '/v1/admin/reconcile']) {
    assert.ok(route in openapi.body.paths, `OpenAPI lacks ${route}`);
  }
  assert.is((await server.app.inject({ method: 'GET', url: '/docs' })).statusCode < 400, true);
});

api('the catalog lists about ten gifts from 1 to 10,000 coins', async ({ server }) => {
  const { body } = await http<{ id: string; name: string; coins: number }[]>(server, 'GET', '/v1/gifts');
  assert.ok(body.length >= 8 && body.length <= 12);
  assert.is(Math.min(...body.map((g) => g.coins)), 1);
  assert.is(Math.max(...body.map((g) => g.coins)), 10_000);
});

api('coin packages: decimal-string prices in each currency\'s decimals, bigger packs carry more bonus', async ({ server }) => {
  const { status, body } = await http<{ id: string; price: string; currency: string; coins: number; bonusCoins: number; firstPurchaseBonusCoins: number }[]>(server, 'GET', '/v1/coin-packages');
  assert.is(status, 200);
  const byId = new Map(body.map((p) => [p.id, p]));
  assert.equal(byId.get('usd-1000'), { id: 'usd-1000', price: '9.99', currency: 'USD', coins: 1000, bonusCoins: 100, firstPurchaseBonusCoins: 100 });
  assert.is(byId.get('jpy-1000')?.price, '1600');
  assert.is(byId.get('kwd-100')?.price, '0.300');
  for (const p of body) assert.match(p.price, /^\d+(\.\d+)?$/);
});

api('routes refuse missing tokens with 401 and wrong roles with 403, in the contract error shape', async ({ server }) => {
  const viewer = await token(uniqueId('v'), 'viewer');
  const cases: [string, 'GET' | 'POST', string, string | undefined, number][] = [
    ['wallet without token', 'GET', '/v1/wallet', undefined, 401],
    ['wallet with garbage token', 'GET', '/v1/wallet', 'garbage', 401],
    ['room as viewer', 'POST', '/v1/rooms', viewer, 403],
    ['grant as viewer', 'POST', '/v1/admin/grants', viewer, 403],
    ['reconcile as viewer', 'GET', '/v1/admin/reconcile', viewer, 403],
    ['earnings as viewer', 'GET', '/v1/streamers/me/earnings', viewer, 403],
  ];
  for (const [name, method, url, bearer, status] of cases) {
    const reply = await http<{ error: { code: string; message: string } }>(server, method, url, { ...(bearer === undefined ? {} : { bearer }), body: method === 'POST' ? { userId: 'x', coins: 1, reason: 'r' } : undefined });
    assert.is(reply.status, status, name);
    assert.is(reply.body.error.code, status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN', name);
  }
  assert.equal((await http(server, 'GET', '/v1/nope')).body, { error: { code: 'NOT_FOUND', message: errorRegistry.NOT_FOUND.message } });
  // The router's own refusals keep the contract's shape: a path that does not decode, a segment too long.
  for (const [url, status] of [['/v1/orders/%ED%A0%80', 400], ['/v1/orders/%E0%A4%A', 400], [`/v1/orders/${'a'.repeat(101)}`, 414]] as const) {
    const reply = await http<{ error: { code: string; message: string } }>(server, 'GET', url, { bearer: viewer });
    assert.is(reply.status, status, url);
    assert.is(reply.body.error.code, 'INVALID_ARGUMENT', url);
    assert.type(reply.body.error.message, 'string');
  }
});

api('grants: validated, one journal entry each, idempotent by key, 409 for a reused key with another body', async ({ server }) => {
  const admin = await token('admin-http', 'admin');
  const userId = uniqueId('v');
  for (const body of [{ userId, coins: 0, reason: 'r' }, { userId, coins: -5, reason: 'r' }, { userId, coins: 1.5, reason: 'r' },
    { userId, coins: '10', reason: 'r' }, { userId, coins: 2 ** 53, reason: 'r' }, { userId: 'bad id!', coins: 1, reason: 'r' },
    { userId, coins: 1 }, { userId, coins: 1, reason: 'r', extra: true }, { userId, coins: 1, reason: '' }]) {
    const reply = await http<{ error: { code: string } }>(server, 'POST', '/v1/admin/grants', { bearer: admin, body });
    assert.is(reply.status, 400, JSON.stringify(body));
    assert.is(reply.body.error.code, 'INVALID_ARGUMENT');
  }
  const headers = { 'idempotency-key': uniqueId('grant') };
  const first = await http<{ entryId: string; balance: number; replay: boolean }>(server, 'POST', '/v1/admin/grants', { bearer: admin, body: { userId, coins: 25, reason: 'launch' }, headers });
  assert.is(first.status, 201);
  assert.is(first.body.balance, 25);
  const again = await http<{ entryId: string; replay: boolean }>(server, 'POST', '/v1/admin/grants', { bearer: admin, body: { userId, coins: 25, reason: 'launch' }, headers });
  assert.is(again.body.entryId, first.body.entryId);
  assert.is(again.body.replay, true);
  const conflict = await http<{ error: { code: string } }>(server, 'POST', '/v1/admin/grants', { bearer: admin, body: { userId, coins: 26, reason: 'launch' }, headers });
  assert.is(conflict.status, 409);
  assert.is(conflict.body.error.code, 'CONFLICT');
  const wallet = await http<{ balance: number; frozen: boolean; userId: string }>(server, 'GET', '/v1/wallet', { bearer: await token(userId, 'viewer') });
  assert.equal(wallet.body, { userId, balance: 25, frozen: false });
});

api('a body that is not JSON, or reaches for a prototype, is refused 400 with the reason, and grants nothing', async ({ server }) => {
  const admin = await token('admin-json', 'admin');
  const userId = uniqueId('v-json');
  const asJson = { 'content-type': 'application/json' };
  const cases: [string, string, RegExp][] = [
    ['syntax', `{"userId":"${userId}","coins":5,`, /^the body is not valid JSON: /],
    ['empty', '', /^the body is empty/],
    ['__proto__', `{"userId":"${userId}","coins":5,"reason":"r","__proto__":{"coins":9}}`, /"__proto__" key/],
    ['nested __proto__', `{"userId":"${userId}","coins":5,"reason":{"a":[{"__proto__":{}}]}}`, /"__proto__" key/],
    ['constructor.prototype', `{"userId":"${userId}","coins":5,"reason":"r","constructor":{"prototype":{"coins":9}}}`, /"constructor" key holding "prototype"/],
  ];
  for (const [name, body, message] of cases) {
    const reply = await http<{ error: { code: string; message: string } }>(server, 'POST', '/v1/admin/grants', {
      bearer: admin, body, headers: { ...asJson, 'idempotency-key': uniqueId('json-key') } });
    assert.is(reply.status, 400, name);
    assert.is(reply.body.error.code, 'INVALID_ARGUMENT', name);
    assert.match(reply.body.error.message, message, name);
  }
  // The same document without the forbidden key is taken, with a charset in its content-type too.
  const taken = await http<{ balance: number }>(server, 'POST', '/v1/admin/grants', { bearer: admin,
    body: `{"userId":"${userId}","coins":5,"reason":"r"}`, headers: { 'content-type': 'application/json; charset=utf-8' } });
  assert.is(taken.status, 201);
  assert.is(taken.body.balance, 5, 'only the well-formed grant credited coins');
});

api('grants raced with one Idempotency-Key credit once: one entry, every answer names it', async ({ server }) => {
  const admin = await token('admin-race', 'admin');
  const userId = uniqueId('v-race');
  const headers = { 'idempotency-key': uniqueId('race-key') };
  const replies = await Promise.all(Array.from({ length: 12 }, () =>
    http<{ entryId: string; balance: number; replay: boolean }>(server, 'POST', '/v1/admin/grants', { bearer: admin, body: { userId, coins: 40, reason: 'race' }, headers })));
  assert.ok(replies.every((reply) => reply.status === 201 || reply.status === 200), JSON.stringify(replies.map((r) => [r.status, r.body])));
  assert.is(new Set(replies.map((reply) => reply.body.entryId)).size, 1, 'one entry');
  assert.is(replies.filter((reply) => !reply.body.replay).length, 1, 'one first answer, the rest replays');
  const wallet = await http<{ balance: number }>(server, 'GET', '/v1/wallet', { bearer: await token(userId, 'viewer') });
  assert.is(wallet.body.balance, 40);
  const report = await flushAndReconcile(server);
  assert.ok(report.ok, JSON.stringify(report.mismatches));
  const [entries] = await server.ctx.sql<{ n: number }[]>`
    select count(*)::int as n from postings where account_id = ${walletAccount(userId)}`;
  assert.is(entries?.n, 1, 'one posting to the wallet in the ledger');
});

api('without Stripe, sending an unknown payout answers 404, not that Stripe is missing', async ({ server }) => {
  assert.is(server.ctx.stripe, null);
  const admin = await token('admin-http', 'admin');
  const reply = await http<{ error: { code: string } }>(server, 'POST', '/v1/admin/payouts/po_no_such_payout/send', { bearer: admin });
  assert.equal([reply.status, reply.body.error.code], [404, 'NOT_FOUND']);
});

api('a body over the limit answers 413 PAYLOAD_TOO_LARGE', async ({ server }) => {
  const reply = await http<{ error: { code: string } }>(server, 'POST', '/v1/admin/grants', {
    bearer: await token('admin-http', 'admin'), body: { userId: 'u', coins: 1, reason: 'x'.repeat(100_000) } });
  assert.is(reply.status, 413);
  assert.is(reply.body.error.code, 'PAYLOAD_TOO_LARGE');
});

api('text PostgreSQL cannot store (U+0000, a lone surrogate) is refused with INVALID_ARGUMENT anywhere, and creates nothing', async ({ server }) => {
  const admin = await token('admin-nul', 'admin');
  const streamer = uniqueId('s-nul');
  const agency = uniqueId('ag-nul');
  const user = uniqueId('v-nul');
  const asJson = { 'content-type': 'application/json' };
  const refused = [
    await http(server, 'POST', '/v1/rooms', { bearer: await token(streamer, 'streamer'), body: { title: 'live\u0000' } }),
    await http(server, 'PUT', `/v1/admin/agencies/${agency}`, { bearer: admin, body: { name: 'a\u0000b' } }),
    await http(server, 'POST', '/v1/admin/grants', { bearer: admin, headers: { 'idempotency-key': uniqueId('nul-key') },
      body: { userId: user, coins: 5, reason: 'welcome\u0000' } }),
    await http(server, 'PUT', `/v1/admin/tax-rates/NUL_${Date.now()}`, { bearer: admin, body: { rate: '0.10', description: '\u0000' } }),
    await http(server, 'GET', '/v1/admin/settlements?payee=streamer%00x', { bearer: admin }),
    await http(server, 'GET', '/v1/admin/settlements?period=2026%00', { bearer: admin }),
    await http(server, 'GET', '/v1/admin/payouts?payee=%00', { bearer: admin }),
    // Deep inside, or in a key: the whole body is looked at.
    await http(server, 'PUT', `/v1/admin/agencies/${agency}`, { bearer: admin, body: { name: 'ok', ['k\u0000']: 1 } }),
    await http(server, 'POST', '/v1/admin/grants', { bearer: admin, body: JSON.stringify({ userId: user, coins: 1, reason: [[[['\u0000']]]] }),
      headers: { 'content-type': 'application/json' } }),
    // Half of a surrogate pair has no UTF-8 form: jsonb refuses its escape, so a grant's
    // reason carrying one could never be flushed, and would stop the ledger behind it.
    await http(server, 'POST', '/v1/admin/grants', { bearer: admin, headers: { 'idempotency-key': uniqueId('surrogate-key'), ...asJson },
      body: '{"userId":"' + user + '","coins":5,"reason":"welcome \\ud800"}' }),
    await http(server, 'POST', '/v1/admin/grants', { bearer: admin, body: '{"userId":"' + user + '","coins":5,"reason":"\\udc00 first"}', headers: asJson }),
    await http(server, 'PUT', `/v1/admin/agencies/${agency}`, { bearer: admin, body: '{"name":"ok","\\ud83d":1}', headers: asJson }),
    await http(server, 'POST', '/v1/rooms', { bearer: await token(streamer, 'streamer'), body: '{"title":"live \\ude00\\ud83d"}', headers: asJson }),
  ];
  for (const reply of refused) {
    assert.is(reply.status, 400, JSON.stringify(reply.body));
    assert.is((reply.body as { error: { code: string } }).error.code, 'INVALID_ARGUMENT');
  }
  assert.is(await server.ctx.payees.agencyExists(agency), false, 'no agency was made');
  const wallet = await http<{ balance: number }>(server, 'GET', '/v1/wallet', { bearer: await token(user, 'viewer') });
  assert.is(wallet.body.balance, 0, 'no coins were granted');
  // A deeply nested body is walked without running out of stack.
  const deep = `{"name":${'['.repeat(20_000)}"x"${']'.repeat(20_000)}}`;
  const nested = await http(server, 'PUT', `/v1/admin/agencies/${agency}`, { bearer: admin, body: deep, headers: { 'content-type': 'application/json' } });
  assert.is(nested.status, 400);
});

api('wallet entries are paginated newest first; earnings show the streamer\'s share', async ({ server }) => {
  const streamerId = uniqueId('s');
  const roomId = await openRoom(server, streamerId);
  const userId = uniqueId('v');
  await grant(server, userId, 1000);
  const socket = await connectAs(server, userId);
  await request(socket, 'room:join', { roomId });
  for (let i = 0; i < 7; i += 1) await request(socket, 'gift:send', { requestId: requestId(), roomId, giftId: 'heart', count: 1 });
  socket.close();
  await flushAndReconcile(server);
  const bearer = await token(userId, 'viewer');
  const seen: number[] = [];
  let cursor: string | null = null;
  do {
    const url: string = `/v1/wallet/entries?limit=3${cursor === null ? '' : `&before=${cursor}`}`;
    const page = await http<{ entries: { amount: number; postingId: number }[]; nextCursor: string | null }>(server, 'GET', url, { bearer });
    assert.is(page.status, 200);
    assert.ok(page.body.entries.length <= 3);
    seen.push(...page.body.entries.map((e) => e.amount));
    cursor = page.body.nextCursor;
  } while (cursor !== null);
  assert.equal(seen, [-5, -5, -5, -5, -5, -5, -5, 1000]);
  // A last page that is exactly full says so: no cursor to an empty page.
  type Page = { entries: unknown[]; nextCursor: string | null };
  const first = await http<Page>(server, 'GET', '/v1/wallet/entries?limit=4', { bearer });
  const last = await http<Page>(server, 'GET', `/v1/wallet/entries?limit=4&before=${first.body.nextCursor ?? ''}`, { bearer });
  assert.equal([first.body.entries.length, last.body.entries.length, last.body.nextCursor], [4, 4, null]);
  assert.is((await http(server, 'GET', '/v1/wallet/entries?limit=500', { bearer })).status, 400);
  assert.is((await http(server, 'GET', '/v1/wallet/entries?before=abc', { bearer })).status, 400);
  const earnings = await http<{ total: number; balance: number; today: number; ledgerTotal: number }>(server, 'GET', '/v1/streamers/me/earnings', { bearer: await token(streamerId, 'streamer') });
  // 7 five-coin gifts at 70 %: 3.5 coins each, carried fairly: 24 of 24.5.
  assert.equal([earnings.body.total, earnings.body.balance, earnings.body.today, earnings.body.ledgerTotal], [24, 24, 24, 24]);
});

api('every error code in the registry is in the protocol table with the same status, and no other', async () => {
  const doc = readFileSync(path.join(projectRoot, 'docs', 'protocol.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
  const registry = Object.entries(errorRegistry).map(([code, entry]) => [code, entry.httpStatus]);
  assert.equal(rows.sort(), registry.sort());
  const contract = ['INVALID_ARGUMENT', 'UNAUTHENTICATED', 'FORBIDDEN', 'UNKNOWN_ROOM', 'UNKNOWN_GIFT', 'NOT_IN_ROOM',
    'INSUFFICIENT_FUNDS', 'ACCOUNT_FROZEN', 'RATE_LIMITED', 'UNAVAILABLE'];
  for (const code of contract) assert.ok(code in errorRegistry, `contract code ${code} missing`);
});

api.run();
