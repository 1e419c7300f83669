import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { platformRevenueAccount } from '../domain/accounts.js';
import { connectRedis } from '../server/redis/commands.js';
import { WalletStore } from '../server/redis/wallet-store.js';
import { defaultContract, payeesOf } from '../domain/split-contracts.js';
import { Samples, Timeline, type PerSecond } from './stats.js';

// One load-generator process. The runner sends a job; the worker connects, answers
// 'ready', starts on 'go', and answers 'result'. Every loop ends by time and by count.

export interface BenchUser { userId: string; token: string }

export type Job =
  | { role: 'gifters'; url: string; users: BenchUser[]; rooms: string[]; inFlight: number; durationMs: number;
      event: 'gift:send' | 'bench:ack'; receive: boolean; sendsMax: number;
      /** Paced instead of as fast as acks return: this many sends a second, round robin over the sockets. */
      ratePerSec?: number }
  | { role: 'receivers'; url: string; users: BenchUser[]; roomId: string; durationMs: number }
  | { role: 'fixed-rate'; url: string; user: BenchUser; roomId: string; ratePerSec: number; durationMs: number }
  | { role: 'evalsha'; redisUrl: string; namespace: string; users: BenchUser[]; streamerId: string; inFlight: number; durationMs: number };

export interface WorkerResult {
  acked: number;
  /** Acks that came by the end of the measured window (see countAck). */
  ackedInWindow: number;
  errors: Record<string, number>;
  ackMs: number[];
  ackMaxMs: number;
  deliveryMs: number[];
  deliveryMaxMs: number;
  deliveries: number;
  elapsedMs: number;
  /** This load generator's own CPU over the run: near 100 means the numbers are its limit, not the server's. */
  cpuPercent: number;
  /** Acks (ok ones) and deliveries per whole second of the window, with each second's slowest. */
  ackedPerSecond: PerSecond;
  deliveredPerSecond: PerSecond;
}

type Reply = { ok: boolean; error?: { code: string } };

const acks = new Samples();
const deliveries = new Samples();
const errors: Record<string, number> = {};
let acked = 0;
let ackedInWindow = 0;
/** Every gift delivered, warm-up included: fanout's completeness check counts them all. */
let delivered = 0;
/**
 * The measured window: it opens after the warm-up, which runs the same load until cold
 * processes (these are new for each scenario) are up to speed. A latency
 * counts when its gift was sent (or, delivered, charged) within the window; the rate
 * counts the acks that came within it.
 */
let windowStartsAt = Number.POSITIVE_INFINITY;
let windowEndsAt = Number.POSITIVE_INFINITY;
/** Made at 'go', from the window's opening: nothing of the warm-up counts in them. */
let ackTimeline = new Timeline(0, 0);
let deliveryTimeline = new Timeline(0, 0);

/**
 * Every ack counts for the money checks; only those that came within the window count
 * for the rate. Gifts still in flight when sending stops are acked later: counted in the
 * rate, a design whose acks take seconds would be credited with up to its whole in-flight
 * count (1,000 gifts) on top of what it did in the window.
 */
function countAck(latencyMs: number): void {
  acked += 1;
  const now = Date.now();
  if (now >= windowStartsAt && now <= windowEndsAt) ackedInWindow += 1;
  ackTimeline.add(now, latencyMs);
}

/** Any reply's latency, ok or refused, for a request sent within the window; returns it. */
function sampleLatency(sentAtMs: number, latencyMs: number): number {
  if (sentAtMs >= windowStartsAt) acks.add(latencyMs);
  return latencyMs;
}

function countDelivery(now: number, chargedAtMs: number): void {
  delivered += 1;
  const latencyMs = now - chargedAtMs;
  deliveryTimeline.add(now, latencyMs);
  if (chargedAtMs >= windowStartsAt) deliveries.add(latencyMs);
}

function countError(code: string): void {
  errors[code] = (errors[code] ?? 0) + 1;
}

async function connectAll(url: string, users: BenchUser[]): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < users.length; i += 50) {
    sockets.push(...await Promise.all(users.slice(i, i + 50).map((user) => new Promise<Socket>((resolve, reject) => {
      // Clients take their own gifts' balances from the acks, as a real app would.
      const socket = io(url, { transports: ['websocket'], auth: { token: user.token, walletEcho: false }, reconnection: false, forceNew: true });
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    }))));
  }
  return sockets;
}

