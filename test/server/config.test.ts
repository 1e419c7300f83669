import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../server/config.js';

const config = suite('server settings');

const withEnv = (extra: Record<string, string>) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'config-'));
  try {
    return loadConfig({ DATA_DIR: dataDir, AUTH_SECRET: 'a-secret-of-enough-length', ...extra });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
};

config('the word settings default when unset or empty, and take each value they name', () => {
  const defaults = withEnv({});
  assert.equal([defaults.durability, defaults.flusherEnabled, defaults.flusherThread, defaults.gatewayRelay, defaults.giftBackend],
    ['durable', true, true, true, 'redis']);
  assert.equal(withEnv({ FLUSHER: '', GATEWAY_RELAY: '' }).gatewayRelay, true);
  const inline = withEnv({ FLUSHER: 'inline' });
  assert.equal([inline.flusherEnabled, inline.flusherThread], [true, false]);
  assert.is(withEnv({ FLUSHER: 'off' }).flusherEnabled, false);
  assert.is(withEnv({ GATEWAY_RELAY: 'off' }).gatewayRelay, false);
  assert.is(withEnv({ GIFT_BACKEND: 'postgres-baseline' }).giftBackend, 'postgres-baseline');
  assert.is(withEnv({ DURABILITY: 'fast' }).durability, 'fast');
});

config('a mistyped word stops the server with the setting and what it takes, not the default', () => {
  for (const [name, value, message] of [
    ['FLUSHER', 'of', 'FLUSHER must be thread or inline or off, got of'],
    ['GATEWAY_RELAY', 'false', 'GATEWAY_RELAY must be on or off, got false'],
    ['GIFT_BACKEND', 'postgres', 'GIFT_BACKEND must be redis or postgres-baseline, got postgres'],
    ['DURABILITY', 'always', 'DURABILITY must be durable or fast, got always'],
  ] as const) {
    assert.throws(() => withEnv({ [name]: value }), (error: unknown) => error instanceof Error && error.message === message, name);
  }
  assert.throws(() => withEnv({ GIFT_RATE_PER_SEC: '0' }), /GIFT_RATE_PER_SEC must be an integer from 1/);
});

config('the storage and HTTP timeouts: 5 s and 30 s unless set, and refused outside their bounds', () => {
  assert.equal([withEnv({}).storageTimeoutMs, withEnv({}).httpTimeoutMs], [5_000, 30_000]);
  assert.equal([withEnv({ STORAGE_TIMEOUT_MS: '250' }).storageTimeoutMs, withEnv({ HTTP_TIMEOUT_MS: '120000' }).httpTimeoutMs], [250, 120_000]);
  for (const [name, value] of [['STORAGE_TIMEOUT_MS', '0'], ['STORAGE_TIMEOUT_MS', '60001'], ['STORAGE_TIMEOUT_MS', '1.5'], ['STORAGE_TIMEOUT_MS', '5s'],
    ['HTTP_TIMEOUT_MS', '99'], ['HTTP_TIMEOUT_MS', '-1'], ['HTTP_TIMEOUT_MS', '3600001']] as const) {
    assert.throws(() => withEnv({ [name]: value }), new RegExp(`^${name} must be an integer from \\d+ to \\d+, got `), `${name}=${value}`);
  }
});

config('idle rooms close after a day unless set; 0 never closes them; anything else is refused', () => {
  assert.equal([withEnv({}).roomIdleCloseMinutes, withEnv({ ROOM_IDLE_CLOSE_MINUTES: '90' }).roomIdleCloseMinutes, withEnv({ ROOM_IDLE_CLOSE_MINUTES: '0' }).roomIdleCloseMinutes], [1_440, 90, 0]);
  for (const value of ['-1', '1h', '525601', '2.5']) {
    assert.throws(() => withEnv({ ROOM_IDLE_CLOSE_MINUTES: value }), /^ROOM_IDLE_CLOSE_MINUTES must be an integer from 0 to 525600, got /, value);
  }
});

config.run();
