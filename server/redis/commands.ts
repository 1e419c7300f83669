import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis, type Result } from 'ioredis';
import { luaScriptsDir } from '../paths.js';

type ScriptArg = string | number;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    giftV3(...keysAndArgs: ScriptArg[]): Result<unknown[], Context>;
    postEntryV2(...keysAndArgs: ScriptArg[]): Result<unknown[], Context>;
  }
}

// Versioned names: a changed script gets a new name, so two server versions side by side
// never run each other's script under one name.
const scripts = [
  { command: 'giftV3', file: 'gift-8.lua', numberOfKeys: 10 },
  { command: 'postEntryV2', file: 'post-entry-3.lua', numberOfKeys: 3 },
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
  defineWalletCommands(redis);
  return redis;
}
