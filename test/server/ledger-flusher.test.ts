import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { agencyAccount, debtAccount, earningsAccount, platformRevenueAccount, settlingAccount, walletAccount } from '../../domain/accounts.js';
import type { Posting } from '../../domain/ledger.js';
import { JournalFlusher } from '../../server/flusher/flusher.js';
import { reconcile } from '../../server/services/reconcile.js';
import type { RunningServer } from '../../server/server.js';
import type { Sql, Tx } from '../../server/db/sql.js';
import { rejects } from '../helpers/assert.js';
import { testStorage, uniqueId } from '../helpers/env.js';
import { connectRedis } from '../../server/redis/commands.js';
import type { Redis } from 'ioredis';
import { startTestServer, whileRedisIsFull } from '../helpers/harness.js';

interface Context { server: RunningServer }
const ledger = suite<Context>('ledger and flusher', {} as Context);

ledger.before(async (ctx) => {
  // The server's own flusher is off: each test drives flushers itself.
  ctx.server = await startTestServer({ flusherEnabled: false });
});
ledger.after(async (ctx) => {
  await ctx.server.ctx.flusher.drain();
  await ctx.server.stop();
});

const pgError = (fragment: string) => (error: unknown) => error instanceof Error && error.message.includes(fragment);

/** System accounts that Redis never sees: tests that post to them must leave them at zero. */
const createTestAccounts = (sql: Sql) => sql`
  insert into accounts (id, kind) values ('system:test-a', 'system'), ('system:test-b', 'system'), ('system:test-c', 'system')
  on conflict do nothing`;

async function grantDirect(ctx: Context, userId: string, coins: number): Promise<string> {
  const entryId = randomUUID();
  await ctx.server.ctx.wallets.postEntry({
    entryId, kind: 'grant', nowMs: Date.now(), meta: {}, flooredAccounts: new Set(),
    postings: [{ accountId: 'system:grants', amount: -coins }, { accountId: walletAccount(userId), amount: coins }],
  });
  return entryId;
}

ledger('the database refuses an unbalanced entry, an entry without postings, and any update or delete', async ({ server }) => {
  const { sql } = server.ctx;
  await createTestAccounts(sql);
  // An entry and its postings are written in one statement, as the flusher does.
  const insertEntry = (id: string, amounts: [number, number]) => sql`
    with entry as (insert into journal_entries (id, kind, created_at) values (${id}, 'test', now()) returning id)
    insert into postings (entry_id, account_id, amount)
    select entry.id, a, b from entry, (values ('system:test-a', ${amounts[0]}::bigint), ('system:test-b', ${amounts[1]}::bigint)) as v(a, b)`;
  await rejects(insertEntry(randomUUID(), [5, -4]), pgError('balance'));
  await rejects(sql`insert into journal_entries (id, kind, created_at) values (${randomUUID()}, 'test', now())`, pgError('does not balance'));
  const id = randomUUID();
  await insertEntry(id, [5, -5]);
  await rejects(sql`insert into postings (entry_id, account_id, amount) values (${id}, 'system:test-c', 1)`, pgError('unbalanced'));
  await rejects(sql`insert into postings (entry_id, account_id, amount) values (${randomUUID()}, 'system:test-c', 1)`, pgError('no journal entry'));
  await rejects(insertEntry(randomUUID(), [5, -5]).then(() => sql`insert into postings (entry_id, account_id, amount) values (${id}, 'system:nobody', 1)`), pgError('no account'));
  await rejects(sql`update postings set amount = 6 where entry_id = ${id}`, pgError('immutable'));
  await rejects(sql`delete from postings where entry_id = ${id}`, pgError('immutable'));
  await rejects(sql`update journal_entries set kind = 'x' where id = ${id}`, pgError('immutable'));
  await rejects(sql`delete from journal_entries where id = ${id}`, pgError('immutable'));
  await rejects(sql`truncate postings cascade`, pgError('immutable'));
  await rejects(sql`insert into postings (entry_id, account_id, amount) values (${id}, 'system:test-a', 0)`, pgError('check'));
  // A reversal is a new entry: the test accounts end at zero, as Redis (which never saw them) has them.
  await insertEntry(randomUUID(), [-10, 10]);
});

