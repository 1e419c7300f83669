import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { walletAccount } from '../../domain/accounts.js';
import { FlusherThread } from '../../server/flusher/flusher-thread.js';
import { reconcile } from '../../server/services/reconcile.js';
import type { RunningServer } from '../../server/server.js';
import { testStorage, uniqueId } from '../helpers/env.js';
import { grant, startTestServer } from '../helpers/harness.js';

const thread = suite('flusher thread');

async function ledgerCoins(server: RunningServer, userId: string): Promise<bigint> {
  const [row] = await server.ctx.sql<{ total: bigint | null }[]>`
    select sum(amount)::bigint as total from postings where account_id = ${walletAccount(userId)}`;
  return row?.total ?? 0n;
}

/** Polls without draining: only the thread can move the entries. */
async function untilLedgerHolds(server: RunningServer, userId: string, coins: bigint): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (await ledgerCoins(server, userId) !== coins) {
    if (Date.now() > deadline) assert.unreachable(`ledger holds ${await ledgerCoins(server, userId)} coins for ${userId}, expected ${coins}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Counters arrive every 250 ms (a killed thread loses what it had not reported yet). */
async function untilReported(flusher: FlusherThread, entries: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (flusher.stats.flushedEntries < entries && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(flusher.stats.flushedEntries >= entries, `reported ${flusher.stats.flushedEntries} flushed, expected ${entries}`);
}

async function postGrants(server: RunningServer, userId: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    await server.ctx.wallets.postEntry({
      entryId: randomUUID(), kind: 'grant', nowMs: Date.now(), meta: {}, flooredAccounts: new Set(),
      postings: [{ accountId: 'system:grants', amount: -1 }, { accountId: walletAccount(userId), amount: 1 }],
    });
  }
}

thread('a server flushes on its thread by default: entries reach the ledger with nobody draining', async () => {
  const server = await startTestServer();
  try {
    const userId = uniqueId('v');
    await grant(server, userId, 7);
    await grant(server, userId, 5);
    await untilLedgerHolds(server, userId, 12n);
  } finally {
    await server.stop();
  }
});

thread('a thread that dies is started again, finishes the journal and keeps its counters', async () => {
  const server = await startTestServer({ flusherEnabled: false });
  const errors: string[] = [];
  const flusher = new FlusherThread({ redisUrl: testStorage.redisUrl(), databaseUrl: testStorage.databaseUrl(),
    namespace: server.ctx.config.walletNamespace, consumerName: uniqueId('thread'), lanes: 1 }, (message) => errors.push(message));
  try {
    const userId = uniqueId('v');
    flusher.start();
    await postGrants(server, userId, 300);
    await untilLedgerHolds(server, userId, 300n);
    await untilReported(flusher, 300);
    await flusher.kill();
    await postGrants(server, userId, 200);
    await untilLedgerHolds(server, userId, 500n);
    await untilReported(flusher, 500);
    assert.equal(errors, []);
    const report = await reconcile(server.ctx.redis, server.ctx.sql, server.ctx.wallets.keys);
    assert.ok(report.ok, JSON.stringify(report.mismatches));
  } finally {
    await flusher.stop();
    await server.stop();
  }
});

thread.run();
