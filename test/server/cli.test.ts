import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { walletAccount } from '../../domain/accounts.js';
import { projectRoot } from '../../server/paths.js';
import type { RunningServer } from '../../server/server.js';
import { testAuthSecret, testStorage, uniqueId } from '../helpers/env.js';
import { flushAndReconcile, grant, startTestServer } from '../helpers/harness.js';

interface Context { server: RunningServer }
const cli = suite<Context>('operations CLIs', {} as Context);

cli.before(async (ctx) => { ctx.server = await startTestServer(); });
cli.after(async (ctx) => { await ctx.server.stop(); });

function run(script: string, args: string[] = []) {
  return spawnSync(process.execPath, [path.join(projectRoot, 'dist', 'scripts', `${script}.js`), ...args], {
    encoding: 'utf8', timeout: 60_000,
    env: { ...process.env, REDIS_URL: testStorage.redisUrl(), DATABASE_URL: testStorage.databaseUrl(),
      WALLET_NAMESPACE: testStorage.namespace(), AUTH_SECRET: testAuthSecret },
  });
}

cli('npm run reconcile exits 0 when clean and 1 naming the account and amount of a drift', async ({ server }) => {
  const userId = uniqueId('v');
  await grant(server, userId, 40);
  assert.ok((await flushAndReconcile(server)).ok);
  const clean = run('reconcile');
  assert.is(clean.status, 0, clean.stderr);
  assert.is((JSON.parse(clean.stdout) as { ok: boolean }).ok, true);
  await server.ctx.redis.hincrby(server.ctx.wallets.keys.balances, walletAccount(userId), -3);
  try {
    const drifted = run('reconcile');
    assert.is(drifted.status, 1);
    const report = JSON.parse(drifted.stdout) as { mismatches: { accountId: string; difference: number }[] };
    assert.equal(report.mismatches, [{ accountId: walletAccount(userId), hot: 37, ledger: 40, unflushed: 0, difference: -3 }]);
  } finally {
    await server.ctx.redis.hincrby(server.ctx.wallets.keys.balances, walletAccount(userId), 3);
  }
});

cli('npm run rebuild-wallets refuses while a server is taking gifts, and names it', async ({ server }) => {
  const refused = run('rebuild-wallets');
  assert.is(refused.status, 2);
  assert.match(refused.stderr, /gateways are taking gifts/);
  assert.match(refused.stderr, new RegExp(server.ctx.config.flusherName));
  assert.ok((await flushAndReconcile(server)).ok, 'the refusal changed nothing');
});

cli('every command prints its usage for --help and refuses an unknown option or argument with exit code 2 before it runs', async ({ server }) => {
  for (const script of ['token', 'reconcile', 'flusher', 'rebuild-wallets']) {
    const help = run(script, ['--help']);
    assert.is(help.status, 0, `${script} --help: ${help.stderr}`);
    assert.match(help.stdout, new RegExp(`^usage: npm run ${script}`));
    // A typo of --force must not rebuild; a stray word must not start a flusher.
    for (const args of [['--forse'], ['now'], ['--sub']]) {
      const refused = run(script, args);
      assert.is(refused.status, 2, `${script} ${args.join(' ')}: ${refused.stdout}${refused.stderr}`);
      assert.match(refused.stderr, new RegExp(`usage: npm run ${script}`));
      assert.is(refused.stdout, '');
    }
  }
  const minted = run('token', ['--sub', 'u1', '--role', 'streamer']);
  assert.is(minted.status, 0, minted.stderr);
  const identity = await server.ctx.tokens.verify(minted.stdout.trim());
  assert.equal([identity.userId, identity.role], ['u1', 'streamer']);
  assert.ok(Number.isFinite(identity.expiresAtMs) && identity.expiresAtMs > Date.now(), 'the token expires, later');
});

cli.run();