ledger('the balance checks of a batch read that batch\'s postings, however large the ledger', async ({ server }) => {
  const { sql } = server.ctx;
  await createTestAccounts(sql);
  // Entries alternate a -> b and b -> a, so an even count leaves both accounts at zero.
  const insertEntries = (tx: Sql | Tx, count: number) => tx`
    with entry as (
      insert into journal_entries (id, kind, created_at, meta)
      select gen_random_uuid(), 'test', now(), jsonb_build_object('n', n) from generate_series(1, ${count}::int) as n
      returning id, (meta->>'n')::int % 2 as parity)
    insert into postings (entry_id, account_id, amount)
    select entry.id, v.account, case when entry.parity = 0 then v.amount else -v.amount end
      from entry, (values ('system:test-a', 1::bigint), ('system:test-b', -1::bigint)) as v(account, amount)`;
  await insertEntries(sql, 10_000);
  const read = await sql.begin(async (tx) => {
    // The counters also hold this connection's earlier, not yet reported work: take the difference.
    const postingsRead = async () => (await tx<{ seqRead: number; indexFetched: number }[]>`
      select coalesce(seq_tup_read, 0)::int as "seqRead", coalesce(idx_tup_fetch, 0)::int as "indexFetched"
        from pg_stat_xact_user_tables where relname = 'postings'`)[0] ?? { seqRead: 0, indexFetched: 0 };
    const before = await postingsRead();
    await insertEntries(tx, 20);
    const after = await postingsRead();
    return { seqRead: after.seqRead - before.seqRead, indexFetched: after.indexFetched - before.indexFetched };
  });
  // 20 entries of 2 postings, each looked up by both statement checks.
  assert.is(read.seqRead, 0, 'no sequential scan of postings');
  assert.ok(read.indexFetched <= 200, `postings fetched through the index: ${read.indexFetched}`);
});

ledger('a crash between COMMIT and XACK replays the batch and writes nothing twice', async ({ server }) => {
  const { redis, sql, wallets } = server.ctx;
  const userId = uniqueId('v');
  const entryIds = [await grantDirect({ server }, userId, 10), await grantDirect({ server }, userId, 20)];
  const consumer = uniqueId('crashy');
  const crashing = new JournalFlusher(redis, sql, wallets.keys, {
    consumerName: consumer, afterCommit: async () => { throw new Error('simulated crash after COMMIT'); },
  });
  await crashing.ensureGroup();
  await rejects(crashing.flushOnce(), pgError('simulated crash'));
  assert.ok((await redis.xlen(wallets.keys.journal)) >= 2, 'not acknowledged, still in the stream');
  // The same consumer restarts and finds its pending entries first.
  const restarted = new JournalFlusher(redis, sql, wallets.keys, { consumerName: consumer });
  await restarted.drain();
  assert.ok(restarted.stats.duplicateEntries >= 2);
  const [row] = await sql<{ n: bigint }[]>`select count(*)::bigint as n from postings where entry_id = any(${sql.array(entryIds)}::uuid[])`;
  assert.is(row?.n, 4n);
  assert.is(await redis.xlen(wallets.keys.journal), 0);
  const report = await reconcile(redis, sql, wallets.keys);
  assert.ok(report.ok, JSON.stringify(report));
});

ledger('entries left pending by a dead consumer are reclaimed by another', async ({ server }) => {
  const { redis, sql, wallets } = server.ctx;
  const userId = uniqueId('v');
  const entryId = await grantDirect({ server }, userId, 7);
  const dead = new JournalFlusher(redis, sql, wallets.keys, {
    consumerName: uniqueId('dead'), afterCommit: async () => { throw new Error('died'); },
  });
  await rejects(dead.flushOnce(), pgError('died'));
  const survivor = new JournalFlusher(redis, sql, wallets.keys, { consumerName: uniqueId('survivor'), claimIdleMs: 0 });
  await survivor.drain();
  assert.is(await redis.xlen(wallets.keys.journal), 0);
  const [row] = await sql<{ n: bigint }[]>`select count(*)::bigint as n from postings where entry_id = ${entryId}::uuid`;
  assert.is(row?.n, 2n);
});

ledger('a Redis out of memory still drains the journal into the ledger, freeing what it flushed, and still reconciles', async ({ server }) => {
  const { redis, sql, wallets } = server.ctx;
  const userId = uniqueId('v');
  const entryIds = [await grantDirect({ server }, userId, 3), await grantDirect({ server }, userId, 4)];
  const consumer = uniqueId('full');
  const flusher = new JournalFlusher(redis, sql, wallets.keys, { consumerName: consumer });
  await flusher.ensureGroup();
  // Draining the journal is what gives a full Redis memory back, so it must still work.
  await whileRedisIsFull(redis, async () => {
    const before = await reconcile(redis, sql, wallets.keys);
    assert.ok(before.ok && before.unflushedEntries >= 2, `reconcile reads a full Redis too: ${JSON.stringify(before)}`);
    await flusher.drain();
    assert.is(await redis.xlen(wallets.keys.journal), 0);
    const after = await reconcile(redis, sql, wallets.keys);
    assert.ok(after.ok && after.unflushedEntries === 0, JSON.stringify(after));
  });
  const [row] = await sql<{ n: bigint }[]>`select count(*)::bigint as n from postings where entry_id = any(${sql.array(entryIds)}::uuid[])`;
  assert.is(row?.n, 4n);
});

