import { loadConfig, SettingError, type Config } from './config.js';
import { startServer, type RunningServer } from './server.js';

/** A start that cannot go on says why in one line (a setting) or with its stack (anything else), and exits 1. */
function notStarted(error: unknown): never {
  const why = error instanceof SettingError ? error.message : error instanceof Error ? error.stack ?? error.message : String(error);
  process.stderr.write(`live gifting server not started: ${why}\n`);
  process.exit(1);
}

let config: Config;
let server: RunningServer;
try {
  config = loadConfig();
  server = await startServer(config, { logger: true });
} catch (error) {
  notStarted(error);
}
server.app.log.info(`live gifting server on ${server.url} (durability ${config.durability}, ` +
  `redis ${server.storage.localRedis === null ? 'from REDIS_URL' : 'private'}, ` +
  `postgres ${server.storage.localPostgres === null ? 'from DATABASE_URL' : 'private'})`);
if (config.authSecretGenerated) {
  server.app.log.info('development AUTH_SECRET generated in the data folder; mint a token with: npm run token -- --sub u1 --role viewer');
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  server.app.log.info(`${signal}: stopping (draining the journal, then local services)`);
  const forced = setTimeout(() => process.exit(1), 30_000);
  forced.unref();
  try {
    await server.stop();
    process.exit(0);
  } catch (error) {
    server.app.log.error({ err: error }, 'shutdown failed');
    process.exit(1);
  }
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
