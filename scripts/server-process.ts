import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, isAlive, readPid, waitForExit } from '../server/local-services/processes.js';
import { projectRoot } from '../server/paths.js';

const live = new Set<ServerProcess>();

// Whatever the fault tests and the benchmarks started dies with them, even when they are
// interrupted mid-run: no private Redis or PostgreSQL is left behind.
function killAllSync(): void {
  for (const server of live) server.killEverythingSync();
}
process.once('exit', killAllSync);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllSync();
    process.exit(130);
  });
}

/**
 * A server run exactly as `npm start` runs it, with its private Redis and PostgreSQL in
 * its own throwaway data folder (or the storage named in env): the fault tests and the
 * benchmarks drive it from outside.
 */
export class ServerProcess {
  child: ChildProcess | null = null;
  port = 0;
  log = '';

  /** Extra flags for node itself, such as --cpu-prof. */
  nodeArgs: string[] = [];

  private constructor(readonly dataDir: string, readonly env: Record<string, string>) {}

  get authSecret(): string {
    return this.env.AUTH_SECRET ?? 'local-server-process-secret-0123456789';
  }

  static async create(env: Record<string, string> = {}): Promise<ServerProcess> {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gifting-fault-'));
    chmodSync(dataDir, 0o755);
    writeFileSync(path.join(dataDir, 'ports.json'), JSON.stringify({ redisPort: await freePort(), postgresPort: await freePort() }));
    const server = new ServerProcess(dataDir, env);
    server.port = await freePort();
    live.add(server);
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get ports(): { redisPort: number; postgresPort: number } {
    return JSON.parse(readFileSync(path.join(this.dataDir, 'ports.json'), 'utf8')) as { redisPort: number; postgresPort: number };
  }

  /** The Redis the server uses: the one its env names, or its private one. */
  get redisUrl(): string {
    return this.env.REDIS_URL ?? `redis://127.0.0.1:${this.ports.redisPort}`;
  }

  /** The PostgreSQL the server uses: the one its env names, or its private one. */
  get databaseUrl(): string {
    return this.env.DATABASE_URL ?? `postgres://postgres@127.0.0.1:${this.ports.postgresPort}/gifting`;
  }

  redisPid(): number | null {
    return readPid(path.join(this.dataDir, 'redis', 'redis.pid'));
  }

  postgresPid(): number | null {
    return readPid(path.join(this.dataDir, 'postgres', 'cluster', 'postmaster.pid'));
  }

  scriptEnv(): NodeJS.ProcessEnv {
    const inherited = { ...process.env };
    for (const name of ['REDIS_URL', 'DATABASE_URL', 'PORT']) delete inherited[name];
    return { ...inherited, AUTH_SECRET: this.authSecret, DATA_DIR: this.dataDir, HOST: '127.0.0.1', PORT: String(this.port), ...this.env };
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [...this.nodeArgs, path.join(projectRoot, 'dist', 'server', 'main.js')], {
      env: { LOG_LEVEL: 'warn', GIFT_RATE_PER_SEC: '1000000', GIFT_BURST: '1000000', ...this.scriptEnv() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => { this.log += chunk.toString(); });
    child.stderr?.on('data', (chunk: Buffer) => { this.log += chunk.toString(); });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${this.log}`);
      const ready = await fetch(`${this.url}/ready`).then((r) => r.ok, () => false);
      if (ready) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`server not ready within 60 s:\n${this.log}`);
  }

  async kill9(): Promise<void> {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    process.kill(pid, 'SIGKILL');
    await waitForExit(pid, 5_000);
    this.child = null;
  }

  /** SIGTERM: the orderly stop of Ctrl-C, which also stops the private services. */
  async stop(): Promise<void> {
    const pid = this.child?.pid;
    if (pid !== undefined && isAlive(pid)) {
      process.kill(pid, 'SIGTERM');
      if (!await waitForExit(pid, 30_000)) process.kill(pid, 'SIGKILL');
    }
    this.child = null;
  }

  killEverythingSync(): void {
    for (const pid of [this.child?.pid, this.redisPid(), this.postgresPid()]) {
      if (pid !== undefined && pid !== null && isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Whatever is still running on this data folder is killed, and the folder removed. */
  async destroy(): Promise<void> {
    live.delete(this);
    await this.stop();
    for (const pid of [this.redisPid(), this.postgresPid()]) {
      if (pid !== null && isAlive(pid)) {
        process.kill(pid, 'SIGKILL');
        await waitForExit(pid, 5_000);
      }
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
