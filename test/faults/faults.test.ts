import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { connectPostgres } from '../../server/db/sql.js';
import { startLocalPostgres } from '../../server/local-services/postgres.js';
import { startLocalRedis } from '../../server/local-services/redis.js';
import { isAlive, waitForExit } from '../../server/local-services/processes.js';
import { projectRoot } from '../../server/paths.js';
import { uniqueId } from '../helpers/env.js';
import { GiftStorm, type AckedGift } from '../helpers/gift-storm.js';
import { connect, request, requestId, token } from '../helpers/harness.js';
import { ServerProcess } from '../../scripts/server-process.js';
import { testAuthSecret } from '../helpers/env.js';
import { histogramBuckets } from '../../bench/stats.js';

// Each fault test runs the server as `npm start` does, storms it with gifts, breaks
// something with SIGKILL, recovers, and then requires: every acked gift in the ledger
// exactly once, and a clean reconcile.

const faults = suite('faults');
const viewerCoins = 1_000_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function api<T>(server: ServerProcess, method: string, url: string, bearer: string, body?: unknown): Promise<T> {
  const response = await fetch(`${server.url}${url}`, {
    method, headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return await response.json() as T;
}

async function prepare(server: ServerProcess): Promise<{ roomId: string; streamerId: string; viewers: string[]; admin: string }> {
  const admin = await token('fault-admin', 'admin');
  const viewers = [uniqueId('v'), uniqueId('v'), uniqueId('v')];
  for (const userId of viewers) await api(server, 'POST', '/v1/admin/grants', admin, { userId, coins: viewerCoins, reason: 'storm' });
  const streamerId = uniqueId('s');
  const room = await api<{ id: string }>(server, 'POST', '/v1/rooms', await token(streamerId, 'streamer'), {});
  return { roomId: room.id, streamerId, viewers, admin };
}

async function storm(server: ServerProcess, roomId: string, viewers: string[], ms: number,
  fault?: (running: GiftStorm) => Promise<void>): Promise<GiftStorm> {
  const gifts = await GiftStorm.start(server.url, roomId, viewers);
  await sleep(ms);
  await fault?.(gifts);
  await sleep(300);
  await gifts.stop();
  return gifts;
}

async function drained(server: ServerProcess, admin: string): Promise<void> {
  for (let i = 0; i < 300; i += 1) {
    const report = await api<{ unflushedEntries: number }>(server, 'GET', '/v1/admin/reconcile', admin);
    if (report.unflushedEntries === 0) return;
    await sleep(100);
  }
  throw new Error('the journal did not drain within 30 s');
}

async function assertExactlyOnceAndClean(server: ServerProcess, admin: string, acked: AckedGift[], viewers: string[]): Promise<void> {
  assert.ok(acked.length > 0, 'the storm acked no gift');
  await drained(server, admin);
  const sql = connectPostgres(server.databaseUrl, { max: 1 });
  try {
    const rows = await sql<{ id: string; postings: bigint }[]>`
      select e.id::text, count(p.id)::bigint as postings from journal_entries e join postings p on p.entry_id = e.id
       where e.id = any(string_to_array(${acked.map((a) => a.giftEventId).join(',')}, ',')::uuid[]) group by e.id`;
    assert.is(rows.length, new Set(acked.map((a) => a.giftEventId)).size, 'an acked gift is missing from the ledger');
    assert.ok(rows.every((r) => r.postings >= 2n));
    // No coin made or lost: each viewer's ledger balance is the grant less 5 per gift entry.
    for (const userId of viewers) {
      const [row] = await sql<{ balance: string; gifts: string }[]>`
        select sum(p.amount)::text as balance, count(*) filter (where e.kind = 'gift')::text as gifts
          from postings p join journal_entries e on e.id = p.entry_id where p.account_id = ${`wallet:${userId}`}`;
      assert.is(Number(row?.balance), viewerCoins - 5 * Number(row?.gifts), `viewer ${userId}`);
    }
  } finally {
    await sql.end();
  }
  const report = await api<{ ok: boolean }>(server, 'GET', '/v1/admin/reconcile', admin);
  assert.ok(report.ok, JSON.stringify(report));
}

async function assertReplaysAnswerFirstAck(server: ServerProcess, acked: AckedGift[]): Promise<void> {
  const sample = acked.slice(-5);
  for (const gift of sample) {
    const socket = await connect(server.url, await token(gift.userId, 'viewer'));
    await request(socket, 'room:join', { roomId: gift.roomId });
    const again = await request(socket, 'gift:send', { requestId: gift.requestId, roomId: gift.roomId, giftId: 'heart', count: 1 });
    socket.close();
    assert.equal([again.giftEventId, again.charged, again.balance, again.combo], [gift.giftEventId, gift.charged, gift.balance, gift.combo]);
  }
}

interface FaultRun { server: ServerProcess; roomId: string; streamerId: string; viewers: string[]; admin: string }

/** Starts a server on its own data, funds viewers and opens a room, runs the body, and removes it all. */
async function withServer(env: Record<string, string>, body: (run: FaultRun) => Promise<void>): Promise<void> {
  const server = await ServerProcess.create({ AUTH_SECRET: testAuthSecret, ...env });
  try {
    await server.start();
    await body({ server, ...await prepare(server) });
  } finally {
    await server.destroy();
  }
}

faults('(a) kill -9 the server during a gift storm, restart: every acked gift is in the ledger exactly once', async () => {
  await withServer({}, async ({ server, roomId, viewers, admin }) => {
    const gifts = await storm(server, roomId, viewers, 1_500, () => server.kill9());
    await server.start();
    await assertExactlyOnceAndClean(server, admin, gifts.acked, viewers);
    await assertReplaysAnswerFirstAck(server, gifts.acked);
  });
});

faults('(b) kill -9 Redis during a storm in durable mode, restart it: every acked gift survives', async () => {
  await withServer({ DURABILITY: 'durable' }, async ({ server, roomId, viewers, admin }) => {
    const gifts = await storm(server, roomId, viewers, 1_500, async () => {
      const pid = server.redisPid();
      assert.ok(pid !== null && isAlive(pid));
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid, 5_000);
      await sleep(500);
      await startLocalRedis({ dataDir: path.join(server.dataDir, 'redis'), port: server.ports.redisPort, durability: 'durable' });
    });
    await sleep(1_000);
    await assertExactlyOnceAndClean(server, admin, gifts.acked, viewers);
    await assertReplaysAnswerFirstAck(server, gifts.acked);
  });
});

faults('(c) PostgreSQL stopped for a few seconds during a storm: gifts go on, the backlog drains', async () => {
  await withServer({}, async ({ server, roomId, viewers, admin }) => {
    let ackedWhileDown = 0;
    const gifts = await storm(server, roomId, viewers, 800, async (running) => {
      const pid = server.postgresPid();
      assert.ok(pid !== null);
      process.kill(pid, 'SIGINT');
      await waitForExit(pid, 20_000);
      const before = running.acked.length;
      // Long enough to outlast an fsync stall while PostgreSQL writes its shutdown checkpoint.
      await sleep(4_000);
      ackedWhileDown = running.acked.length - before;
      await startLocalPostgres({ dataDir: path.join(server.dataDir, 'postgres', 'cluster'), port: server.ports.postgresPort, database: 'gifting' });
    });
    assert.ok(ackedWhileDown > 0, `no gift acked while PostgreSQL was down (acked ${gifts.acked.length}, errors ${JSON.stringify([...gifts.errors])})`);
    // The outage outlasts the room recheck interval: the room, known open, stays open.
    assert.is(gifts.errors.get('UNKNOWN_ROOM') ?? 0, 0, JSON.stringify([...gifts.errors]));
    await assertExactlyOnceAndClean(server, admin, gifts.acked, viewers);
  });
});

faults('(d) the flusher killed between COMMIT and XACK: the next run writes no duplicate', async () => {
  await withServer({ FLUSHER: 'off' }, async ({ server, roomId, viewers, admin }) => {
    const gifts = await storm(server, roomId, viewers, 1_000);
    const flusher = (crash: boolean) => spawnSync(process.execPath, [path.join(projectRoot, 'dist', 'scripts', 'flusher.js')], {
      env: { ...server.scriptEnv(), FLUSHER_NAME: 'fault-d', ...(crash ? { FLUSHER_CRASH_AFTER_COMMIT: '1' } : {}) },
      timeout: crash ? 30_000 : 4_000, encoding: 'utf8',
    });
    const crashed = flusher(true);
    assert.is(crashed.signal, 'SIGKILL', `the flusher should die after its first COMMIT: ${crashed.stderr}`);
    flusher(false);
    await assertExactlyOnceAndClean(server, admin, gifts.acked, viewers);
  });
});

faults('(e) Redis wiped, rebuild-wallets: balances, earnings, live boards, replays and admins\' freezes are what they were', async () => {
  await withServer({}, async ({ server, roomId, streamerId, viewers, admin }) => {
    const gifts = await storm(server, roomId, viewers, 1_000);
    const suspect = uniqueId('suspect');
    const frozen = await api<{ frozen: boolean }>(server, 'POST', `/v1/admin/users/${suspect}/freeze`, admin, { reason: 'kept across a rebuild' });
    assert.is(frozen.frozen, true);
    await drained(server, admin);
    const balancesBefore = await Promise.all(viewers.map(async (userId) => api<{ balance: number }>(server, 'GET', '/v1/wallet', await token(userId, 'viewer'))));
    const earnings = async () => {
      const figures = await api<{ total: number; unsettled: number; month: number; liveSession: unknown[] }>(server, 'GET', '/v1/streamers/me/earnings', await token(streamerId, 'streamer'));
      return [figures.total, figures.unsettled, figures.month, figures.liveSession];
    };
    const earningsBefore = await earnings();
    assert.ok(Number(earningsBefore[0]) > 0);
    await server.kill9();
    const redis = new Redis(server.redisUrl);
    await redis.flushall();
    redis.disconnect();
    const rebuild = spawnSync(process.execPath, [path.join(projectRoot, 'dist', 'scripts', 'rebuild-wallets.js')], { env: server.scriptEnv(), encoding: 'utf8', timeout: 60_000 });
    assert.is(rebuild.status, 0, rebuild.stderr);
    await server.start();
    const balancesAfter = await Promise.all(viewers.map(async (userId) => api<{ balance: number; frozen: boolean }>(server, 'GET', '/v1/wallet', await token(userId, 'viewer'))));
    assert.equal(balancesAfter.map((b) => b.balance), balancesBefore.map((b) => b.balance));
    assert.equal(await earnings(), earningsBefore, 'lifetime, unsettled, month and the room\'s board are rebuilt from the ledger');
    const suspectAfter = await api<{ frozen: boolean; adminFreeze: { reason: string } | null }>(server, 'GET', `/v1/admin/users/${suspect}/freeze`, admin);
    assert.equal([suspectAfter.frozen, suspectAfter.adminFreeze?.reason], [true, 'kept across a rebuild']);
    assert.ok(balancesAfter.every((wallet) => wallet.frozen === false), 'nobody else is frozen');
    await assertExactlyOnceAndClean(server, admin, gifts.acked, viewers);
    await assertReplaysAnswerFirstAck(server, gifts.acked);
  });
});

faults('(f) power cut: server, Redis and PostgreSQL killed together, npm start again on the same data', async () => {
  await withServer({}, async ({ server, roomId, viewers, admin }) => {
    const gifts = await storm(server, roomId, viewers, 1_500, async () => {
      const pids = [server.child?.pid, server.redisPid(), server.postgresPid()];
      for (const pid of pids) if (pid !== undefined && pid !== null) process.kill(pid, 'SIGKILL');
      for (const pid of pids) if (pid !== undefined && pid !== null) await waitForExit(pid, 5_000);
      server.child = null;
    });
    await server.start();
    await assertExactlyOnceAndClean(server, admin, gifts.acked, viewers);
    await assertReplaysAnswerFirstAck(server, gifts.acked);
  });
});

faults('(g) Redis stops answering (SIGSTOP): gifts, wallet reads, /ready and /metrics answer within the timeout; after it resumes, a retry is charged once', async () => {
  await withServer({ STORAGE_TIMEOUT_MS: '1000' }, async ({ server, roomId, viewers, admin }) => {
    const viewer = viewers[0] ?? '';
    const socket = await connect(server.url, await token(viewer, 'viewer'));
    await request(socket, 'room:join', { roomId });
    const gift = { requestId: requestId(), roomId, giftId: 'heart', count: 1 };
    const pid = server.redisPid();
    assert.ok(pid !== null && isAlive(pid));
    process.kill(pid, 'SIGSTOP');
    try {
      const started = Date.now();
      assert.is((await request(socket, 'gift:send', gift, 20_000)).error?.code, 'UNAVAILABLE');
      assert.is((await request(socket, 'wallet:get', {}, 20_000)).error?.code, 'UNAVAILABLE');
      const ready = await fetch(`${server.url}/ready`, { signal: AbortSignal.timeout(20_000) });
      assert.equal([ready.status, (await ready.json() as { redis: boolean }).redis], [503, false]);
      // The scrape still works in the outage, when it is wanted most.
      const metrics = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(20_000) });
      const scrape = await metrics.text();
      assert.ok(metrics.status === 200 && scrape.includes('realtime_sockets'));
      // The gift that timed out is in the wallet store's latency, at the timeout: an operator
      // sees that the gifts' time went to Redis.
      const giftCalls = histogramBuckets(scrape, 'wallet_store_seconds', 'operation="gift"');
      assert.equal([giftCalls.get('0.5'), giftCalls.get('5')], [0, 1], JSON.stringify([...giftCalls]));
      assert.ok(Date.now() - started < 10_000, `answered in ${Date.now() - started} ms`);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // The stalled attempt may have run once Redis resumed: the retry then answers its ack.
    const retried = await request(socket, 'gift:send', gift);
    assert.ok(retried.ok, JSON.stringify(retried));
    assert.equal(await request(socket, 'wallet:get', {}), { ok: true, balance: viewerCoins - 5, frozen: false });
    socket.close();
    await drained(server, admin);
    const report = await api<{ ok: boolean }>(server, 'GET', '/v1/admin/reconcile', admin);
    assert.ok(report.ok, JSON.stringify(report));
  });
});

