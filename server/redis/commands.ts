import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis, type Result } from 'ioredis';
import { luaScriptsDir } from '../paths.js';

type ScriptArg = string | number;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    giftV4(...keysAndArgs: ScriptArg[]): Result<unknown[], Context>;
    postEntryV3(...keysAndArgs: ScriptArg[]): Result<unknown[], Context>;
    ackJournalV1(...keysAndArgs: ScriptArg[]): Result<number, Context>;
    reconcileSnapshotV1(...keysAndArgs: ScriptArg[]): Result<[string[], [string, string[]][], string], Context>;
  }
}

// Versioned names: a changed script gets a new name, so two server versions side by side
// never run each other's script under one name.
const scripts = [
  { command: 'giftV4', file: 'gift-9.lua', numberOfKeys: 11 },
  { command: 'postEntryV3', file: 'post-entry-4.lua', numberOfKeys: 3 },
  { command: 'ackJournalV1', file: 'ack-journal-1.lua', numberOfKeys: 1 },
  { command: 'reconcileSnapshotV1', file: 'reconcile-snapshot-1.lua', numberOfKeys: 2 },
] as const;

export function defineWalletCommands(redis: Redis): void {
  for (const script of scripts) {
    const lua = readFileSync(path.join(luaScriptsDir, script.file), 'utf8');
    redis.defineCommand(script.command, { numberOfKeys: script.numberOfKeys, lua });
  }
}

export function connectRedis(url: string, options: { name: string; offlineQueue?: boolean }): Redis {
  const redis = new Redis(url, {
    connectionName: options.name,
    // A command for a Redis that is down fails at once: the caller answers UNAVAILABLE
    // instead of queueing money movements behind an outage.
    enableOfflineQueue: options.offlineQueue ?? false,
    maxRetriesPerRequest: 1,
    lazyConnect: false,
  });
  redis.on('error', () => { /* reported through readiness and command failures */ });
  redis.on('connect', () => writeOncePerTurn(redis.stream));
  defineWalletCommands(redis);
  return redis;
}

/**
 * ioredis writes every command to the socket at once: one system call per gift. Corked
 * until the event loop's check phase, the commands of every gift read in one poll phase
 * leave in one writev.
 */
function writeOncePerTurn(stream: Redis['stream']): void {
  let corked = false;
  const uncork = () => { corked = false; stream.uncork(); };
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((...args: unknown[]) => {
    if (!corked) { corked = true; stream.cork(); setImmediate(uncork); }
    return write(...args);
  }) as typeof stream.write;
}
