import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, rmSync } from 'node:fs';
import path from 'node:path';
import { redisServerBinary } from './binaries.js';
import { canConnect, isAlive, processCommandLine, readPid, waitFor, waitForExit } from './processes.js';
import type { LocalService } from './types.js';

export type Durability = 'durable' | 'fast';

export interface LocalRedisOptions {
  dataDir: string;
  port: number;
  durability: Durability;
}

/**
 * Starts a private redis-server on 127.0.0.1 with AOF on and noeviction, or adopts the
 * one a crashed run left behind on the same data folder. It runs in its own process
 * group so that Ctrl-C reaches the server first, which then stops it in order.
 */
export async function startLocalRedis(options: LocalRedisOptions): Promise<LocalService> {
  mkdirSync(options.dataDir, { recursive: true });
  const pidFile = path.join(options.dataDir, 'redis.pid');
  const leftOver = readPid(pidFile);
  if (leftOver !== null && isAlive(leftOver) && processCommandLine(leftOver).includes('redis-server')
    && await canConnect(options.port)) {
    return localRedis(leftOver, options.port, true);
  }
  rmSync(pidFile, { force: true });
  const log = openSync(path.join(options.dataDir, 'redis.log'), 'a');
  const child = spawn(redisServerBinary(), [
    '--bind', '127.0.0.1', '--port', String(options.port), '--dir', options.dataDir,
    '--pidfile', pidFile, '--daemonize', 'no', '--protected-mode', 'yes',
    '--appendonly', 'yes', '--appendfsync', options.durability === 'durable' ? 'always' : 'everysec',
    '--save', '', '--maxmemory-policy', 'noeviction',
    // An AOF rewrite forks; make it rare on big runs (see shared measurements).
    '--auto-aof-rewrite-percentage', '200', '--auto-aof-rewrite-min-size', '256mb',
  ], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error('redis-server did not start');
  await waitFor(async () => {
    if (!isAlive(pid)) throw new Error(`redis-server exited; see ${path.join(options.dataDir, 'redis.log')}`);
    return canConnect(options.port);
  }, 15_000, 'redis-server');
  return localRedis(pid, options.port, false);
}

function localRedis(pid: number, port: number, adopted: boolean): LocalService {
  return {
    url: `redis://127.0.0.1:${port}`,
    pid,
    adopted,
    async stop() {
      if (!isAlive(pid)) return;
      process.kill(pid, 'SIGTERM');
      if (!await waitForExit(pid, 10_000)) process.kill(pid, 'SIGKILL');
    },
  };
}