faults('(h) PostgreSQL stops answering (SIGSTOP): gifts to a known room go on; a join it must ask about, /ready and HTTP reads answer UNAVAILABLE in time', async () => {
  await withServer({ STORAGE_TIMEOUT_MS: '1000', HTTP_TIMEOUT_MS: '1500' }, async ({ server, roomId, viewers }) => {
    const bearer = await token(viewers[0] ?? '', 'viewer');
    const socket = await connect(server.url, bearer);
    await request(socket, 'room:join', { roomId });
    const postmaster = server.postgresPid();
    assert.ok(postmaster !== null);
    const children = spawnSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
    const all = [postmaster, ...children];
    for (const pid of all) process.kill(pid, 'SIGSTOP');
    try {
      const started = Date.now();
      const gift = await request(socket, 'gift:send', { requestId: requestId(), roomId, giftId: 'heart', count: 1 }, 20_000);
      assert.ok(gift.ok, JSON.stringify(gift));
      assert.is((await request(socket, 'room:join', { roomId: 'r_never_seen_here' }, 20_000)).error?.code, 'UNAVAILABLE');
      const ready = await fetch(`${server.url}/ready`, { signal: AbortSignal.timeout(20_000) });
      assert.equal([ready.status, (await ready.json() as { postgres: boolean }).postgres], [503, false]);
      const entries = await fetch(`${server.url}/v1/wallet/entries`, { headers: { authorization: `Bearer ${bearer}` }, signal: AbortSignal.timeout(20_000) });
      assert.equal([entries.status, (await entries.json() as { error?: { code: string } }).error?.code], [503, 'UNAVAILABLE']);
      assert.ok(Date.now() - started < 10_000, `answered in ${Date.now() - started} ms`);
    } finally {
      for (const pid of all) process.kill(pid, 'SIGCONT');
    }
    assert.is((await request(socket, 'room:join', { roomId: 'r_never_seen_here' })).error?.code, 'UNKNOWN_ROOM');
    socket.close();
  });
});

faults.run();
