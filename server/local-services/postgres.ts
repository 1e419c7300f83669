import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { postgresBinDir } from './binaries.js';
import { isAlive, processCommandLine, waitFor, waitForExit } from './processes.js';
import type { LocalService } from './types.js';

export interface LocalPostgresOptions {
  dataDir: string;
  port: number;
  database: string;
  /** Throwaway test clusters trade crash safety of the OS for speed; a process crash still loses nothing. */
  throwaway?: boolean;
}

interface RunAs { uid: number; gid: number }

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` system user. */
function postgresUser(): RunAs | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  let id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0) {
    spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'inherit' });
    id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  }
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0 || gid.status !== 0) throw new Error('cannot find or create the postgres system user');
  return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function canUse(dir: string, user: RunAs): boolean {
  return spawnSync('test', ['-w', dir], { uid: user.uid, gid: user.gid }).status === 0;
}

/**
 * The cluster folder, owned by the user PostgreSQL runs as. When that user cannot reach
 * the project folder (a clone under /root), the cluster lives under /var/lib and the
 * project's data folder holds a link to it. Returns the real path, which PostgreSQL can reach.
 */
function prepareClusterDir(dataDir: string, user: RunAs | null): string {
  mkdirSync(path.dirname(dataDir), { recursive: true });
  if (existsSync(dataDir) && lstatSync(dataDir).isSymbolicLink()) return realpathSync(dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (user === null) return dataDir;
  chownSync(dataDir, user.uid, user.gid);
  if (canUse(dataDir, user)) return dataDir;
  rmSync(dataDir, { recursive: true, force: true });
  const digest = createHash('sha1').update(path.resolve(dataDir)).digest('hex').slice(0, 12);
  const elsewhere = path.join('/var/lib/live-gifting', digest, 'pg');
  // The folders above the cluster are root's; PostgreSQL's user must be able to pass
  // through them (set again, in case an earlier run made them private).
  for (const parent of [path.dirname(path.dirname(elsewhere)), path.dirname(elsewhere)]) {
    mkdirSync(parent, { recursive: true, mode: 0o755 });
    chmodSync(parent, 0o755);
  }
  mkdirSync(elsewhere, { recursive: true, mode: 0o700 });
  chownSync(elsewhere, user.uid, user.gid);
  symlinkSync(elsewhere, dataDir);
  return elsewhere;
}

function runAsOptions(user: RunAs | null): { uid?: number; gid?: number } {
  return user === null ? {} : { uid: user.uid, gid: user.gid };
}

function initCluster(binDir: string, dataDir: string, user: RunAs | null): void {
  if (existsSync(path.join(dataDir, 'PG_VERSION'))) return;
  const result = spawnSync(path.join(binDir, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-instructions'],
    { encoding: 'utf8', ...runAsOptions(user) });
  if (result.status !== 0) throw new Error(`initdb failed: ${result.stderr}`);
}

/** The running postmaster of this cluster, if a crashed run left one; a stale lock file is removed. */
function runningPostmaster(dataDir: string): number | null {
  const lockFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(lockFile)) return null;
  const pid = Number(readFileSync(lockFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && processCommandLine(pid).includes('postgres')) return pid;
  rmSync(lockFile, { force: true });
  return null;
}

async function accepts(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const found = await sql`select 1 from pg_database where datname = ${database}`;
    if (found.length === 0) await sql.unsafe(`create database "${database.replaceAll('"', '')}"`);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalService> {
  const binDir = postgresBinDir();
  const user = postgresUser();
  const dataDir = prepareClusterDir(options.dataDir, user);
  initCluster(binDir, dataDir, user);
  const adminUrl = `postgres://postgres@127.0.0.1:${options.port}/postgres`;
  let pid = runningPostmaster(dataDir);
  const adopted = pid !== null;
  if (pid === null) {
    const settings = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'];
    if (options.throwaway === true) settings.push('-c', 'fsync=off', '-c', 'full_page_writes=off');
    const log = openSync(path.join(path.dirname(options.dataDir), 'postgres.log'), 'a');
    const child = spawn(path.join(binDir, 'postgres'), ['-D', dataDir, '-p', String(options.port), ...settings],
      { detached: true, stdio: ['ignore', log, log], ...runAsOptions(user) });
    closeSync(log);
    child.unref();
    if (child.pid === undefined) throw new Error('postgres did not start');
    pid = child.pid;
  }
  const postmaster = pid;
  await waitFor(async () => {
    if (!isAlive(postmaster)) throw new Error(`postgres exited; see ${path.join(path.dirname(options.dataDir), 'postgres.log')}`);
    return accepts(adminUrl);
  }, 60_000, 'postgres');
  await ensureDatabase(adminUrl, options.database);
  return {
    url: `postgres://postgres@127.0.0.1:${options.port}/${options.database}`,
    pid: postmaster,
    adopted,
    async stop() {
      if (!isAlive(postmaster)) return;
      process.kill(postmaster, 'SIGINT');
      if (!await waitForExit(postmaster, 20_000)) process.kill(postmaster, 'SIGKILL');
    },
  };
}
