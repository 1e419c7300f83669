import type { Redis } from 'ioredis';
import { limits } from '../../domain/limits.js';
import type { Sql } from '../db/sql.js';
import { flusherGroup, type WalletKeys } from '../redis/keys.js';
import { parseStreamRecords, type StreamRecord } from './journal-records.js';
import { writeLedgerBatch } from './ledger-writer.js';

export interface FlusherOptions {
  consumerName: string;
  batchSizeMax?: number;
  intervalMs?: number;
  /** Entries pending this long on another consumer are taken over: that consumer is presumed dead. */
  claimIdleMs?: number;
  /** Fault tests stop the process here, between COMMIT and XACK. */
  afterCommit?: (records: readonly StreamRecord[]) => Promise<void>;
  onError?: (error: unknown) => void;
}

export interface FlusherStats {
  flushedEntries: number;
  duplicateEntries: number;
  batches: number;
  failures: number;
  lastError: string | null;
  lastFlushAtMs: number | null;
}

type RawRecords = [string, string[]][];

/**
 * Moves the journal stream into the PostgreSQL ledger through a consumer group:
 * read a bounded batch, write it in one transaction (idempotent on the entry id),
 * and only after COMMIT acknowledge and delete it from the stream. Entries left pending
 * by a crashed consumer are reclaimed with XAUTOCLAIM; any number of flushers may run.
 */
export class JournalFlusher {
  readonly stats: FlusherStats = { flushedEntries: 0, duplicateEntries: 0, batches: 0, failures: 0, lastError: null, lastFlushAtMs: null };
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly batchSizeMax: number;
  private readonly intervalMs: number;
  private readonly claimIdleMs: number;

  constructor(private readonly redis: Redis, private readonly sql: Sql, private readonly keys: WalletKeys,
    private readonly options: FlusherOptions) {
    this.batchSizeMax = Math.min(options.batchSizeMax ?? limits.flushBatchSizeMax, limits.flushBatchSizeMax);
    this.intervalMs = options.intervalMs ?? limits.flushIntervalMs;
    this.claimIdleMs = options.claimIdleMs ?? 15_000;
  }

  async ensureGroup(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.keys.journal, flusherGroup, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error instanceof Error && error.message.includes('BUSYGROUP'))) throw error;
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /** Flushes until the stream holds nothing this flusher can take; for tests and shutdown. */
  async drain(): Promise<void> {
    await this.ensureGroup();
    while (await this.flushOnce() > 0) { /* keep going */ }
  }

  /** One step: own pending first (a restart), then entries of dead consumers, then new ones. */
  async flushOnce(): Promise<number> {
    const records = await this.nextBatch();
    if (records.length === 0) return 0;
    const inserted = await writeLedgerBatch(this.sql, records);
    await this.options.afterCommit?.(records);
    const ids = records.map((r) => r.streamId);
    await this.redis.multi().xack(this.keys.journal, flusherGroup, ...ids).xdel(this.keys.journal, ...ids).exec();
    this.stats.flushedEntries += inserted;
    this.stats.duplicateEntries += records.length - inserted;
    this.stats.batches += 1;
    this.stats.lastFlushAtMs = Date.now();
    return records.length;
  }

  private async nextBatch(): Promise<StreamRecord[]> {
    const own = await this.readGroup('0');
    if (own.length > 0) return own;
    const claimed = await this.redis.xautoclaim(this.keys.journal, flusherGroup, this.options.consumerName,
      this.claimIdleMs, '0-0', 'COUNT', this.batchSizeMax) as [string, RawRecords, string[]];
    const claimedRecords = claimed[1].filter((record) => record !== null && Array.isArray(record[1]));
    if (claimedRecords.length > 0) return parseStreamRecords(claimedRecords);
    return this.readGroup('>');
  }

  private async readGroup(from: '0' | '>'): Promise<StreamRecord[]> {
    const reply = await this.redis.xreadgroup('GROUP', flusherGroup, this.options.consumerName,
      'COUNT', this.batchSizeMax, 'STREAMS', this.keys.journal, from) as [string, RawRecords][] | null;
    const records = reply?.[0]?.[1] ?? [];
    return parseStreamRecords(records);
  }

  private async run(): Promise<void> {
    let groupReady = false;
    while (this.running) {
      let flushed = 0;
      let failed = false;
      try {
        if (!groupReady) { await this.ensureGroup(); groupReady = true; }
        flushed = await this.flushOnce();
      } catch (error) {
        failed = true;
        this.stats.failures += 1;
        this.stats.lastError = error instanceof Error ? error.message : String(error);
        this.options.onError?.(error);
      }
      // A full batch means more is waiting: go again at once; otherwise wait a tick.
      if (flushed < this.batchSizeMax && this.running) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, failed ? this.intervalMs * 5 : this.intervalMs);
          this.wake = () => { clearTimeout(timer); resolve(); };
        });
        this.wake = null;
      }
    }
  }
}
