import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { earningsAccount, walletAccount } from '../../domain/accounts.js';
import { canConnect } from '../../server/local-services/processes.js';
import { projectRoot } from '../../server/paths.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { testAuthSecret, testConfig, testStorage, uniqueId } from '../helpers/env.js';
import { flushAndReconcile, grant, http, openRoom, startTestServer, token } from '../helpers/harness.js';

interface Context { server: RunningServer }
const cli = suite<Context>('operations CLIs', {} as Context);

cli.before(async (ctx) => { ctx.server = await startTestServer(); });
cli.after(async (ctx) => { await ctx.server.stop(); });

function run(script: string, args: string[] = [], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [path.join(projectRoot, 'dist', 'scripts', `${script}.js`), ...args], {
    encoding: 'utf8', timeout: 60_000,
    env: { ...process.env, REDIS_URL: testStorage.redisUrl(), DATABASE_URL: testStorage.databaseUrl(),
      WALLET_NAMESPACE: testStorage.namespace(), AUTH_SECRET: testAuthSecret, ...env },
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

cli('npm run reconcile --full sums the ledger again and names a payee day or room whose kept sums disagree', async ({ server }) => {
  const [viewer, streamer] = [uniqueId('v'), uniqueId('s')];
  await grant(server, viewer, 500);
  const roomId = await openRoom(server, streamer);
  await server.ctx.gifts.send({ senderId: viewer, requestId: uniqueId('req'), roomId, streamerId: streamer, giftId: 'bubbles', count: 2 });
  assert.ok((await flushAndReconcile(server)).ok);
  const clean = run('reconcile', ['--full']);
  assert.is(clean.status, 0, clean.stderr);
  const cleanReport = JSON.parse(clean.stdout) as { ok: boolean; derived: { ok: boolean; checkpointPostingId: string } };
  assert.equal([cleanReport.ok, cleanReport.derived.ok], [true, true]);
  assert.ok(BigInt(cleanReport.derived.checkpointPostingId) > 0n, 'the reconcile before it moved the checkpoint');

  const account = earningsAccount(streamer);
  const [day] = await server.ctx.sql<{ day: string; gift_coins: string }[]>`select day::text, gift_coins::text from payee_days where account_id = ${account}`;
  assert.ok(day !== undefined && Number(day.gift_coins) > 0, 'the gift is in its day');
  await server.ctx.sql`update payee_days set gift_coins = gift_coins + 5 where account_id = ${account}`;
  await server.ctx.sql`update payee_rooms set gifts = gifts + 1 where account_id = ${account}`;
  try {
    assert.is(run('reconcile').status, 0, 'the quick reconcile does not read them');
    const drifted = run('reconcile', ['--full']);
    assert.is(drifted.status, 1, drifted.stderr);
    assert.match(drifted.stderr, /1 payee days and 1 payee rooms disagree/);
    const report = JSON.parse(drifted.stdout) as { ok: boolean; derived: { payeeDayMismatches: { accountId: string; day: string; kept: string; ledger: string }[]; payeeRoomMismatches: { roomId: string; kept: string; ledger: string }[] } };
    assert.is(report.ok, false);
    assert.equal(report.derived.payeeDayMismatches, [{
      accountId: account, day: day.day,
      kept: `${Number(day.gift_coins) + 5} coins in 1 gifts, 0 adjustments`, ledger: `${day.gift_coins} coins in 1 gifts, 0 adjustments`,
    }]);
    assert.equal(report.derived.payeeRoomMismatches.map((r) => [r.roomId, r.kept.split(',')[0], r.ledger.split(',')[0]]),
      [[roomId, `${day.gift_coins} coins in 2 gifts`, `${day.gift_coins} coins in 1 gifts`]]);
    // The admin's route says the same with ?full=true.
    const bearer = await token(uniqueId('admin'), 'admin');
    const viaHttp = await http<{ ok: boolean; derived?: { payeeDayMismatches: unknown[] } }>(server, 'GET', '/v1/admin/reconcile?full=true', { bearer });
    assert.equal([viaHttp.status, viaHttp.body.ok, viaHttp.body.derived?.payeeDayMismatches], [200, false, report.derived.payeeDayMismatches]);
    const quick = await http<{ ok: boolean; derived?: unknown }>(server, 'GET', '/v1/admin/reconcile', { bearer });
    assert.equal([quick.body.ok, quick.body.derived], [true, undefined]);
    const typo = await http<{ error: { code: string } }>(server, 'GET', '/v1/admin/reconcile?full=yes', { bearer });
    assert.equal([typo.status, typo.body.error.code], [400, 'INVALID_ARGUMENT']);
  } finally {
    await server.ctx.sql`update payee_days set gift_coins = gift_coins - 5 where account_id = ${account}`;
    await server.ctx.sql`update payee_rooms set gifts = gifts - 1 where account_id = ${account}`;
  }
  assert.is(run('reconcile', ['--full']).status, 0);
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

cli('a command whose storage is not reached, or with a setting it cannot use, says so in one line with exit code 3, apart from its own outcomes', () => {
  for (const script of ['reconcile', 'rebuild-wallets', 'flusher']) {
    const unreached = run(script, [], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    assert.is(unreached.status, 3, `${script}: ${unreached.stderr}`);
    assert.is(unreached.stderr, `npm run ${script}: storage not reached: connect ECONNREFUSED 127.0.0.1:1\n`);
    const mistyped = run(script, [], { DURABILITY: 'fsat' });
    assert.equal([mistyped.status, mistyped.stderr], [3, `npm run ${script}: DURABILITY must be durable or fast, got fsat\n`]);
  }
});

/** A fresh data folder: one PostgreSQL's own user can reach, or (`private`, mode 700) one it cannot when run as root. */
function dataFolder(prefix: string, access: 'reachable' | 'private' = 'reachable'): string {
  const dataDir = mkdtempSync(path.join(tmpdir(), prefix));
  if (access === 'reachable') chmodSync(dataDir, 0o755);
  return dataDir;
}

/** Removes a data folder, and the cluster it links to under /var/lib when it had to. */
function removeDataFolder(dataDir: string): void {
  const cluster = path.join(dataDir, 'postgres', 'cluster');
  if (existsSync(cluster) && lstatSync(cluster).isSymbolicLink()) rmSync(path.dirname(realpathSync(cluster)), { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
}

/** Runs a file of dist/ as a user does: no storage URLs unless given, on the data folder given. */
function runAsUser(file: string, dataDir: string, env: Record<string, string> = {}) {
  const { REDIS_URL: _redis, DATABASE_URL: _database, ...inherited } = process.env;
  return spawnSync(process.execPath, [path.join(projectRoot, 'dist', file)], {
    encoding: 'utf8', timeout: 120_000, env: { ...inherited, DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
  });
}

/** Whether the data folder's private Redis and PostgreSQL still take connections. */
async function servicesAnswer(dataDir: string): Promise<{ redis: boolean; postgres: boolean }> {
  const { redisPort, postgresPort } = JSON.parse(readFileSync(path.join(dataDir, 'ports.json'), 'utf8')) as { redisPort: number; postgresPort: number };
  return { redis: await canConnect(redisPort), postgres: await canConnect(postgresPort) };
}

cli('a command that started the private services of its data folder stops them when it ends', async () => {
  // As root, PostgreSQL's own user cannot reach a private folder, so its cluster lives
  // under /var/lib/live-gifting behind a link, as for a clone under /root.
  const dataDir = dataFolder('command-', 'private');
  try {
    const clean = runAsUser('scripts/reconcile.js', dataDir);
    assert.is(clean.status, 0, clean.stderr);
    assert.equal(await servicesAnswer(dataDir), { redis: false, postgres: false });
  } finally {
    removeDataFolder(dataDir);
  }
});

cli('two servers on one data folder: the first to stop leaves its private services to the other, the last stops them', async () => {
  const dataDir = dataFolder('shared-');
  const privateStorage = { redisUrl: undefined, databaseUrl: undefined, dataDir };
  const first = await startServer(testConfig(privateStorage));
  try {
    const second = await startServer(testConfig(privateStorage));
    assert.equal([second.storage.localRedis?.pid, second.storage.localRedis?.adopted], [first.storage.localRedis?.pid, true]);
    await new Promise((resolve) => setTimeout(resolve, 1_200)); // a heartbeat: each sees the other
    await first.stop();
    const ready = await fetch(`${second.url}/ready`);
    assert.is(ready.status, 200, 'the second still has its storage');
    await second.stop();
    assert.equal(await servicesAnswer(dataDir), { redis: false, postgres: false }, 'the last stopped them');
  } finally {
    await first.storage.stop();
    removeDataFolder(dataDir);
  }
});

cli('a server whose Redis and PostgreSQL went away still stops, in seconds', async () => {
  const dataDir = dataFolder('orphan-');
  const server = await startServer(testConfig({ redisUrl: undefined, databaseUrl: undefined, dataDir }));
  try {
    await server.storage.stop();
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([server.stop().then(() => true),
      new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), 20_000); })]);
    clearTimeout(timer);
    assert.ok(stopped, 'stop() still waiting after 20 s');
  } finally {
    removeDataFolder(dataDir);
  }
});

cli('a server that cannot start says why in one line, exits 1 and leaves nothing running', async () => {
  const folders: string[] = [];
  const start = (env: Record<string, string>) => {
    const dataDir = dataFolder('start-');
    folders.push(dataDir);
    const redisLog = path.join(dataDir, 'redis', 'redis.log');
    return { ...runAsUser('server/main.js', dataDir, env), dataDir, redisLog: existsSync(redisLog) ? readFileSync(redisLog, 'utf8') : null };
  };
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const port = (holder.address() as net.AddressInfo).port;
  try {
    // The port is looked at first: no private Redis or PostgreSQL is started for nothing.
    const taken = start({ PORT: String(port), HOST: '127.0.0.1' });
    assert.is(taken.status, 1, taken.stderr);
    assert.match(taken.stderr, `live gifting server not started: PORT ${port} on 127.0.0.1 is in use by another process`);
    assert.not.match(taken.stderr, /\n\s+at /, 'a sentence, not a stack');
    assert.is(taken.redisLog, null, 'nothing was started');
    // An address this machine does not have (TEST-NET-3): named, with the system's reason.
    const foreign = start({ PORT: '3999', HOST: '203.0.113.7' });
    assert.equal([foreign.status, foreign.stderr],
      [1, 'live gifting server not started: PORT 3999 on 203.0.113.7 cannot be listened on (EADDRNOTAVAIL): set PORT or HOST\n']);
    assert.is(foreign.redisLog, null, 'nothing was started');
    const mistyped = start({ DURABILITY: 'fsat', PORT: '0' });
    assert.is(mistyped.status, 1);
    assert.is(mistyped.stderr, 'live gifting server not started: DURABILITY must be durable or fast, got fsat\n');
    // A failure after the private Redis started (its PostgreSQL is unreachable) stops it again.
    const noDatabase = start({ PORT: '0', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    assert.is(noDatabase.status, 1);
    assert.match(noDatabase.stderr, 'live gifting server not started: Error: connect ECONNREFUSED');
    assert.match(noDatabase.redisLog ?? '', 'Ready to accept connections', 'its Redis had started');
    assert.is((await servicesAnswer(noDatabase.dataDir)).redis, false, 'and was stopped');
  } finally {
    holder.close();
    folders.forEach(removeDataFolder);
  }
});

cli.run();
