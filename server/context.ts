import type { Redis } from 'ioredis';
import type { Config } from './config.js';
import { limits } from '../domain/limits.js';
import { migrate } from './db/migrate.js';
import { connectPostgres, type Sql } from './db/sql.js';
import { JournalFlusher } from './flusher/flusher.js';
import { createMetrics, type Metrics } from './metrics.js';
import { connectRedis } from './redis/commands.js';
import { checkRedisSafety } from './redis/safety.js';
import { storeOperations, WalletStore } from './redis/wallet-store.js';
import { TokenService } from './auth/tokens.js';
import { GiftCatalog } from './services/catalog.js';
import { GiftService, type GiftSender } from './services/gift-service.js';
import { PostgresBaselineGifts } from './services/baseline-postgres-gifts.js';
import { RoomDirectory } from './services/rooms.js';
import { SplitRules } from './services/split-rules.js';
import { PayeeDirectory } from './services/payees.js';
import { SettlementService } from './services/settlements.js';
import { PayoutService } from './services/payouts.js';
import { StripeTransfers } from './payments/transfers.js';
import { silentNotifier, type LiveNotifier } from './services/notifier.js';
import { OrderService } from './services/orders.js';
import { ChargebackService } from './services/chargebacks.js';
import { RefundService } from './services/refunds.js';
import { SandboxProvider, StripeProvider, stripeClient } from './payments/provider.js';
import { WalletFreezes } from './services/wallet-freezes.js';
import type Stripe from 'stripe';

/** Everything a running node holds: storage clients and the use-cases built on them. */
export interface AppContext {
  config: Config;
  sql: Sql;
  redis: Redis;
  flusherRedis: Redis;
  wallets: WalletStore;
  catalog: GiftCatalog;
  rooms: RoomDirectory;
  gifts: GiftSender;
  tokens: TokenService;
  metrics: Metrics;
  flusher: JournalFlusher;
  /** Replaced by the realtime gateway once it is attached. */
  notifier: LiveNotifier;
  orders: OrderService;
  chargebacks: ChargebackService;
  refunds: RefundService;
  /** Admins' freezes of wallets (moderation, fraud). */
  freezes: WalletFreezes;
  /** Null without STRIPE_SECRET_KEY: then orders use the sandbox (development only). */
  stripe: Stripe | null;
  splitRules: SplitRules;
  payees: PayeeDirectory;
  settlements: SettlementService;
  payouts: PayoutService;
  /** The time money moves at: Date.now, or a test's simulated clock. */
  clock: () => number;
  close(): Promise<void>;
}

export interface Storage {
  redisUrl: string;
  databaseUrl: string;
  /** True when this process started the Redis: then it may set its persistence to the mode. */
  ownsRedis: boolean;
}

export async function createContext(config: Config, storage: Storage, clock: () => number = Date.now): Promise<AppContext> {
  // The baseline design runs a transaction per gift, so its pool is its concurrency. Tuned
  // as its team would tune it, on the bench's 2-core machine (gifts/s spread / hot-room):
  // 40 connections 445-470 / 150-182, 20: 481-539 / 208-271, 10: 500-552 / 218-223,
  // 8: 593 / 262, 5: 548-600 / 201-356, 3: 516-529 / 260-325. More connections only queue
  // on the same row locks and cores.
  const baselinePool = 5;
  const sql = connectPostgres(storage.databaseUrl, { max: config.giftBackend === 'postgres-baseline' ? baselinePool : 10 });
  const redis = connectRedis(storage.redisUrl, { name: 'gifting-main', offlineQueue: true });
  // The flusher blocks on its own connection so it never delays a gift.
  const flusherRedis = connectRedis(storage.redisUrl, { name: 'gifting-flusher', offlineQueue: true });
  try {
    await Promise.all([redis.ping(), flusherRedis.ping()]);
    redis.options.enableOfflineQueue = false;
    await checkRedisSafety(redis, config.durability, storage.ownsRedis);
    await migrate(sql);
  } catch (error) {
    redis.disconnect();
    flusherRedis.disconnect();
    await sql.end({ timeout: 2 });
    throw error;
  }
  const catalog = new GiftCatalog(sql);
  await catalog.load();
  const metrics = createMetrics();
  // Each operation's series bound once: labelling every gift's observation would hash its labels each time.
  const storeLatency = new Map(storeOperations.map((operation) => [operation, metrics.walletStoreLatency.labels(operation)]));
  const wallets = new WalletStore(redis, config.walletNamespace, config.journalLengthMax, config.storageTimeoutMs,
    (operation, seconds) => storeLatency.get(operation)?.observe(seconds));
  const flusher = new JournalFlusher(flusherRedis, sql, wallets.keys, { consumerName: config.flusherName, lanes: config.flusherLanes });
  await flusher.ensureGroup();
  const stripe = config.stripeSecretKey === undefined ? null : stripeClient(config.stripeSecretKey, config.stripeApiBase);
  const provider = stripe === null ? new SandboxProvider() : new StripeProvider(stripe);
  const splitRules = new SplitRules(sql);
  await splitRules.preload();
  const payees = new PayeeDirectory(sql);
  const context: AppContext = {
    config, sql, redis, flusherRedis, wallets, catalog, metrics, flusher, stripe, splitRules, clock, payees,
    settlements: new SettlementService(sql, wallets, payees, clock),
    payouts: new PayoutService(sql, wallets, payees, stripe === null ? null : new StripeTransfers(stripe), clock),
    notifier: silentNotifier,
    orders: new OrderService(sql, wallets, provider, () => context.notifier),
    chargebacks: new ChargebackService(sql, wallets, () => context.notifier),
    refunds: new RefundService(sql, wallets, provider, () => context.notifier),
    freezes: new WalletFreezes(sql, wallets),
    rooms: new RoomDirectory(sql, limits.roomRecheckMs, Date.now, config.storageTimeoutMs),
    gifts: config.giftBackend === 'postgres-baseline' ? new PostgresBaselineGifts(catalog, sql) : new GiftService(catalog, wallets, splitRules, { perSec: config.giftsPerSecondPerUser, burst: config.giftBurstPerUser }, clock),
    tokens: new TokenService(config.authSecret),
    async close() {
      await flusher.stop();
      redis.disconnect();
      flusherRedis.disconnect();
      await sql.end({ timeout: 5 });
    },
  };
  return context;
}