ledger('two flushers racing over 2,000 entries write each exactly once', async ({ server }) => {
  const { redis, sql, wallets } = server.ctx;
  const userId = uniqueId('v');
  const entryIds: string[] = [];
  for (let i = 0; i < 2000; i += 1) entryIds.push(await grantDirect({ server }, userId, 1));
  const [redisA, redisB] = ['a', 'b'].map((name) => connectRedis(testStorage.redisUrl(), { name, offlineQueue: true })) as [Redis, Redis];
  const a = new JournalFlusher(redisA, sql, wallets.keys, { consumerName: uniqueId('a'), batchSizeMax: 100, claimIdleMs: 0 });
  const b = new JournalFlusher(redisB, sql, wallets.keys, { consumerName: uniqueId('b'), batchSizeMax: 100, claimIdleMs: 0 });
  await Promise.all([a.drain(), b.drain()]);
  redisA.disconnect();
  redisB.disconnect();
  const [row] = await sql<{ entries: bigint; total: bigint }[]>`
    select count(distinct entry_id)::bigint as entries, sum(amount)::bigint as total
      from postings where account_id = ${walletAccount(userId)}`;
  assert.is(row?.entries, 2000n);
  assert.is(row?.total, 2000n);
  const report = await reconcile(redis, sql, wallets.keys);
  assert.ok(report.ok, JSON.stringify(report));
});

ledger('reconcile names the account and amount of a drift in the hot balance', async ({ server }) => {
  const { redis, sql, wallets } = server.ctx;
  const userId = uniqueId('v');
  await grantDirect({ server }, userId, 50);
  await server.ctx.flusher.drain();
  await redis.hincrby(wallets.keys.balances, walletAccount(userId), 1);
  const report = await reconcile(redis, sql, wallets.keys);
  assert.is(report.ok, false);
  assert.equal(report.mismatches.map((m) => [m.accountId, m.difference]), [[walletAccount(userId), 1]]);
  await redis.hincrby(wallets.keys.balances, walletAccount(userId), -1);
  assert.ok((await reconcile(redis, sql, wallets.keys)).ok);
  // Entries still in the journal count on the ledger's side, and do not hide a drift beside them.
  await grantDirect({ server }, userId, 20);
  await redis.hincrby(wallets.keys.balances, walletAccount(userId), -2);
  const unflushed = await reconcile(redis, sql, wallets.keys);
  assert.equal(unflushed.mismatches.map((m) => [m.accountId, m.hot, m.ledger, m.unflushed, m.difference]), [[walletAccount(userId), 68, 50, 20, -2]]);
  await redis.hincrby(wallets.keys.balances, walletAccount(userId), 2);
  assert.ok((await reconcile(redis, sql, wallets.keys)).ok);
});

ledger('reconcile names every account below zero that may never be: wallets, earnings, agencies, settling, platform', async ({ server }) => {
  const { redis, sql, wallets } = server.ctx;
  const streamer = uniqueId('s');
  const wallet = walletAccount(uniqueId('v'));
  const owed: Posting[] = [
    { accountId: earningsAccount(streamer), amount: -2 },
    { accountId: agencyAccount(uniqueId('a')), amount: -3 },
    { accountId: settlingAccount(earningsAccount(streamer)), amount: -4 },
    { accountId: platformRevenueAccount, amount: -5 - Number(await redis.hget(wallets.keys.balances, platformRevenueAccount) ?? 0) },
    // A receivable: negative by design.
    { accountId: debtAccount(uniqueId('v')), amount: -6 },
  ];
  const post = async (postings: Posting[]) => {
    await wallets.postEntry({
      entryId: randomUUID(), kind: 'test', nowMs: Date.now(), meta: {}, flooredAccounts: new Set(),
      postings: [...postings, { accountId: 'system:grants', amount: -postings.reduce((sum, p) => sum + p.amount, 0) }],
    });
    await server.ctx.flusher.drain();
    return reconcile(redis, sql, wallets.keys);
  };
  const negated = (postings: Posting[]) => postings.map((p) => ({ ...p, amount: -p.amount }));
  const notWallets = await post(owed);
  assert.is(notWallets.ok, false, 'no wallet is below zero, yet it is not clean');
  assert.equal(notWallets.mismatches, []);
  assert.equal(notWallets.negativeBalances, owed.slice(0, 4).map((p) => p.accountId).sort());
  assert.equal(notWallets.negativeWallets, []);
  const withWallet = await post([{ accountId: wallet, amount: -1 }]);
  assert.equal(withWallet.negativeBalances, [...owed.slice(0, 4).map((p) => p.accountId), wallet].sort());
  assert.equal(withWallet.negativeWallets, [wallet]);
  await post(negated([...owed, { accountId: wallet, amount: -1 }]));
  assert.ok((await reconcile(redis, sql, wallets.keys)).ok);
});

