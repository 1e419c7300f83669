import type { Redis } from 'ioredis';
import { loadConfig, SettingError, type Config } from '../server/config.js';
import { migrate } from '../server/db/migrate.js';
import { connectPostgres, type Sql } from '../server/db/sql.js';
import { ensureStorage, type StorageUrls } from '../server/local-services/index.js';
import { connectRedis } from '../server/redis/commands.js';
import { walletKeys, type WalletKeys } from '../server/redis/keys.js';

export interface ScriptStorage {
  config: Config;
  redis: Redis;
  sql: Sql;
  keys: WalletKeys;
  storage: StorageUrls;
  close(): Promise<void>;
}

/**
 * The same storage the server uses: REDIS_URL/DATABASE_URL, or the private services in
 * the data folder (adopted when running, started otherwise and stopped again on close).
 * A setting it cannot use or storage it cannot reach ends the command with one line and
 * exit code 3, which no command uses for its own outcome.
 */
/** `command`: the npm script's name, as the user typed it. */
export async function openStorage(command: string): Promise<ScriptStorage> {
  let storage: StorageUrls | null = null;
  try {
    const config = loadConfig();
    storage = await ensureStorage({
      dataDir: config.dataDir, redisUrl: config.redisUrl, databaseUrl: config.databaseUrl, durability: config.durability,
    });
    const redis = connectRedis(storage.redisUrl, { name: `${command}-cli`, offlineQueue: true });
    const sql = connectPostgres(storage.databaseUrl, { max: 4 });
    const opened = storage;
    const close = async () => {
      redis.disconnect();
      await sql.end({ timeout: 5 });
      await opened.stopStarted();
    };
    try {
      await migrate(sql);
    } catch (error) {
      await close().catch(() => {});
      throw error;
    }
    return { config, redis, sql, storage, keys: walletKeys(config.walletNamespace), close };
  } catch (error) {
    await storage?.stopStarted().catch(() => {});
    const why = error instanceof SettingError ? error.message : `storage not reached: ${error instanceof Error ? error.message : String(error)}`;
    process.stderr.write(`npm run ${command}: ${why}\n`);
    process.exit(3);
  }
}