/** How load generators take a room's gifts: `gifts` rows or `giftColumns` (room:join `batch`). */
export type Delivery = 'rows' | 'columns';
let delivery: Delivery = 'columns';
const joinBatch = () => (delivery === 'columns' ? 'columns' : true);

let lastFrameAtMs = 0;

/**
 * Waits until no gift frame has come for quietMs (at most maxMs): frames still on their
 * way when the sending stops are counted however far behind a slow machine runs, and a
 * frame that never comes still shows as a missing delivery.
 */
async function drainDeliveries(quietMs: number, maxMs = 30_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline && Date.now() - lastFrameAtMs < quietMs) await new Promise((r) => setTimeout(r, 50));
}

function listenForGifts(socket: Socket): void {
  if (delivery === 'rows') {
    socket.on('gifts', (batch: { gifts: unknown[][] }) => {
      const now = Date.now();
      lastFrameAtMs = now;
      for (const row of batch.gifts) countDelivery(now, Number(row[6]));
    });
    return;
  }
  socket.on('giftColumns', (frame: { at: number; atOffset: number[] }) => {
    const now = Date.now();
    lastFrameAtMs = now;
    for (const offset of frame.atOffset) countDelivery(now, frame.at + offset);
  });
}

async function sendLoop(socket: Socket, roomId: string, event: string, deadline: number, budget: { left: number }): Promise<void> {
  while (Date.now() < deadline && budget.left > 0 && socket.connected) {
    budget.left -= 1;
    const [sentAtMs, started] = [Date.now(), performance.now()];
    const payload = event === 'bench:ack' ? {} : { requestId: randomUUID(), roomId, giftId: 'rose', count: 1 };
    try {
      const reply = await socket.timeout(10_000).emitWithAck(event, payload) as Reply;
      const latencyMs = sampleLatency(sentAtMs, performance.now() - started);
      if (reply.ok) countAck(latencyMs);
      else countError(reply.error?.code ?? 'unknown');
    } catch {
      countError('TIMEOUT');
    }
  }
}

/**
 * Calls send(n) for n = 0, 1, ... at ratePerSec until the deadline. Sends are owed by the
 * clock, not by the timer's count: a late timer under load sends the backlog instead of
 * quietly lowering the offered rate.
 */
