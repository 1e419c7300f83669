import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { attachGateway, type Gateway } from '../realtime/gateway.js';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { createContext, type AppContext } from './context.js';
import { FlusherThread } from './flusher/flusher-thread.js';
import { ensureStorage, type StorageUrls } from './local-services/index.js';
import { listenRefusal } from './local-services/processes.js';
import { SettingError } from './config.js';
import { pruneMonthEarned } from './services/live-earnings.js';
import { reconcile } from './services/reconcile.js';
import { closeIdleRooms } from './services/room-closing.js';
import { repeatAfterEach } from './repeat.js';

export interface RunningServer {
  ctx: AppContext;
  app: FastifyInstance;
  gateway: Gateway;
  storage: StorageUrls;
  url: string;
  stop(): Promise<void>;
}

export interface StartOptions { logger?: boolean; stopStorage?: boolean; clock?: () => number }

const reconcileEveryMs = 60_000;
const settlementEveryMs = 15 * 60_000;
const pruneEveryMs = 60 * 60_000;
const idleRoomSweepEveryMs = 5 * 60_000;

/** Storage (private when no URLs are given), migrations, HTTP, the gateway and the flusher. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  // Before anything starts: a port another process holds would otherwise be found only at
  // the end, after private services were started and this node announced to the others.
  const refusal = config.port === 0 ? null : await listenRefusal(config.port, config.host);
  if (refusal !== null) {
    throw new SettingError(refusal === 'EADDRINUSE'
      ? `PORT ${config.port} on ${config.host} is in use by another process (another server?): stop it or set PORT`
      : `PORT ${config.port} on ${config.host} cannot be listened on (${refusal}): set PORT or HOST`);
  }
  const storage = await ensureStorage({
    dataDir: config.dataDir, redisUrl: config.redisUrl, databaseUrl: config.databaseUrl, durability: config.durability,
  });
  try {
    return await startOnStorage(config, storage, options);
  } catch (error) {
    // Nothing outlives a start that failed, and services found running are not ours to stop.
    await storage.stopStarted().catch(() => {});
    throw error;
  }
}

async function startOnStorage(config: Config, storage: StorageUrls, options: StartOptions): Promise<RunningServer> {
  const ctx = await createContext(config, {
    redisUrl: storage.redisUrl, databaseUrl: storage.databaseUrl, ownsRedis: storage.localRedis !== null,
  }, options.clock);
  const app = await buildApp(ctx, { logger: options.logger ?? false });
  // Unique per process: two nodes on one host share the flusher's default name.
  const nodeId = `${config.flusherName}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const gateway = attachGateway(ctx, app.server, nodeId, app.log);
  ctx.notifier = gateway;
  const flusherThread = config.flusherEnabled && config.flusherThread
    ? new FlusherThread({ redisUrl: storage.redisUrl, databaseUrl: storage.databaseUrl, namespace: config.walletNamespace,
      consumerName: config.flusherName, lanes: config.flusherLanes }, (message) => app.log.warn({ message }, 'flusher'))
    : null;
  const flusherStats = () => flusherThread?.stats ?? ctx.flusher.stats;
  let flushedSeen = 0;
  let failuresSeen = 0;
  const metricsTimer = setInterval(() => {
    const stats = flusherStats();
    ctx.metrics.ledgerFlushed.inc(stats.flushedEntries - flushedSeen);
    ctx.metrics.flushFailures.inc(stats.failures - failuresSeen);
    flushedSeen = stats.flushedEntries;
    failuresSeen = stats.failures;
  }, 1_000);
  metricsTimer.unref();
  // Announce that this node takes gifts, so rebuild-wallets refuses to run under it, and
  // learn how many other gateways are alive: with none, the relay appends nothing.
  const heartbeatEveryMs = 1_000;
  const member = gateway.relay.gatewayName;
  const heartbeat = async () => {
    const now = Date.now();
    const [, alive] = await ctx.redis.multi().zadd(ctx.wallets.keys.liveGateways, now + 5 * heartbeatEveryMs, member)
      .zrangebyscore(ctx.wallets.keys.liveGateways, now, '+inf').exec() ?? [];
    gateway.relay.seeGateways(Array.isArray(alive?.[1]) ? (alive[1] as unknown[]).map(String) : []);
  };
  await gateway.relay.start();
  await heartbeat().catch(() => 0);
  const heartbeatTimer = setInterval(() => void heartbeat().catch(() => 0), heartbeatEveryMs);
  heartbeatTimer.unref();
  // Other gateways count this one at their next heartbeat; until then they would not pass
  // it their gifts, so it takes no connection before they have.
  if (gateway.relay.shared) await new Promise((resolve) => setTimeout(resolve, heartbeatEveryMs + 200));
  // A periodic reconcile exports its result, so a one-coin drift is seen within minutes. Its
  // cost follows the accounts and the postings since its checkpoint; should that outgrow the
  // minute, it waits at least 20 times as long as its last run took, a twentieth of the time.
  const reconciling = repeatAfterEach(async () => {
    const startedMs = Date.now();
    await reconcile(ctx.redis, ctx.sql, ctx.wallets.keys).then((report) => {
      ctx.metrics.reconcileMismatches.set(report.mismatches.length);
      ctx.metrics.reconcileRuns.inc({ result: report.ok ? 'clean' : 'mismatch' });
      if (!report.ok) app.log.error({ report }, 'reconcile found mismatches');
    }, () => ctx.metrics.reconcileRuns.inc({ result: 'failed' }));
    ctx.metrics.reconcileSeconds.set((Date.now() - startedMs) / 1000);
  }, (lastRunMs) => Math.max(reconcileEveryMs, 20 * lastRunMs));
  // Orders: close the unpaid ones past their window; finish fulfilments and refunds a crash left behind.
  const sweepingOrders = repeatAfterEach(() => ctx.orders.expireDue().then(() => ctx.orders.fulfilPaid()).then(() => ctx.refunds.resume())
    .then(() => undefined, (error: unknown) => app.log.error({ err: error }, 'order sweep failed')), () => 60_000);
  // Settlement: each payee's newest closed period, once (a re-run changes nothing), then
  // the payouts that are due or were interrupted. Every node may run it; rows decide.
  const settling = repeatAfterEach(() => ctx.settlements.run().then(() => ctx.payouts.sendDue())
    .then(() => undefined, (error: unknown) => app.log.error({ err: error }, 'settlement run failed')), () => settlementEveryMs);
  // Rooms nobody gifts in any more close, their members told, every five minutes.
  const idleRoomMs = config.roomIdleCloseMinutes * 60_000;
  const closingIdleRooms = idleRoomMs === 0 ? null : repeatAfterEach(() => closeIdleRooms(ctx, idleRoomMs)
    .then((closed) => { if (closed > 0) app.log.info({ closed }, 'closed rooms no gift reached for a while'); },
      (error: unknown) => app.log.error({ err: error }, 'closing idle rooms failed')), () => idleRoomSweepEveryMs);
  // Month earnings of past months leave the hot store (at start, then hourly).
  const pruneMonths = () => void pruneMonthEarned(ctx.redis, ctx.wallets.keys, ctx.clock())
    .then((removed) => { if (removed > 0) app.log.info({ removed }, 'pruned past months of live earnings'); })
    .catch((error: unknown) => app.log.warn({ err: error }, 'pruning past months of live earnings failed'));
  pruneMonths();
  const pruneTimer = setInterval(pruneMonths, pruneEveryMs);
  pruneTimer.unref();
  if (flusherThread !== null) flusherThread.start();
  else if (config.flusherEnabled) ctx.flusher.start();
  const address = await app.listen({ port: config.port, host: config.host });
  return {
    ctx, app, gateway, storage,
    url: address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1'),
    async stop() {
      clearInterval(metricsTimer);
      clearInterval(heartbeatTimer);
      await ctx.redis.zrem(ctx.wallets.keys.liveGateways, member).catch(() => 0);
      reconciling.stop();
      sweepingOrders.stop();
      settling.stop();
      closingIdleRooms?.stop();
      clearInterval(pruneTimer);
      await gateway.close();
      await app.close().catch(() => {});
      await flusherThread?.stop();
      await ctx.flusher.stop();
      await ctx.flusher.drain().catch(() => {});
      // Another server on the same data folder (a second `npm start` on another PORT)
      // runs on these private services too: the last one to stop stops them.
      const othersAlive = storage.localRedis === null && storage.localPostgres === null ? []
        : await ctx.redis.zrangebyscore(ctx.wallets.keys.liveGateways, Date.now(), '+inf').catch(() => []);
      await ctx.close();
      if (!(options.stopStorage ?? true)) return;
      if (othersAlive.length === 0) await storage.stop();
      else app.log.info({ gateways: othersAlive }, 'private Redis and PostgreSQL left running for the other servers on them');
    },
  };
}
