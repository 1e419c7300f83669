import { io as connectClient, type Socket } from 'socket.io-client';
import type { Redis } from 'ioredis';
import type { Config } from '../../server/config.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { TokenService, type Role } from '../../server/auth/tokens.js';
import { verifyDerivedSums } from '../../server/services/derived-sums.js';
import { reconcile, type ReconcileReport } from '../../server/services/reconcile.js';
import { waitForLedger } from '../../server/flusher/ledger-catch-up.js';
import { testAuthSecret, testConfig } from './env.js';

export const tokens = new TokenService(testAuthSecret);

export async function startTestServer(overrides: Partial<Config> = {}, clock?: () => number): Promise<RunningServer> {
  return startServer(testConfig(overrides), { logger: false, stopStorage: false, ...(clock === undefined ? {} : { clock }) });
}

export async function token(userId: string, role: Role): Promise<string> {
  return tokens.mint({ userId, role });
}

export interface AckReply {
  ok: boolean;
  error?: { code: string; message: string };
  [field: string]: unknown;
}

export async function connect(url: string, bearer: string | undefined, auth: Record<string, unknown> = {}): Promise<Socket> {
  const socket = connectClient(url, {
    transports: ['websocket'], auth: { ...(bearer === undefined ? {} : { token: bearer }), ...auth }, reconnection: false, forceNew: true,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error) => { socket.close(); reject(error); });
  });
  return socket;
}

export async function connectAs(server: RunningServer, userId: string, role: Role = 'viewer', auth: Record<string, unknown> = {}): Promise<Socket> {
  return connect(server.url, await token(userId, role), auth);
}

export function request(socket: Socket, event: string, payload?: unknown, timeoutMs = 10_000): Promise<AckReply> {
  return socket.timeout(timeoutMs).emitWithAck(event, payload) as Promise<AckReply>;
}

export async function http<T = Record<string, unknown>>(server: RunningServer, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string,
  options: { bearer?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: T }> {
  const response = await server.app.inject({
    method, url,
    headers: { ...(options.bearer === undefined ? {} : { authorization: `Bearer ${options.bearer}` }), ...options.headers },
    ...(options.body === undefined ? {} : { payload: options.body as Record<string, unknown> }),
  });
  const json = String(response.headers['content-type'] ?? 'application/json').includes('json');
  return { status: response.statusCode, body: (response.body === '' ? {} : json ? JSON.parse(response.body) : response.body) as T };
}

export async function grant(server: RunningServer, userId: string, coins: number): Promise<void> {
  const reply = await http(server, 'POST', '/v1/admin/grants', {
    bearer: await token('admin-test', 'admin'), body: { userId, coins, reason: 'test funds' },
  });
  if (reply.status !== 201) throw new Error(`grant failed: ${JSON.stringify(reply.body)}`);
}

export async function openRoom(server: RunningServer, streamerId: string): Promise<string> {
  const reply = await http<{ id: string }>(server, 'POST', '/v1/rooms', { bearer: await token(streamerId, 'streamer'), body: {} });
  if (reply.status !== 201) throw new Error(`open room failed: ${JSON.stringify(reply.body)}`);
  return reply.body.id;
}

/** Waits until the ledger holds every journal entry written so far (whichever flusher lane has it). */
export async function ledgerCaughtUp(server: RunningServer): Promise<void> {
  await waitForLedger(server.ctx.redis, server.ctx.wallets.keys);
}

/**
 * Writes everything in the journal to the ledger, then reconciles. Throws if the sums kept
 * beside the ledger (the checkpoint, the payees' days and rooms) disagree with it: every
 * test that reconciles checks them too.
 */
export async function flushAndReconcile(server: RunningServer): Promise<ReconcileReport> {
  await server.ctx.flusher.drain();
  const report = await reconcile(server.ctx.redis, server.ctx.sql, server.ctx.wallets.keys);
  const derived = await verifyDerivedSums(server.ctx.sql);
  if (!derived.ok) throw new Error(`sums kept beside the ledger disagree with it: ${JSON.stringify(derived)}`);
  return report;
}

export function nextEvent<T>(socket: Socket, event: string, timeoutMs = 5_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    socket.once(event, (payload: T) => { clearTimeout(timer); resolve(payload); });
  });
}

/**
 * Runs `during` with Redis full: maxmemory below what it holds, so with noeviction every
 * command that may grow its data is refused. The limit is put back however it ends.
 */
export async function whileRedisIsFull<T>(redis: Redis, during: () => Promise<T>): Promise<T> {
  const [, maxmemory] = await redis.config('GET', 'maxmemory') as [string, string];
  await redis.config('SET', 'maxmemory', '1');
  try {
    return await during();
  } finally {
    await redis.config('SET', 'maxmemory', maxmemory);
  }
}

export function requestId(): string {
  return `req_${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
}
