import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { io } from 'socket.io-client';
import postgres from 'postgres';
import type { Redis } from 'ioredis';
import { TokenService, type Role } from '../server/auth/tokens.js';
import { projectRoot } from '../server/paths.js';
import { ServerProcess } from '../scripts/server-process.js';
import { serverAt, startedServer, type BenchServer } from './bench-server.js';
import { aofState, compactAof } from './aof.js';
import { cpuTicks, machineTicks, rssMiB, type CpuUsage } from './proc.js';
import { connectRedis } from '../server/redis/commands.js';
import { atTargetSizes, benchUsage, BenchUsageError, parseBenchOptions, type BenchOptions, type ScenarioName } from './options.js';
import { checkTargets, targetLine, type TargetCheck } from './targets.js';
import { markdownTable } from './table.js';
import { compareRuns, comparisonText, ComparisonFileError, readEarlierRun, type ComparableRun, type Comparison } from './compare.js';
import { bucketQuantileMs, counterTotal, histogramBuckets, medianBy, mergePerSecond, percentiles, type Percentiles } from './stats.js';
import type { BenchUser, Job, WorkerResult } from './worker.js';

// npm run bench [-- options]: see options.ts, or npm run bench -- --help.
// Starts the server with its private services (or measures the one at --url), runs every
// scenario with load generators in separate processes, checks the money after each,
// prints a table and writes JSON.

let options: BenchOptions;
try {
  options = parseBenchOptions(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof BenchUsageError)) throw error;
  process.stderr.write(`bench: ${error.message}\n\n${benchUsage}`);
  process.exit(2);
}
if (options.help) {
  process.stdout.write(benchUsage);
  process.exit(0);
}
/** When the run began, for the JSON: report() runs minutes later, at its end. */
const startedAt = new Date().toISOString();
let earlierRun: ComparableRun | null = null;
try {
  earlierRun = options.compare === undefined ? null : readEarlierRun(options.compare);
} catch (error) {
  if (!(error instanceof ComparisonFileError)) throw error;
  process.stderr.write(`bench: ${error.message}\n`);
  process.exit(2);
}
// --rounds N runs every scenario N times, round after round, and reports each one's
// median round: on a VM whose speed drifts, ratios of medians taken side by side hold
// better than one run's.
const { rounds, quick, delivery, sizes: size } = options;
/** --profile DIR: each load generator writes its V8 CPU profile to DIR/load-generators. */
const loadGeneratorNodeArgs = options.profile === undefined ? []
  : ['--cpu-prof', `--cpu-prof-dir=${path.resolve(options.profile, 'load-generators')}`];
/** Scenarios the target cannot run (ack-only on a server without BENCH_HANDLERS=1). */
const skipped = new Set<ScenarioName>();
const wanted = (name: ScenarioName) => !skipped.has(name) && (options.only === null || options.only.has(name));
const workerPath = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.js');

interface ScenarioResult {
  giftsPerSec: number;
  ackMs: Percentiles;
  acked: number;
  /**
   * Acks that came within the scenario's duration: giftsPerSec is this over the duration.
   * acked also counts the gifts in flight when sending stopped, which the money checks need.
   */
  ackedInWindow?: number;
  errors: Record<string, number>;
  deliveryMs?: Percentiles;
  deliveries?: number;
  flushLagMaxSeconds?: number;
  serverCpuPercent?: number;
  serverRssMiB?: number;
  redisCpuPercent?: number;
  requestsPerSec?: number;
  /** HTTP scenarios: the requests of the warm-up, which the figures leave out. */
  warmupRequests?: number;
  /** Paced scenarios: the rate the load generators offered. */
  offeredPerSec?: number;
  /** Where every receiver must see every acked gift: receivers x acked. */
  expectedDeliveries?: number;
  correctness?: { reconcileOk: boolean; ledgerGiftEntries: number; acked: number; deliveriesComplete: boolean; ok: boolean };
  /** How long compacting Redis's AOF took just before this scenario, when it was due (see bench/aof.ts), in ms. */
  aofCompactedBeforeMs?: number;
  /** AOF rewrites that started while the scenario ran despite that: each stalls every ack for a moment. */
  aofRewritesDuring?: number;
  loadGeneratorCpuPercent?: number[];
  /**
   * The whole machine's CPU in use during the run, 0-100 over all cores: near 100 means
   * the load generators and the services share out a saturated machine.
   */
  machineBusyPercent?: number;
  /**
   * Inside the server, from gift:send read to ack written (the gift_latency_seconds
   * histogram), as bucket upper bounds in ms; null means over the last bound (1 s). Set
   * beside ackMs, it says whether a tail is the server's or the network's and clients'.
   */
  serverGiftMs?: { p50: number | null; p99: number | null };
  /**
   * Of that, the gift's call to the Redis wallets (wallet_store_seconds, operation gift),
   * in the same bucket bounds: what is left of serverGiftMs is the gateway's own event loop.
   */
  redisGiftMs?: { p50: number | null; p99: number | null };
  /** With --rounds: every round's gifts/s (req/s for http), in the order they ran; this result is the median round. */
  roundsPerSec?: number[];
  /**
   * Room events the server wrote to members a second within the window
   * (room_frames_total): one per member per frame. Past about 1,000 gifts/s in spread this
   * is set by rooms x members x ticks, not by the gift rate, and each frame costs CPU on
   * both ends.
   */
  framesPerSec?: number;
  /** prom-client's event-loop delay p99 since the server started (includes its 10 ms sampling resolution). */
  serverEventLoopLagP99Ms?: number;
  /**
   * Each whole second of the window: gifts acked (ok) and the slowest ack, and for scenarios
   * with receivers the gifts delivered and the slowest delivery. A sag or a stall within
   * the window shows here, where giftsPerSec averages it away.
   */
  perSecond?: { acked: number[]; ackMaxMs: number[]; delivered?: number[]; deliveryMaxMs?: number[] };
}

