import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  gifts: Counter<'outcome'>;
  giftLatency: Histogram;
  walletStoreLatency: Histogram<'operation'>;
  journalEntries: Gauge;
  journalLagSeconds: Gauge;
  redisUsedMemoryBytes: Gauge;
  redisMaxMemoryBytes: Gauge;
  ledgerFlushed: Counter;
  flushFailures: Counter;
  reconcileMismatches: Gauge;
  reconcileRuns: Counter<'result'>;
  reconcileSeconds: Gauge;
  sockets: Gauge;
  roomFrames: Counter<'event'>;
  roomsClosed: Counter<'by'>;
  walletFreezes: Counter<'action'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    gifts: new Counter({ name: 'gifts_total', help: 'gift:send requests by outcome (ok, replay or an error code)', labelNames: ['outcome'], registers: [registry] }),
    giftLatency: new Histogram({
      name: 'gift_latency_seconds', help: 'time from gift:send received to ack sent',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1], registers: [registry],
    }),
    walletStoreLatency: new Histogram({
      name: 'wallet_store_seconds', help: 'one wallet-store call to Redis, sent to answered (or timed out), by operation: how much of gift_latency_seconds is Redis',
      labelNames: ['operation'], buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5], registers: [registry],
    }),
    journalEntries: new Gauge({ name: 'journal_entries', help: 'journal entries in Redis not yet in the ledger', registers: [registry] }),
    journalLagSeconds: new Gauge({ name: 'journal_lag_seconds', help: 'age of the oldest unflushed journal entry', registers: [registry] }),
    redisUsedMemoryBytes: new Gauge({ name: 'redis_used_memory_bytes', help: 'memory Redis uses; at redis_maxmemory_bytes it refuses every movement (UNAVAILABLE)', registers: [registry] }),
    redisMaxMemoryBytes: new Gauge({ name: 'redis_maxmemory_bytes', help: 'Redis maxmemory; 0 when it has none', registers: [registry] }),
    ledgerFlushed: new Counter({ name: 'ledger_flushed_entries_total', help: 'journal entries written to the ledger', registers: [registry] }),
    flushFailures: new Counter({ name: 'ledger_flush_failures_total', help: 'failed flush attempts (retried)', registers: [registry] }),
    reconcileMismatches: new Gauge({ name: 'reconcile_mismatches', help: 'accounts whose hot balance differs from ledger + journal at the last check', registers: [registry] }),
    reconcileRuns: new Counter({ name: 'reconcile_runs_total', help: 'reconcile checks by result', labelNames: ['result'], registers: [registry] }),
    reconcileSeconds: new Gauge({ name: 'reconcile_duration_seconds', help: 'how long the last periodic reconcile took (the next waits at least 20 times as long)', registers: [registry] }),
    sockets: new Gauge({ name: 'realtime_sockets', help: 'connected Socket.IO clients', registers: [registry] }),
    roomFrames: new Counter({
      name: 'room_frames_total', help: 'room events written to members, one per member per frame (gift, gifts, giftColumns, leaderboard)',
      labelNames: ['event'], registers: [registry],
    }),
    roomsClosed: new Counter({ name: 'rooms_closed_total', help: 'rooms closed through this node, by who closed them (streamer, admin, or idle: no gift for ROOM_IDLE_CLOSE_MINUTES)', labelNames: ['by'], registers: [registry] }),
    walletFreezes: new Counter({ name: 'wallet_freezes_total', help: 'admins\' freezes and lifts of wallets made through this node', labelNames: ['action'], registers: [registry] }),
  };
}
