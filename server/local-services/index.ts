import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { canConnect, freePort } from './processes.js';
import { startLocalPostgres } from './postgres.js';
import { startLocalRedis, type Durability } from './redis.js';
import type { LocalService } from './types.js';

export type { Durability } from './redis.js';
export type { LocalService } from './types.js';

export interface StorageUrls {
  redisUrl: string;
  databaseUrl: string;
  /** Stops the private services; servers named by URL are left alone. */
  stop(): Promise<void>;
  /** Stops only the private services this call started, not ones it found running: a start that failed leaves nothing behind and takes nothing from another server. */
  stopStarted(): Promise<void>;
  /** The private services, when started here (fault tests kill them). */
  localRedis: LocalService | null;
  localPostgres: LocalService | null;
}

interface PortChoice { redisPort: number; postgresPort: number }

const preferredPorts: PortChoice = { redisPort: 6391, postgresPort: 5491 };

/** Ports are chosen once per data folder and kept, so a restart finds its services again. */
async function portsFor(dataDir: string): Promise<PortChoice> {
  const file = path.join(dataDir, 'ports.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as PortChoice;
  const choice: PortChoice = {
    redisPort: await canConnect(preferredPorts.redisPort) ? await freePort() : preferredPorts.redisPort,
    postgresPort: await canConnect(preferredPorts.postgresPort) ? await freePort() : preferredPorts.postgresPort,
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(choice));
  return choice;
}

export interface EnsureOptions {
  dataDir: string;
  redisUrl?: string | undefined;
  databaseUrl?: string | undefined;
  durability: Durability;
  database?: string;
  throwaway?: boolean;
}

export async function ensureStorage(options: EnsureOptions): Promise<StorageUrls> {
  const ports = options.throwaway === true
    ? { redisPort: await freePort(), postgresPort: await freePort() }
    : await portsFor(options.dataDir);
  const localRedis = options.redisUrl === undefined
    ? await startLocalRedis({ dataDir: path.join(options.dataDir, 'redis'), port: ports.redisPort, durability: options.durability })
    : null;
  let localPostgres: LocalService | null = null;
  try {
    localPostgres = options.databaseUrl === undefined
      ? await startLocalPostgres({
        dataDir: path.join(options.dataDir, 'postgres', 'cluster'),
        port: ports.postgresPort,
        database: options.database ?? 'gifting',
        throwaway: options.throwaway ?? false,
      })
      : null;
  } catch (error) {
    if (localRedis !== null && !localRedis.adopted) await localRedis.stop();
    throw error;
  }
  return {
    redisUrl: options.redisUrl ?? localRedis?.url ?? '',
    databaseUrl: options.databaseUrl ?? localPostgres?.url ?? '',
    localRedis,
    localPostgres,
    async stop() {
      await Promise.all([localRedis?.stop(), localPostgres?.stop()]);
    },
    async stopStarted() {
      await Promise.all([localRedis, localPostgres].map((service) => (service !== null && !service.adopted ? service.stop() : undefined)));
    },
  };
}
