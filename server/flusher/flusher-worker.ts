import { parentPort, workerData } from 'node:worker_threads';
import { connectPostgres } from '../db/sql.js';
import { connectRedis } from '../redis/commands.js';
import { walletKeys } from '../redis/keys.js';
import { JournalFlusher, type FlusherStats } from './flusher.js';

// The body of the flusher thread (see flusher-thread.ts): its own connections and event
// loop, so parsing and writing ledger batches never queues behind socket work.

export interface FlusherWorkerData {
  redisUrl: string;
  databaseUrl: string;
  namespace: string;
  consumerName: string;
  lanes: number;
}

export type FlusherWorkerMessage =
  | { type: 'stats'; stats: FlusherStats }
  | { type: 'error'; message: string }
  | { type: 'stopped'; stats: FlusherStats };

const port = parentPort;
if (port === null) throw new Error('flusher-worker runs only as a worker thread');
const data = workerData as FlusherWorkerData;
const redis = connectRedis(data.redisUrl, { name: 'gifting-flusher-thread', offlineQueue: true });
const sql = connectPostgres(data.databaseUrl, { max: data.lanes + 1 });
const post = (message: FlusherWorkerMessage) => port.postMessage(message);
const flusher = new JournalFlusher(redis, sql, walletKeys(data.namespace), {
  consumerName: data.consumerName,
  lanes: data.lanes,
  onError: (error) => post({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
});
flusher.start();
const statsTimer = setInterval(() => post({ type: 'stats', stats: { ...flusher.stats } }), 250);

port.on('message', (message: { type: 'stop' }) => {
  if (message.type !== 'stop') return;
  clearInterval(statsTimer);
  void (async () => {
    await flusher.stop();
    redis.disconnect();
    await sql.end({ timeout: 5 });
    post({ type: 'stopped', stats: { ...flusher.stats } });
    port.close();
  })();
});
