import { limits } from '../../domain/limits.js';
import { randomBytes } from 'node:crypto';
import type { Config } from '../../server/config.js';

export const testAuthSecret = 'test-secret-0123456789-abcdefghij';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set: run the suites through npm test`);
  return value;
}

export const testStorage = {
  redisUrl: () => required('TEST_REDIS_URL'),
  databaseUrl: () => required('TEST_DATABASE_URL'),
  namespace: () => process.env.TEST_WALLET_NAMESPACE ?? 'w',
};

export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    port: 0,
    host: '127.0.0.1',
    production: false,
    authSecret: testAuthSecret,
    authSecretGenerated: false,
    redisUrl: testStorage.redisUrl(),
    databaseUrl: testStorage.databaseUrl(),
    stripeSecretKey: undefined,
    stripeWebhookSecret: undefined,
    stripeApiBase: undefined,
    durability: 'durable',
    dataDir: process.env.TEST_DATA_DIR ?? '/tmp',
    walletNamespace: testStorage.namespace(),
    journalLengthMax: 500_000,
    storageTimeoutMs: limits.storageTimeoutMs,
    httpTimeoutMs: limits.httpTimeoutMs,
    flusherEnabled: true,
    flusherThread: true,
    broadcastTickMs: limits.broadcastTickMs,
    // Suites share one database, and some run simulated clocks years ahead: a sweep of
    // theirs would close every other suite's rooms. The idle-room test calls it itself.
    roomIdleCloseMinutes: 0,
    flusherName: `test-${randomBytes(3).toString('hex')}`,
    flusherLanes: 2,
    gatewayRelay: true,
    logLevel: 'warn',
    giftsPerSecondPerUser: 1_000_000,
    giftBurstPerUser: 1_000_000,
    giftBackend: 'redis',
    benchHandlers: false,
    ...overrides,
  };
}

/** Ids unique to one test, so suites sharing one ledger never see each other's users. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}