/** What reconcile finds amiss on the test accounts: account -> hot minus ledger. */
async function testAccountDrift(server: RunningServer): Promise<Record<string, number>> {
  const report = await reconcile(server.ctx.redis, server.ctx.sql, server.ctx.wallets.keys);
  return Object.fromEntries(report.mismatches.filter((m) => m.accountId.startsWith('system:test-')).map((m) => [m.accountId, m.difference]));
}

/** A balanced entry written straight into the ledger (Redis never sees it), at a journal position if given. */
const writeStraight = (db: Sql | Tx, amount: number, streamMs: number | null = null) => db`
  with entry as (insert into journal_entries (id, kind, created_at, stream_ms, stream_seq)
                 values (${randomUUID()}, 'test', now(), ${streamMs}, ${streamMs === null ? null : 0}) returning id)
  insert into postings (entry_id, account_id, amount)
  select entry.id, a, b from entry, (values ('system:test-a', ${amount}::bigint), ('system:test-b', ${-amount}::bigint)) as v(a, b)`;

ledger('reconcile sums the ledger from a checkpoint: it waits for a posting insert in flight, and a drift stays found once folded in', async ({ server }) => {
  const { sql } = server.ctx;
  await createTestAccounts(sql);
  const driftOf = () => testAccountDrift(server);
  const before = await driftOf();
  const drift = (coins: number) => ({ ...before, 'system:test-a': (before['system:test-a'] ?? 0) - coins, 'system:test-b': (before['system:test-b'] ?? 0) + coins });
  // Seven coins written straight into the ledger (Redis never saw them), their transaction
  // held open; then two more, committed at once: their postings have the higher ids, and a
  // checkpoint folding up to them without waiting would miss the seven for good.
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => { release = resolve; });
  const writing = sql.begin(async (tx) => {
    await writeStraight(tx, 7);
    await released;
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  await writeStraight(sql, 2);
  let settled = false;
  const checking = driftOf().finally(() => { settled = true; });
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.not.ok(settled, 'the checkpoint waits for the insert in flight to end');
  release();
  await writing;
  assert.equal(await checking, drift(9));
  const [bounds] = await sql<{ checkpoint: string; newest: string }[]>`
    select (select posting_id from ledger_checkpoint)::text as checkpoint, (select max(id) from postings)::text as newest`;
  assert.is(bounds?.checkpoint, bounds?.newest, 'the checkpoint has folded the postings in');
  assert.equal(await driftOf(), drift(9), 'folded into the checkpoint, the drift is still found');
  await writeStraight(sql, -9);
  assert.equal(await driftOf(), before);
});

ledger('reconcile leaves out entries the journal took after its snapshot, even once the checkpoint holds them', async ({ server }) => {
  const { sql } = server.ctx;
  await createTestAccounts(sql);
  const driftOf = () => testAccountDrift(server);
  const before = await driftOf();
  // An entry positioned after any snapshot this test takes: as one flushed between another
  // reconcile's snapshot and its read of a checkpoint that a third one moved on meanwhile.
  const later = Date.now() + 86_400_000;
  await writeStraight(sql, 5, later);
  // The reconcile folds it into the checkpoint first, then takes its snapshot before it.
  assert.equal(await driftOf(), before, 'held by the checkpoint, beyond the cut: left out');
  const [bounds] = await sql<{ checkpoint: string; newest: string }[]>`
    select (select posting_id from ledger_checkpoint)::text as checkpoint, (select max(id) from postings)::text as newest`;
  assert.is(bounds?.checkpoint, bounds?.newest, 'folded into the checkpoint');
  assert.equal(await driftOf(), before, 'and again');
  await writeStraight(sql, -5, later);
});

ledger.run();
