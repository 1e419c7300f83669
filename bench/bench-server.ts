import type { ServerProcess } from '../scripts/server-process.js';
import { walletNamespace } from '../server/config.js';

/** What the bench needs of the server it measures: one it started itself, or one at --url. */
export interface BenchServer {
  /** Where HTTP and Socket.IO answer. */
  readonly url: string;
  /** The server's AUTH_SECRET: the bench mints its viewers', streamers' and admin's tokens. */
  readonly authSecret: string;
  /** The server's storage: the evalsha ceiling and the baseline server use Redis, the money checks the ledger. */
  readonly redisUrl: string;
  readonly databaseUrl: string;
  readonly walletNamespace: string;
  /** Whether the bench started it, and so knows its processes (for CPU and RSS) and stops it. */
  readonly local: boolean;
  serverPid(): number | null;
  redisPid(): number | null;
}

export function startedServer(server: ServerProcess): BenchServer {
  return {
    url: server.url, authSecret: server.authSecret, redisUrl: server.redisUrl, databaseUrl: server.databaseUrl,
    walletNamespace: walletNamespace(server.env), local: true,
    serverPid: () => server.child?.pid ?? null,
    redisPid: () => server.redisPid(),
  };
}

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A server already running on this machine, at `url`, with the storage and secret the
 * environment names (as `npm start` takes them). The bench sends thousands of requests a
 * second: it only targets a loopback address, and it needs the storage to check the
 * money after each scenario.
 */
export function serverAt(url: string, env: NodeJS.ProcessEnv): BenchServer {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--url ${url} is not a URL`);
  }
  if (parsed.protocol !== 'http:' || !loopbackHosts.has(parsed.hostname)) {
    throw new Error(`--url must be http:// on this machine (127.0.0.1, localhost or [::1]), not ${url}`);
  }
  const missing = ['AUTH_SECRET', 'REDIS_URL', 'DATABASE_URL'].filter((name) => (env[name] ?? '') === '');
  if (missing.length > 0) {
    throw new Error(`--url needs the target's ${missing.join(', ')} in the environment, as the server itself was given them`);
  }
  return {
    url: parsed.origin, authSecret: env.AUTH_SECRET ?? '', redisUrl: env.REDIS_URL ?? '', databaseUrl: env.DATABASE_URL ?? '',
    walletNamespace: walletNamespace(env), local: false,
    serverPid: () => null,
    redisPid: () => null,
  };
}
