import { Worker } from 'node:worker_threads';
import type { FlusherStats } from './flusher.js';
import type { FlusherWorkerData, FlusherWorkerMessage } from './flusher-worker.js';

const restartDelayMs = 1_000;

/**
 * Runs the journal flusher on its own thread. In the gateway's event loop every round
 * trip of a flush waited behind a turn full of socket writes, so under load the ledger
 * fell seconds behind, and a 1,000-entry batch held acks up for tens of milliseconds.
 * A thread that dies is started again; the stream's pending list makes that safe.
 */
export class FlusherThread {
  private worker: Worker | null = null;
  private running = false;
  private restartTimer: NodeJS.Timeout | null = null;
  /** Totals of threads that have ended, so restarts do not reset the counters. */
  private finished: FlusherStats = emptyStats();
  private current: FlusherStats = emptyStats();

  constructor(private readonly data: FlusherWorkerData, private readonly onError: (message: string) => void = () => {}) {}

  get stats(): FlusherStats {
    const [a, b] = [this.finished, this.current];
    return {
      flushedEntries: a.flushedEntries + b.flushedEntries,
      duplicateEntries: a.duplicateEntries + b.duplicateEntries,
      batches: a.batches + b.batches,
      failures: a.failures + b.failures,
      lastError: b.lastError ?? a.lastError,
      lastFlushAtMs: b.lastFlushAtMs ?? a.lastFlushAtMs,
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.spawn();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (worker === null) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'stop' });
    // A flush stuck on a dead database must not hold shutdown forever.
    const timer = setTimeout(() => void worker.terminate(), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Ends the thread at once, as a crash would (fault tests): it is started again, and counts it had not reported yet are lost. */
  async kill(): Promise<void> {
    await this.worker?.terminate();
  }

  private spawn(): void {
    const worker = new Worker(new URL('./flusher-worker.js', import.meta.url), { workerData: this.data });
    this.worker = worker;
    this.current = emptyStats();
    worker.on('message', (message: FlusherWorkerMessage) => {
      if (message.type === 'error') this.onError(message.message);
      else this.current = message.stats;
    });
    worker.on('error', (error) => this.onError(`flusher thread failed: ${error.message}`));
    worker.on('exit', () => {
      this.finished = this.stats;
      this.current = emptyStats();
      this.worker = null;
      if (this.running) {
        this.restartTimer = setTimeout(() => { this.restartTimer = null; if (this.running) this.spawn(); }, restartDelayMs);
        this.restartTimer.unref();
      }
    });
  }
}

function emptyStats(): FlusherStats {
  return { flushedEntries: 0, duplicateEntries: 0, batches: 0, failures: 0, lastError: null, lastFlushAtMs: null };
}