/** Every round's result per scenario, in the order they ran. */
const runs: Record<string, ScenarioResult[]> = {};
/** Per scenario, its median round: what the table, the JSON and the ratios show. */
const results: Record<string, ScenarioResult> = {};
const rateOf = (r: ScenarioResult) => r.requestsPerSec ?? r.giftsPerSec;

/** Told when load generators are sent 'go': the measured window opens then. */
let windowOpened: ((goAtMs: number) => void) | null = null;

async function runWorkers(jobs: Job[]): Promise<WorkerResult[]> {
  const children: ChildProcess[] = jobs.map(() => fork(workerPath, [], { execArgv: loadGeneratorNodeArgs, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const message = (child: ChildProcess, type: string) => new Promise<{ result?: WorkerResult; message?: string }>((resolve, reject) => {
    const onMessage = (m: { type: string; result?: WorkerResult; message?: string }) => {
      if (m.type === 'failed') reject(new Error(`worker failed: ${m.message}`));
      if (m.type === type) { child.off('message', onMessage); resolve(m); }
    };
    child.on('message', onMessage);
    child.once('exit', (code) => { if (code !== 0) reject(new Error(`worker exited with ${code}`)); });
  });
  const ready = children.map((child) => message(child, 'ready'));
  children.forEach((child, i) => child.send({ type: 'job', job: jobs[i], delivery, warmupMs: size.warmupMs }));
  await Promise.all(ready);
  const done = children.map((child) => message(child, 'result'));
  children.forEach((child) => child.send({ type: 'go' }));
  windowOpened?.(Date.now());
  return (await Promise.all(done)).map((m) => m.result as WorkerResult);
}

function merge(parts: WorkerResult[], durationMs: number): ScenarioResult {
  const errors: Record<string, number> = {};
  for (const part of parts) for (const [code, n] of Object.entries(part.errors)) errors[code] = (errors[code] ?? 0) + n;
  const acked = parts.reduce((sum, p) => sum + p.acked, 0);
  const ackedInWindow = parts.reduce((sum, p) => sum + p.ackedInWindow, 0);
  const deliveries = parts.reduce((sum, p) => sum + p.deliveries, 0);
  // fanout's receivers listen past the window, and send nothing: acks are timed over the window alone.
  const windowSeconds = Math.floor(durationMs / 1000);
  const ackedPerSecond = mergePerSecond(parts.map((p) => ({ counts: p.ackedPerSecond.counts.slice(0, windowSeconds), maxMs: p.ackedPerSecond.maxMs.slice(0, windowSeconds) })));
  const deliveredPerSecond = mergePerSecond(parts.map((p) => p.deliveredPerSecond));
  return {
    giftsPerSec: Math.round(ackedInWindow / (durationMs / 1000)),
    ackMs: percentiles(parts.flatMap((p) => p.ackMs), Math.max(...parts.map((p) => p.ackMaxMs))),
    acked,
    ackedInWindow,
    errors,
    loadGeneratorCpuPercent: parts.map((p) => p.cpuPercent),
    perSecond: { acked: ackedPerSecond.counts, ackMaxMs: ackedPerSecond.maxMs,
      ...(deliveries > 0 ? { delivered: deliveredPerSecond.counts, deliveryMaxMs: deliveredPerSecond.maxMs } : {}) },
    ...(deliveries > 0 ? { deliveries, deliveryMs: percentiles(parts.flatMap((p) => p.deliveryMs), Math.max(...parts.map((p) => p.deliveryMaxMs))) } : {}),
  };
}

/** The fanout result, which must show every receiver every acked gift (the sender is not counted). */
function withExpectedDeliveries(receivers: number, parts: WorkerResult[]): ScenarioResult {
  return { ...merge(parts, size.durationMs), expectedDeliveries: receivers * parts.reduce((sum, p) => sum + p.acked, 0) };
}

/** Compacted between scenarios once it has grown this much: no default scenario appends the ~190 MB more that would set one off inside it. */
const aofCompactAtBytes = 64 * 2 ** 20;

class Target {
  readonly tokens: TokenService;
  readonly sql: postgres.Sql;
  /** The bench's own server's Redis, for its AOF housekeeping; a server at --url keeps its Redis as it is. */
  private readonly redis: Redis | null;
  constructor(readonly server: BenchServer) {
    this.tokens = new TokenService(server.authSecret);
    this.sql = postgres(server.databaseUrl, { max: 2, onnotice: () => {} });
    this.redis = server.local ? connectRedis(server.redisUrl, { name: 'bench-housekeeping', offlineQueue: true }) : null;
  }

  async users(prefix: string, count: number, role: Role = 'viewer'): Promise<BenchUser[]> {
    return Promise.all(Array.from({ length: count }, async (_, i) => {
      const userId = `${prefix}${i}`;
      return { userId, token: await this.tokens.mint({ userId, role }) };
    }));
  }

  async call<T>(method: string, url: string, role: Role, body?: unknown, userId = `bench-${role}`): Promise<T> {
    const response = await fetch(`${this.server.url}${url}`, {
      method, headers: { authorization: `Bearer ${await this.tokens.mint({ userId, role })}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
    return await response.json() as T;
  }

  private readonly roomsOpened: { roomId: string; streamerId: string }[] = [];

  async openRoom(streamerId: string): Promise<string> {
    const { id } = await this.call<{ id: string }>('POST', '/v1/rooms', 'streamer', {}, streamerId);
    this.roomsOpened.push({ roomId: id, streamerId });
    return id;
  }

  /** The bench's rooms close when it ends: a server at --url keeps no open rooms from it (a streamer may hold 20). */
  async closeRooms(): Promise<void> {
    const opened = this.roomsOpened.splice(0);
    await inBatches(opened, ({ roomId, streamerId }) => this.call('POST', `/v1/rooms/${roomId}/close`, 'streamer', {}, streamerId));
  }

  async giftEntries(): Promise<number> {
    const [row] = await this.sql<{ n: string }[]>`select count(*)::text as n from journal_entries where kind = 'gift'`;
    return Number(row?.n ?? 0);
  }

  /** Runs a scenario while sampling flush lag and CPU; then checks the money. */
  async measure(name: string, run: () => Promise<ScenarioResult>, check: boolean): Promise<void> {
    const compactedInMs = this.redis === null ? null : await compactAof(this.redis, aofCompactAtBytes);
    const aofRewritesBefore = this.redis === null ? 0 : (await aofState(this.redis)).rewrites;
    const before = check ? await this.giftEntries() : 0;
    const serverPid = this.server.serverPid();
    const redisPid = this.server.redisPid();
    const usage = (): CpuUsage => ({ server: cpuTicks(serverPid), redis: cpuTicks(redisPid), machine: machineTicks(), atMs: Date.now() });
    const usageBefore: CpuUsage = usage();
    const metricsBefore = await this.metricsText();
    let lagMax = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const ready = await fetch(`${this.server.url}/ready`).then((r) => r.json() as Promise<{ journal: { lagSeconds: number } | null }>, () => null);
        lagMax = Math.max(lagMax, ready?.journal?.lagSeconds ?? 0);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    // The server's counters are read when the window opens, after the warm-up, and when it
    // closes, as the acks are counted: frames for gifts acked later would otherwise be
    // divided by a window they came after.
    // CPU too is read over the window, so it is set against the same gifts.
    type Scrape = { metrics: string; cpu: CpuUsage };
    const scrapes: { atWindowStart?: Promise<Scrape>; atWindowEnd?: Promise<Scrape> } = {};
    const scrapeAt = (atMs: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, atMs - Date.now())))
      .then(() => { const cpu = usage(); return this.metricsText().then((metrics) => ({ metrics, cpu })); });
    windowOpened = (goAtMs) => {
      scrapes.atWindowStart = scrapeAt(goAtMs + size.warmupMs);
      scrapes.atWindowEnd = scrapeAt(goAtMs + size.warmupMs + size.durationMs);
    };
    let result: ScenarioResult;
    try {
      result = await run();
    } finally {
      windowOpened = null;
    }
    if (compactedInMs !== null) result.aofCompactedBeforeMs = compactedInMs;
    if (this.redis !== null) {
      const rewrites = (await aofState(this.redis)).rewrites - aofRewritesBefore;
      if (rewrites > 0) result.aofRewritesDuring = rewrites;
    }
    // Over the window where there is one (the gift scenarios), else over the whole run (HTTP).
    const [from, to] = scrapes.atWindowStart !== undefined && scrapes.atWindowEnd !== undefined
      ? [(await scrapes.atWindowStart).cpu, (await scrapes.atWindowEnd).cpu] : [usageBefore, usage()];
    const wallSeconds = (to.atMs - from.atMs) / 1000;
    // A server at --url is not the bench's child: its processes' figures are unknown, not 0.
    if (serverPid !== null) {
      result.serverCpuPercent = Math.round(((to.server - from.server) / 100 / wallSeconds) * 100);
      result.serverRssMiB = rssMiB(serverPid);
    }
    if (redisPid !== null) result.redisCpuPercent = Math.round(((to.redis - from.redis) / 100 / wallSeconds) * 100);
    if (to.machine.total > from.machine.total) {
      result.machineBusyPercent = Math.round(((to.machine.busy - from.machine.busy) / (to.machine.total - from.machine.total)) * 100);
    }
    sampling = false;
    await sampler;
    result.flushLagMaxSeconds = Math.round(lagMax * 100) / 100;
    if (check) {
      // The check compares a finished ledger: wait for the backlog to drain (bounded at
      // 3 minutes), or the count would race the flusher and cry wolf.
      for (let i = 0; i < 1_800; i += 1) {
        const ready = await fetch(`${this.server.url}/ready`).then((r) => r.json() as Promise<{ journal: { entries: number } }>);
        if (ready.journal.entries === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const report = await this.call<{ ok: boolean }>('GET', '/v1/admin/reconcile', 'admin');
      const ledgerGiftEntries = (await this.giftEntries()) - before;
      const deliveriesComplete = result.expectedDeliveries === undefined || result.deliveries === result.expectedDeliveries;
      result.correctness = { reconcileOk: report.ok, ledgerGiftEntries, acked: result.acked, deliveriesComplete,
        ok: report.ok && ledgerGiftEntries === result.acked && deliveriesComplete };
    }
    const metrics = await this.metricsText();
    const atWindowStart = (await scrapes.atWindowStart)?.metrics ?? metricsBefore;
    // In the server: the gifts from the window's opening on, to the last ack, as ackMs takes them.
    const giftLatency = histogramBuckets(metrics, 'gift_latency_seconds');
    const [serverP50, serverP99] = [0.5, 0.99].map((q) => bucketQuantileMs(histogramBuckets(atWindowStart, 'gift_latency_seconds'), giftLatency, q));
    if (serverP50 !== undefined && serverP99 !== undefined) result.serverGiftMs = { p50: serverP50, p99: serverP99 };
    const storeCalls = (text: string) => histogramBuckets(text, 'wallet_store_seconds', 'operation="gift"');
    const [redisP50, redisP99] = [0.5, 0.99].map((q) => bucketQuantileMs(storeCalls(atWindowStart), storeCalls(metrics), q));
    if (redisP50 !== undefined && redisP99 !== undefined) result.redisGiftMs = { p50: redisP50, p99: redisP99 };
    const frames = scrapes.atWindowEnd === undefined ? 0 : counterTotal((await scrapes.atWindowEnd).metrics, 'room_frames_total') - counterTotal(atWindowStart, 'room_frames_total');
    if (frames > 0) result.framesPerSec = Math.round(frames / (size.durationMs / 1000));
    const lag = /^nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(metrics)?.[1];
    if (lag !== undefined) result.serverEventLoopLagP99Ms = Math.round(Number(lag) * 1000);
    (runs[name] ??= []).push(result);
    const rate = result.requestsPerSec === undefined ? `${result.giftsPerSec}${secondsRange(result)} gifts/s, ack` : `${result.requestsPerSec} req/s, latency`;
    process.stderr.write(`  ${name}: ${rate} p99 ${result.ackMs.p99} ms${result.correctness ? `, money ${result.correctness.ok ? 'ok' : 'WRONG'}` : ''}${
      result.aofRewritesDuring === undefined ? '' : ', a Redis AOF rewrite ran during it'}\n`);
  }

  private async metricsText(): Promise<string> {
    return fetch(`${this.server.url}/metrics`).then((r) => r.text(), () => '');
  }

  async close(): Promise<void> {
    this.redis?.disconnect();
    await this.sql.end();
  }
}

/** Bucket upper bounds as "≤p50/≤p99", past the last finite bound (1 s) as ">1000". */
function bucketBounds({ p50, p99 }: { p50: number | null; p99: number | null }): string {
  return [p50, p99].map((v) => (v === null ? '>1000' : `≤${v}`)).join('/');
}

/** ' (slowest-fastest)' whole second of the window, when it had two or more. */
function secondsRange(result: ScenarioResult): string {
  const counts = result.perSecond?.acked ?? [];
  return counts.length < 2 ? '' : ` (${Math.min(...counts)}-${Math.max(...counts)})`;
}

/** Set-up requests 50 at a time: --rooms 10000 must not open 10,000 HTTP requests at once. */
async function inBatches<T, R>(items: readonly T[], call: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += 50) results.push(...await Promise.all(items.slice(i, i + 50).map(call)));
  return results;
}

/** Clients dealt over the load generators in runs as even as they go, with each run's first index. */
function splitOverGenerators<T>(clients: readonly T[]): { first: number; part: T[] }[] {
  const parts = Math.min(size.generators, clients.length);
  return Array.from({ length: parts }, (_, i) => {
    const first = Math.floor((i * clients.length) / parts);
    return { first, part: clients.slice(first, Math.floor(((i + 1) * clients.length) / parts)) };
  });
}

async function gifters(target: Target, viewers: BenchUser[], rooms: string[], event: 'gift:send' | 'bench:ack',
  ratePerSec?: number): Promise<ScenarioResult> {
  const groups = splitOverGenerators(viewers);
  // A generator deals its clients over `rooms` from its first one: viewer k of the whole run
  // sits in room k mod rooms, whichever generator holds it.
  const from = (first: number) => rooms.slice(first % rooms.length).concat(rooms.slice(0, first % rooms.length));
  const job = ({ first, part }: { first: number; part: BenchUser[] }): Job => ({ role: 'gifters', url: target.server.url, users: part,
    rooms: from(first), inFlight: size.inFlight, durationMs: size.durationMs, event, receive: event === 'gift:send', sendsMax: 5_000_000,
    ...(ratePerSec === undefined ? {} : { ratePerSec: (ratePerSec * part.length) / viewers.length }) });
  return merge(await runWorkers(groups.map(job)), size.durationMs);
}

async function seedBaseline(target: Target, viewers: BenchUser[]): Promise<void> {
  // The ids travel as one JSON document: a text[] parameter as a connection's first query
  // goes out before the client knows PostgreSQL's array types, and is refused.
  await target.sql`
    insert into baseline_wallets (account_id, balance)
    select 'wallet:' || u, 1000000000 from jsonb_array_elements_text(${JSON.stringify(viewers.map((v) => v.userId))}::text::jsonb) as u
    on conflict (account_id) do update set balance = 1000000000`;
}

interface Scenarios {
  server: BenchServer;
  target: Target;
  viewers: BenchUser[];
  rooms: string[];
  hotRoom: string;
  fanoutRoom: string;
}

/** One round: every wanted scenario once, ours first, then the baselines on their own server. */
async function runRound({ server, target, viewers, rooms, hotRoom, fanoutRoom }: Scenarios): Promise<void> {
  if (wanted('ack-only')) await target.measure('ack-only', () => gifters(target, viewers, rooms, 'bench:ack'), false);
  if (wanted('evalsha')) {
    await target.measure('evalsha', async () => merge(await runWorkers([{ role: 'evalsha', redisUrl: server.redisUrl, namespace: server.walletNamespace,
      users: viewers, streamerId: 'bench-evalsha-streamer', inFlight: 200, durationMs: size.durationMs }]), size.durationMs), true);
  }
  if (wanted('spread')) await target.measure('spread', () => gifters(target, viewers, rooms, 'gift:send'), true);
  if (wanted('hot-room')) await target.measure('hot-room', () => gifters(target, viewers, [hotRoom], 'gift:send'), true);
  // The latency target is set at half the top rate: the same room and viewers, paced.
  const hotRoomTop = runs['hot-room']?.at(-1)?.giftsPerSec;
  if (wanted('hot-room-half') && hotRoomTop !== undefined) {
    const offered = Math.max(1, Math.floor(hotRoomTop / 2));
    await target.measure('hot-room-half', async () => ({ ...await gifters(target, viewers, [hotRoom], 'gift:send', offered), offeredPerSec: offered }), true);
  }
  if (wanted('fanout')) {
    const receivers = await target.users('bench-receiver-', size.receivers);
    await target.measure('fanout', async () => ({ ...withExpectedDeliveries(receivers.length, await runWorkers([
      ...splitOverGenerators(receivers).map(({ part }): Job => ({ role: 'receivers', url: server.url, users: part, roomId: fanoutRoom,
        durationMs: size.durationMs + 1_000 })),
      { role: 'fixed-rate', url: server.url, user: viewers[0] as BenchUser, roomId: fanoutRoom, ratePerSec: size.fanoutRate, durationMs: size.durationMs },
    ])), offeredPerSec: size.fanoutRate }), true);
  }
  const bearer = viewers[0]?.token ?? '';
  for (const [name, url, headers] of [['http-wallet', '/v1/wallet', { authorization: `Bearer ${bearer}` }], ['http-gifts', '/v1/gifts', {}]] as const) {
    if (wanted(name)) {
      await target.measure(name, async () => {
        // autocannon runs the warm-up, then measures afresh (its option is not in @types/autocannon).
        const load: autocannon.Options & { warmup?: { connections: number; duration: number } } = {
          url: `${server.url}${url}`, connections: size.httpConnections, duration: size.httpSeconds, headers,
          ...(size.warmupMs > 0 ? { warmup: { connections: size.httpConnections, duration: size.warmupMs / 1000 } } : {}),
        };
        const result = await autocannon(load) as autocannon.Result & { warmup?: autocannon.Result };
        return { giftsPerSec: 0, requestsPerSec: Math.round(result.requests.average), acked: result.requests.total,
          ...(result.warmup === undefined ? {} : { warmupRequests: result.warmup.requests.total }),
          errors: { non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts },
          ackMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max } };
      }, false);
    }
  }
  if (wanted('baseline-postgres-spread') || wanted('baseline-postgres-hot-room')) {
    await withBaselineServer(server, target, viewers, async (baseline) => {
      if (wanted('baseline-postgres-spread')) await baseline.measure('baseline-postgres-spread', () => gifters(baseline, viewers, rooms, 'gift:send'), false);
      if (wanted('baseline-postgres-hot-room')) await baseline.measure('baseline-postgres-hot-room', () => gifters(baseline, viewers, [hotRoom], 'gift:send'), false);
    });
  }
}

/**
 * Runs the PostgreSQL-only design on a server of its own, beside the measured one and on
 * the same storage, for as long as its scenarios take: alive any longer, its periodic
 * work (a reconcile a minute) would run during ours.
 */
async function withBaselineServer(server: BenchServer, target: Target, viewers: BenchUser[], run: (baseline: Target) => Promise<void>): Promise<void> {
  const baselineServer = await ServerProcess.create({ GIFT_BACKEND: 'postgres-baseline', FLUSHER: 'off', REDIS_URL: server.redisUrl,
    DATABASE_URL: server.databaseUrl, AUTH_SECRET: server.authSecret, WALLET_NAMESPACE: server.walletNamespace, FLUSHER_NAME: 'bench-baseline',
    // A design beside ours, not a peer gateway: neither passes the other its live updates.
    GATEWAY_RELAY: 'off' });
  if (options.profile !== undefined) baselineServer.nodeArgs = serverProfileArgs(options.profile, 'baseline');
  try {
    await baselineServer.start();
    await seedBaseline(target, viewers);
    const baseline = new Target(startedServer(baselineServer));
    try {
      await run(baseline);
    } finally {
      await baseline.close();
    }
  } finally {
    await baselineServer.destroy();
  }
}

/** --profile DIR: a server the bench starts writes a V8 CPU profile of each of its threads to DIR/sub when it stops. */
function serverProfileArgs(dir: string, sub: string): string[] {
  return ['--cpu-prof', `--cpu-prof-dir=${path.resolve(dir, sub)}`];
}

/** Whether the server answers `bench:ack`, which it does only when started with BENCH_HANDLERS=1. */
async function answersBenchAck(target: Target): Promise<boolean> {
  const [user] = await target.users('bench-probe-', 1);
  const socket = io(target.server.url, { transports: ['websocket'], auth: { token: user?.token }, reconnection: false, forceNew: true });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    await socket.timeout(2_000).emitWithAck('bench:ack', {});
    return true;
  } catch {
    return false;
  } finally {
    socket.close();
  }
}

async function main(): Promise<void> {
  const { durability } = options;
  let started: ServerProcess | null = null;
  let server: BenchServer;
  if (options.url !== undefined) {
    server = serverAt(options.url, process.env);
    process.stderr.write(`bench: ${quick ? 'quick' : 'full'} run against ${server.url}, with that server's own settings\n`);
  } else {
    process.stderr.write(`bench: ${quick ? 'quick' : 'full'} run, durability ${durability}, starting the server and its services...\n`);
    // Server settings under study pass through from the bench's environment.
    const passed = Object.fromEntries(['FLUSHER', 'FLUSHER_LANES', 'BROADCAST_TICK_MS']
      .flatMap((name) => process.env[name] === undefined ? [] : [[name, process.env[name] as string]]));
    started = await ServerProcess.create({ BENCH_HANDLERS: '1', DURABILITY: durability, ...passed });
    // --profile DIR: the server writes a V8 CPU profile there when it stops (each of its threads one).
    if (options.profile !== undefined) started.nodeArgs = serverProfileArgs(options.profile, '.');
    await started.start();
    server = startedServer(started);
  }
  const target = new Target(server);
  try {
    if (wanted('ack-only') && !server.local && !await answersBenchAck(target)) {
      skipped.add('ack-only');
      process.stderr.write('bench: ack-only skipped: the server at --url does not answer bench:ack (start it with BENCH_HANDLERS=1)\n');
    }
    const viewers = await target.users('bench-viewer-', size.viewers);
    await inBatches(viewers, (v) => target.call('POST', '/v1/admin/grants', 'admin', { userId: v.userId, coins: 100_000_000, reason: 'bench' }));
    const rooms = await inBatches(Array.from({ length: size.rooms }, (_, i) => `bench-streamer-${i}`), (streamerId) => target.openRoom(streamerId));
    const hotRoom = await target.openRoom('bench-hot-streamer');
    const fanoutRoom = await target.openRoom('bench-fanout-streamer');
    process.stderr.write(`bench: ${viewers.length} viewers funded, ${rooms.length + 2} rooms open\n`);
    const scenarios = { server, target, viewers, rooms, hotRoom, fanoutRoom };
    for (let round = 1; round <= rounds; round += 1) {
      if (rounds > 1) process.stderr.write(`bench: round ${round} of ${rounds}\n`);
      await runRound(scenarios);
    }
  } finally {
    await target.closeRooms().catch((error: unknown) => process.stderr.write(`bench: could not close its rooms: ${String(error)}\n`));
    await target.close();
    await started?.destroy();
  }
  report(server.local ? durability : 'the target\'s', server.local ? 'started by the bench' : server.url);
}

/** The speed targets are set for the default sizes in durable mode: another run is measured, not judged. */
function speedNotJudged(): string | null {
  if (!atTargetSizes(size)) return quick ? 'a --quick run' : 'sizes differ from the defaults';
  return options.durability === 'fast' && options.url === undefined ? 'fast durability' : null;
}

const ratioPairs = {
  spreadVsBaseline: ['spread', 'baseline-postgres-spread'],
  hotRoomVsBaseline: ['hot-room', 'baseline-postgres-hot-room'],
  spreadVsAckOnly: ['spread', 'ack-only'],
} as const;
type RatioName = keyof typeof ratioPairs;

function ratioOf(x: number | undefined, y: number | undefined): number | null {
  return x === undefined || y === undefined || y === 0 ? null : Math.round((x / y) * 100) / 100;
}

function eachRatio<T>(of: (a: string, b: string) => T): Record<RatioName, T> {
  return Object.fromEntries(Object.entries(ratioPairs).map(([name, [a, b]]) => [name, of(a, b)])) as Record<RatioName, T>;
}

function report(durability: string, target: string): void {
  for (const [name, all] of Object.entries(runs)) {
    const median = medianBy(all, rateOf);
    results[name] = rounds > 1 ? { ...median, roundsPerSec: all.map(rateOf) } : median;
  }
  const output = {
    machine: { cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, cpu: os.cpus()[0]?.model ?? '' },
    startedAt, finishedAt: new Date().toISOString(), target, quick, durability, delivery, rounds, sizes: size,
    scenarios: results,
    ratios: eachRatio((a, b) => ratioOf(results[a]?.giftsPerSec, results[b]?.giftsPerSec)),
    // With --rounds: each round's own ratio, its two scenarios measured minutes apart, so a
    // drifting host moves both; the ratios above divide medians that may come from different rounds.
    ...(rounds > 1 ? { ratiosByRound: eachRatio((a, b) => (runs[a] ?? []).map((run, i) => ratioOf(run.giftsPerSec, runs[b]?.[i]?.giftsPerSec))) } : {}),
    targets: [] as TargetCheck[],
    comparison: undefined as Comparison | undefined,
  };
  output.targets = checkTargets(results, output.ratios, runs, speedNotJudged());
  if (earlierRun !== null && options.compare !== undefined) {
    output.comparison = compareRuns(earlierRun, { ...output, sizes: { ...size } }, options.compare, options.maxRegressionPercent);
  }
  const rows = Object.entries(results).map(([name, r]) => [
    name, r.requestsPerSec !== undefined ? `${r.requestsPerSec} req/s` : `${r.giftsPerSec}${secondsRange(r)}`,
    `${r.ackMs.p50}/${r.ackMs.p90}/${r.ackMs.p99}/${r.ackMs.max}`,
    r.serverGiftMs ? `${bucketBounds(r.serverGiftMs)}${r.redisGiftMs ? ` (${bucketBounds(r.redisGiftMs)})` : ''}` : '-',
    r.deliveryMs ? `${r.deliveryMs.p50}/${r.deliveryMs.p99}` : '-',
    r.framesPerSec === undefined ? '-' : String(r.framesPerSec),
    Object.entries(r.errors).filter(([, n]) => n > 0).map(([c, n]) => `${c}:${n}`).join(' ') || '-',
    r.flushLagMaxSeconds === undefined ? '-' : `${r.flushLagMaxSeconds}s`,
    `${r.serverCpuPercent ?? '-'}%/${r.redisCpuPercent ?? '-'}%`, r.loadGeneratorCpuPercent?.map((c) => `${c}%`).join(' ') ?? '-',
    r.machineBusyPercent === undefined ? '-' : `${r.machineBusyPercent}%`, `${r.serverRssMiB ?? '-'}`,
    r.correctness ? (r.correctness.ok ? 'ok' : `WRONG (ledger ${r.correctness.ledgerGiftEntries}, acked ${r.correctness.acked}, reconcile ${
      r.correctness.reconcileOk}, deliveries ${r.deliveries ?? 0} of ${r.expectedDeliveries ?? '-'})`) : '-',
  ]);
  const header = ['scenario', 'gifts/s (each second)', 'ack ms p50/p90/p99/max', 'in server (Redis) ms p50/p99', 'delivery ms p50/p99', 'frames/s out', 'errors', 'lag max', 'cpu srv/redis', 'cpu load gens', 'machine busy', 'rss MiB', 'money'];
  process.stdout.write(`\n${markdownTable(header, rows)}\n`);
  const rewrittenDuring = Object.entries(runs).flatMap(([name, ofRounds]) => ofRounds.flatMap((run, i) =>
    run.aofRewritesDuring === undefined ? [] : [`${name}${rounds > 1 ? ` (round ${i + 1})` : ''}`]));
  if (rewrittenDuring.length > 0) {
    process.stdout.write(`\nRedis rewrote its AOF during ${rewrittenDuring.join(', ')}: acks stall while it does (README "Benchmarks")\n`);
  }
  process.stdout.write(`\nratios: ${JSON.stringify(output.ratios)}\n`);
  if (output.ratiosByRound !== undefined) process.stdout.write(`ratios by round: ${JSON.stringify(output.ratiosByRound)}\n`);
  process.stdout.write(`machine: ${JSON.stringify(output.machine)}\n`);
  process.stdout.write(`\nsizes: ${size.viewers} viewers (${size.inFlight} in flight each), ${size.rooms} rooms, ${size.receivers} fanout receivers at ${
    size.fanoutRate} gifts/s, ${size.generators} load generators, ${size.durationMs / 1000} s a scenario (HTTP ${size.httpSeconds} s, ${
    size.httpConnections} connections)\n`);
  process.stdout.write(`\ntargets (set for a 2-core machine at the default sizes, durable; see README "Benchmarks"):\n${output.targets.map((t) => `  ${targetLine(t)}`).join('\n')}\n`);
  if (output.comparison !== undefined) process.stdout.write(`\n${comparisonText(output.comparison)}`);
  const file = options.json ?? path.join(projectRoot, 'bench-results', `${output.startedAt.replace(/[:.]/g, '-')}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(output, null, 2)}\n`);
  process.stdout.write(`results written to ${file}\n`);
  // Any round that lost or invented a coin fails the run, whichever round is the median.
  const wrong = Object.entries(runs).filter(([, all]) => all.some((r) => r.correctness !== undefined && !r.correctness.ok));
  if (wrong.length > 0) {
    process.stderr.write(`\nCORRECTNESS CHECK FAILED in ${wrong.map(([n]) => n).join(', ')}: a coin was lost or invented, or a receiver missed a gift\n`);
    process.exitCode = 1;
  } else if (output.comparison?.scenarios.some((s) => s.regressed) === true) {
    // Its own code, so a CI job can tell a slower build from a wrong one.
    process.exitCode = 4;
  }
}

await main();
