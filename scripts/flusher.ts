import { hostname } from 'node:os';
import { JournalFlusher } from '../server/flusher/flusher.js';
import { commandLine } from './command-line.js';
import { openStorage } from './storage.js';

// npm run flusher: a standalone journal flusher beside (or instead of) the servers' own.
// FLUSHER_CRASH_AFTER_COMMIT=1 kills it with SIGKILL between COMMIT and XACK (fault tests).
commandLine('npm run flusher  (flushes the journal into the ledger until Ctrl-C; FLUSHER_NAME names its consumer)', {});
const storage = await openStorage('flusher');
const crashAfterCommit = process.env.FLUSHER_CRASH_AFTER_COMMIT === '1';
const flusher = new JournalFlusher(storage.redis, storage.sql, storage.keys, {
  consumerName: process.env.FLUSHER_NAME ?? `standalone-${hostname()}`,
  lanes: storage.config.flusherLanes,
  onError: (error) => process.stderr.write(`flusher: ${error instanceof Error ? error.message : String(error)}\n`),
  ...(crashAfterCommit ? { afterCommit: async () => { process.kill(process.pid, 'SIGKILL'); } } : {}),
});
flusher.start();
process.stderr.write('flusher running; Ctrl-C to stop\n');
const stop = async () => {
  await flusher.stop();
  await storage.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