async function paced(ratePerSec: number, deadline: number, send: (n: number) => void): Promise<void> {
  const started = Date.now();
  let sent = 0;
  while (Date.now() < deadline) {
    const owed = Math.floor(((Date.now() - started) / 1000) * ratePerSec);
    for (; sent < owed; sent += 1) send(sent);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Connects and joins; the run it returns sends until the window's end (the same instant that countAck measures by). */
async function prepare(job: Job): Promise<(windowEnd: number) => Promise<void>> {
  if (job.role === 'evalsha') {
    const redis = connectRedis(job.redisUrl, { name: 'bench-evalsha', offlineQueue: true });
    const store = new WalletStore(redis, job.namespace);
    return async (deadline) => {
      await Promise.all(Array.from({ length: job.inFlight }, async (_, lane) => {
        const user = job.users[lane % job.users.length];
        while (Date.now() < deadline && user !== undefined) {
          const [sentAtMs, started] = [Date.now(), performance.now()];
          try {
            await store.chargeGift({ entryId: randomUUID(), senderId: user.userId, streamerId: job.streamerId, roomId: 'bench-evalsha',
              giftId: 'rose', count: 1, requestId: randomUUID(), priceCoins: 1, fingerprint: 'bench-evalsha|rose|1',
              platformAccount: platformRevenueAccount, payees: payeesOf(job.streamerId, defaultContract),
              nowMs: Date.now(), rate: { perSec: 1_000_000, burst: 1_000_000 } });
            countAck(sampleLatency(sentAtMs, performance.now() - started));
          } catch (error) {
            sampleLatency(sentAtMs, performance.now() - started);
            countError(error instanceof Error && 'code' in error ? String(error.code) : 'unknown');
          }
        }
      }));
      redis.disconnect();
    };
  }
  if (job.role === 'fixed-rate') {
    const [socket] = await connectAll(job.url, [job.user]);
    if (socket === undefined) throw new Error('no socket');
    await socket.emitWithAck('room:join', { roomId: job.roomId, batch: joinBatch() });
    return async (deadline) => {
      const pending: Promise<void>[] = [];
      await paced(job.ratePerSec, deadline, () => pending.push(sendLoop(socket, job.roomId, 'gift:send', Infinity, { left: 1 })));
      await Promise.all(pending);
      socket.close();
    };
  }
  const sockets = await connectAll(job.url, job.users);
  if (job.role === 'receivers') {
    await Promise.all(sockets.map((s) => s.emitWithAck('room:join', { roomId: job.roomId, batch: joinBatch() })));
    sockets.forEach(listenForGifts);
    return async (deadline) => {
      await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())));
      await drainDeliveries(1_000);
      sockets.forEach((s) => s.close());
    };
  }
  if (job.event === 'gift:send') {
    await Promise.all(sockets.map((s, i) => s.emitWithAck('room:join', { roomId: job.rooms[i % job.rooms.length], batch: joinBatch() })));
  }
  if (job.receive) sockets.forEach(listenForGifts);
  const ratePerSec = job.ratePerSec;
  if (ratePerSec !== undefined) {
    return async (deadline) => {
      const pending: Promise<void>[] = [];
      await paced(ratePerSec, deadline, (n) => {
        const socket = sockets[n % sockets.length] as Socket;
        pending.push(sendLoop(socket, job.rooms[(n % sockets.length) % job.rooms.length] ?? '', job.event, Infinity, { left: 1 }));
      });
      await Promise.all(pending);
      if (job.receive) await drainDeliveries(300);
      sockets.forEach((s) => s.close());
    };
  }
  return async (deadline) => {
    const budget = { left: job.sendsMax };
    await Promise.all(sockets.flatMap((socket, i) => Array.from({ length: job.inFlight },
      () => sendLoop(socket, job.rooms[i % job.rooms.length] ?? '', job.event, deadline, budget))));
    if (job.receive) await drainDeliveries(300);
    sockets.forEach((s) => s.close());
  };
}

process.on('message', (message: { type: 'job'; job: Job; delivery: Delivery; warmupMs: number } | { type: 'go' }) => {
  void (async () => {
    if (message.type === 'job') {
      delivery = message.delivery;
      const run = await prepare(message.job);
      process.once('message', async () => {
        const started = Date.now();
        windowStartsAt = started + message.warmupMs;
        windowEndsAt = windowStartsAt + message.job.durationMs;
        ackTimeline = new Timeline(windowStartsAt, message.job.durationMs);
        deliveryTimeline = new Timeline(windowStartsAt, message.job.durationMs);
        // Its own CPU over the window, as the runner reads the server's: the warm-up and the drain after are left out.
        const cpuAt = (atMs: number) => new Promise<{ usage: NodeJS.CpuUsage; atMs: number }>((resolve) => {
          setTimeout(() => resolve({ usage: process.cpuUsage(), atMs: Date.now() }), Math.max(0, atMs - Date.now()));
        });
        const [cpuFrom, cpuTo] = [cpuAt(windowStartsAt), cpuAt(windowEndsAt)];
        await run(windowEndsAt);
        const [from, to] = [await cpuFrom, await cpuTo];
        const cpuMs = (to.usage.user + to.usage.system - from.usage.user - from.usage.system) / 1000;
        const result: WorkerResult = {
          acked, ackedInWindow, errors, ackMs: acks.toArray(), ackMaxMs: acks.max, deliveryMs: deliveries.toArray(),
          deliveryMaxMs: deliveries.max, deliveries: delivered, elapsedMs: Date.now() - started,
          cpuPercent: Math.round((cpuMs / Math.max(1, to.atMs - from.atMs)) * 100),
          ackedPerSecond: ackTimeline.toJSON(), deliveredPerSecond: deliveryTimeline.toJSON(),
        };
        process.send?.({ type: 'result', result }, () => process.exit(0));
      });
      process.send?.({ type: 'ready' });
    }
  })().catch((error: unknown) => {
    process.send?.({ type: 'failed', message: error instanceof Error ? error.message : String(error) }, () => process.exit(1));
  });
});
