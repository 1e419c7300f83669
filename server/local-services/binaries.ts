import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

// Finds redis-server and the PostgreSQL server binaries, installing the Debian packages
// when they are missing and this process may (root with apt-get); otherwise it says
// exactly what to install.

function onPath(command: string): string | null {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const found = result.stdout.trim();
  return result.status === 0 && found !== '' ? found : null;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function aptInstall(debianPackage: string): void {
  if (!isRoot() || onPath('apt-get') === null) {
    throw new Error(`${debianPackage} is not installed. Install it with: sudo apt-get install -y ${debianPackage}` +
      ' (or set REDIS_URL / DATABASE_URL to existing servers)');
  }
  process.stderr.write(`[local-services] installing the Debian package ${debianPackage} ...\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', debianPackage], { stdio: 'inherit', env });
  if (update.status !== 0 || install.status !== 0) {
    throw new Error(`apt-get install ${debianPackage} failed; install it by hand: apt-get install -y ${debianPackage}`);
  }
}

export function redisServerBinary(): string {
  const found = onPath('redis-server') ?? (existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : null);
  if (found !== null) return found;
  aptInstall('redis-server');
  const installed = onPath('redis-server');
  if (installed === null) throw new Error('redis-server is still missing after apt-get install redis-server');
  return installed;
}

function debianPostgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const bin = path.join(root, version, 'bin');
    if (existsSync(path.join(bin, 'postgres')) && existsSync(path.join(bin, 'initdb'))) return bin;
  }
  return null;
}

/** The folder holding initdb, postgres and pg_ctl. */
export function postgresBinDir(): string {
  const found = debianPostgresBinDir();
  if (found !== null) return found;
  const initdb = onPath('initdb');
  if (initdb !== null) return path.dirname(initdb);
  aptInstall('postgresql');
  const installed = debianPostgresBinDir();
  if (installed === null) throw new Error('PostgreSQL binaries are still missing after apt-get install postgresql');
  return installed;
}
