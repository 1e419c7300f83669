import type { Redis } from 'ioredis';

/**
 * Redis rewrites its append-only file once it is past a size (for the server's own Redis
 * both 256 MB and three times what the last rewrite left). A rewrite forks and writes the
 * whole dataset while every gift's `appendfsync always` fsync waits behind those writes
 * (a run with one inside `hot-room-half`'s window: ack p99 253 ms). Each gift appends
 * ~2 KB, so the bench's own volume sets one off about once a round, inside whichever
 * scenario happens to run then. The bench compacts the file between scenarios instead,
 * and says so when a rewrite still lands inside a window.
 */

export interface AofState {
  enabled: boolean;
  sizeBytes: number;
  /** What the last rewrite left: Redis's own trigger, like the bench's, is the growth since. */
  baseBytes: number;
  /** Rewrites since Redis started. */
  rewrites: number;
  busy: boolean;
}

/** The AOF fields of `INFO persistence`. */
export function parseAofState(info: string): AofState {
  const field = (name: string) => new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1];
  return {
    enabled: field('aof_enabled') === '1',
    sizeBytes: Number(field('aof_current_size') ?? 0),
    baseBytes: Number(field('aof_base_size') ?? 0),
    rewrites: Number(field('aof_rewrites') ?? 0),
    busy: field('aof_rewrite_in_progress') === '1' || field('aof_rewrite_scheduled') === '1',
  };
}

export async function aofState(redis: Redis): Promise<AofState> {
  return parseAofState(await redis.info('persistence'));
}

/**
 * Rewrites the AOF when it has grown by `thresholdBytes` or more since the last rewrite, and
 * waits until the rewrite is done (at most `waitMaxMs`). Returns how long that took in ms,
 * or null when there was nothing to do.
 */
export async function compactAof(redis: Redis, thresholdBytes: number, waitMaxMs = 120_000): Promise<number | null> {
  const before = await aofState(redis);
  if (!before.enabled || (before.sizeBytes - before.baseBytes < thresholdBytes && !before.busy)) return null;
  const startedAt = Date.now();
  // One already under way (Redis's own) is waited for, not doubled.
  if (!before.busy) await redis.bgrewriteaof();
  while (Date.now() - startedAt < waitMaxMs) {
    const state = await aofState(redis);
    if (!state.busy && (before.busy || state.rewrites > before.rewrites)) return Date.now() - startedAt;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Redis's AOF rewrite did not finish within ${waitMaxMs} ms`);
}
