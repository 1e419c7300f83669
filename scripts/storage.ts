import type { Redis } from 'ioredis';
import { loadConfig, type Config } from '../server/config.js';
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
 */
export async function openStorage(name: string): Promise<ScriptStorage> {
  const config = loadConfig();
  const storage = await ensureStorage({
    dataDir: config.dataDir, redisUrl: config.redisUrl, databaseUrl: config.databaseUrl, durability: config.durability,
  });
  const redis = connectRedis(storage.redisUrl, { name, offlineQueue: true });
  const sql = connectPostgres(storage.databaseUrl, { max: 4 });
  await migrate(sql);
  return {
    config, redis, sql, storage, keys: walletKeys(config.walletNamespace),
    async close() {
      redis.disconnect();
      await sql.end({ timeout: 5 });
    },
  };
}
