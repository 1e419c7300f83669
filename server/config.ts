import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hostname } from 'node:os';
import { limits } from '../domain/limits.js';
import type { Durability } from './local-services/index.js';
import { defaultDataDir } from './paths.js';

export interface Config {
  port: number;
  host: string;
  production: boolean;
  authSecret: string;
  authSecretGenerated: boolean;
  redisUrl: string | undefined;
  databaseUrl: string | undefined;
  stripeSecretKey: string | undefined;
  stripeWebhookSecret: string | undefined;
  /** Tests point the official client at a local stand-in; unset in real use. */
  stripeApiBase: string | undefined;
  durability: Durability;
  dataDir: string;
  walletNamespace: string;
  journalLengthMax: number;
  /** How long a request waits for Redis (or PostgreSQL, for a room it must look up) before it answers UNAVAILABLE; /ready counts a slower store as down. */
  storageTimeoutMs: number;
  /** How long an HTTP request may take before it is answered 503 UNAVAILABLE (the admin's bulk routes get longer). */
  httpTimeoutMs: number;
  flusherEnabled: boolean;
  /** Flush on a worker thread (the default) rather than in the gateway's event loop (FLUSHER=inline). */
  flusherThread: boolean;
  /** How long a room's gifts gather before one `gifts` frame goes to its members. */
  broadcastTickMs: number;
  /** An open room with no gift to its streamer for this long is closed (0: never). */
  roomIdleCloseMinutes: number;
  flusherName: string;
  flusherLanes: number;
  /** Pass live updates to the other gateway nodes (GATEWAY_RELAY=off: a server that is no peer of theirs, like the bench's baseline). */
  gatewayRelay: boolean;
  logLevel: string;
  giftsPerSecondPerUser: number;
  giftBurstPerUser: number;
  /** `redis` (the product) or `postgres-baseline` (the benchmarks' comparison design). */
  giftBackend: 'redis' | 'postgres-baseline';
  /** Registers the `bench:ack` event (ack-only ceiling for the benchmarks). */
  benchHandlers: boolean;
}

type Env = Record<string, string | undefined>;

/** A setting the server cannot start with: said in one line naming the setting, not as a crash. */
export class SettingError extends Error {
  override readonly name = 'SettingError';
}

function integerSetting(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SettingError(`${name} must be an integer from ${min} to ${max}, got ${raw}`);
  }
  return value;
}

/** One of a few words; unset or empty is the first. A typo stops the server rather than quietly meaning the default. */
function choiceSetting<T extends string>(env: Env, name: string, allowed: readonly [T, ...T[]]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return allowed[0];
  const value = allowed.find((choice) => choice === raw);
  if (value === undefined) throw new SettingError(`${name} must be ${allowed.join(' or ')}, got ${raw}`);
  return value;
}

/** Without AUTH_SECRET, development keeps a generated secret in the data folder. */
function authSecret(env: Env, dataDir: string, production: boolean): { secret: string; generated: boolean } {
  const given = env.AUTH_SECRET;
  if (given !== undefined && given !== '') {
    if (given.length < 16) throw new SettingError('AUTH_SECRET must be at least 16 characters');
    return { secret: given, generated: false };
  }
  if (production) throw new SettingError('AUTH_SECRET is required when NODE_ENV=production');
  const file = path.join(dataDir, 'auth-secret');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  }
  return { secret: readFileSync(file, 'utf8').trim(), generated: true };
}

/** The hot wallets' key namespace (WALLET_NAMESPACE, default `w`); tools that reach a server's Redis read it here too. */
export function walletNamespace(env: Env = process.env): string {
  const namespace = env.WALLET_NAMESPACE ?? 'w';
  if (!/^[a-z0-9_-]{1,32}$/.test(namespace)) throw new SettingError('WALLET_NAMESPACE must match [a-z0-9_-]{1,32}');
  return namespace;
}

export function loadConfig(env: Env = process.env): Config {
  const production = env.NODE_ENV === 'production';
  const dataDir = path.resolve(env.DATA_DIR ?? defaultDataDir);
  const durability = choiceSetting(env, 'DURABILITY', ['durable', 'fast']);
  const flusher = choiceSetting(env, 'FLUSHER', ['thread', 'inline', 'off']);
  const namespace = walletNamespace(env);
  const secret = authSecret(env, dataDir, production);
  return {
    port: integerSetting(env, 'PORT', 3000, 0, 65535),
    host: env.HOST ?? '0.0.0.0',
    production,
    authSecret: secret.secret,
    authSecretGenerated: secret.generated,
    redisUrl: env.REDIS_URL || undefined,
    databaseUrl: env.DATABASE_URL || undefined,
    stripeSecretKey: env.STRIPE_SECRET_KEY || undefined,
    stripeWebhookSecret: env.STRIPE_WEBHOOK_SECRET || undefined,
    stripeApiBase: env.STRIPE_API_BASE || undefined,
    durability,
    dataDir,
    walletNamespace: namespace,
    journalLengthMax: integerSetting(env, 'JOURNAL_LENGTH_MAX', limits.journalLengthMax, 1, 50_000_000),
    storageTimeoutMs: integerSetting(env, 'STORAGE_TIMEOUT_MS', limits.storageTimeoutMs, 100, 60_000),
    httpTimeoutMs: integerSetting(env, 'HTTP_TIMEOUT_MS', limits.httpTimeoutMs, 100, 3_600_000),
    flusherEnabled: flusher !== 'off',
    flusherThread: flusher === 'thread',
    broadcastTickMs: integerSetting(env, 'BROADCAST_TICK_MS', limits.broadcastTickMs, 10, 1_000),
    roomIdleCloseMinutes: integerSetting(env, 'ROOM_IDLE_CLOSE_MINUTES', limits.roomIdleCloseMinutes, 0, 365 * 24 * 60),
    flusherName: env.FLUSHER_NAME ?? `server-${hostname()}`,
    flusherLanes: integerSetting(env, 'FLUSHER_LANES', limits.flushLanes, 1, 16),
    gatewayRelay: choiceSetting(env, 'GATEWAY_RELAY', ['on', 'off']) === 'on',
    logLevel: env.LOG_LEVEL ?? 'info',
    giftsPerSecondPerUser: integerSetting(env, 'GIFT_RATE_PER_SEC', limits.giftsPerSecondPerUser, 1, 1_000_000),
    giftBurstPerUser: integerSetting(env, 'GIFT_BURST', limits.giftBurstPerUser, 1, 1_000_000),
    giftBackend: choiceSetting(env, 'GIFT_BACKEND', ['redis', 'postgres-baseline']),
    benchHandlers: env.BENCH_HANDLERS === '1',
  };
}
