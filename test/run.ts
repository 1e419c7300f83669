import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { ensureStorage } from '../server/local-services/index.js';
import { projectRoot } from '../server/paths.js';

// npm test: real Redis and PostgreSQL for the whole run. Without REDIS_URL/DATABASE_URL
// they are throwaway private instances; with them, the run gets its own database on that
// server and its own Redis key namespace, and removes the database afterwards.

const suffix = randomBytes(4).toString('hex');
const dataDir = mkdtempSync(path.join(tmpdir(), 'gifting-test-'));
// PostgreSQL runs as its own user when we are root: it must be able to reach the folder.
chmodSync(dataDir, 0o755);
const storage = await ensureStorage({
  dataDir, redisUrl: process.env.REDIS_URL, databaseUrl: process.env.DATABASE_URL, durability: 'durable', throwaway: true,
});

let databaseUrl = storage.databaseUrl;
let dropDatabase: (() => Promise<void>) | null = null;
if (storage.localPostgres === null) {
  const database = `gifting_test_${suffix}`;
  const admin = postgres(storage.databaseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${database}`);
  const url = new URL(storage.databaseUrl);
  url.pathname = `/${database}`;
  databaseUrl = url.toString();
  dropDatabase = async () => {
    await admin.unsafe(`drop database if exists ${database} with (force)`);
    await admin.end();
  };
}

const pattern = process.argv[2] ?? '\\.test\\.js$';
const child = spawn(process.execPath, [path.join(projectRoot, 'node_modules', 'uvu', 'bin.js'), 'dist/test', pattern], {
  cwd: projectRoot,
  stdio: ['ignore', 'pipe', 'inherit'],
  env: {
    ...process.env,
    FORCE_COLOR: '0',
    NO_COLOR: '1',
    TEST_REDIS_URL: storage.redisUrl,
    TEST_DATABASE_URL: databaseUrl,
    TEST_WALLET_NAMESPACE: storage.localRedis === null ? `t${suffix}` : 'w',
    TEST_LOCAL_REDIS_PID: String(storage.localRedis?.pid ?? ''),
    TEST_DATA_DIR: dataDir,
  },
});
// Interrupted (Ctrl-C, a CI time limit): stop the suites and the throwaway services too.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    const exited = child.exitCode !== null || child.signalCode !== null;
    void (exited ? Promise.resolve() : new Promise((resolve) => child.once('close', resolve))).then(() => clearTimeout(killer)).then(() => storage.stop()).finally(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(130);
    });
  });
}
let output = '';
let lingering: NodeJS.Timeout | undefined;
child.stdout.on('data', (chunk: Buffer) => {
  output += chunk.toString();
  process.stdout.write(chunk);
  // uvu has printed its totals: the outcome is known, and a handle a failed test left
  // open (a server whose stop hung) must not keep the run waiting for the bound below.
  if (lingering === undefined && /Duration:/.test(output)) {
    lingering = setTimeout(() => {
      process.stderr.write('\nthe suites ended but their process did not exit within 30 s; stopping it\n');
      child.kill('SIGKILL');
    }, 30_000);
  }
});
// A suite that leaks a handle would keep uvu alive forever: bound the whole run.
const runBoundMs = Number(process.env.TEST_TIMEOUT_MS ?? 20 * 60_000);
const bound = setTimeout(() => {
  process.stderr.write(`\nthe test run exceeded ${runBoundMs} ms; stopping it\n`);
  child.kill('SIGKILL');
}, runBoundMs);
const exitCode = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
clearTimeout(bound);
clearTimeout(lingering);

await storage.stop();
await dropDatabase?.();
rmSync(dataDir, { recursive: true, force: true });

// uvu prints "Total: N", "Passed: N"; CI wants one plain line.
const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const failed = exitCode === 0 ? total - passed : Math.max(1, total - passed);
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(exitCode === 0 && failed === 0 && total > 0 ? 0 : 1);
