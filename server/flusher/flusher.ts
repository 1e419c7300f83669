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
  /** Concurrent flush loops, each its own consumer, so PostgreSQL round trips overlap. */
  lanes?: number;
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
  private loops: Promise<void>[] = [];
  private readonly wakers = new Set<() => void>();
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
    // Looked for before it is made: Redis refuses XGROUP CREATE, even of a group that
    // exists, while it is out of memory, and a full Redis needs its journal drained most.
    if (await this.groupExists()) return;
    try {
      await this.redis.xgroup('CREATE', this.keys.journal, flusherGroup, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error instanceof Error && error.message.includes('BUSYGROUP'))) throw error;
    }
  }

  private async groupExists(): Promise<boolean> {
    try {
      const groups = await this.redis.xinfo('GROUPS', this.keys.journal) as unknown[][];
      return groups.some((fields) => {
        const name = fields.indexOf('name');
        return name >= 0 && fields[name + 1] === flusherGroup;
      });
    } catch (error) {
      if (error instanceof Error && error.message.includes('no such key')) return false;
      throw error;
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const lanes = Math.max(1, this.options.lanes ?? 1);
    // Stable consumer names: after a restart each lane first finishes what it had pending.
    this.loops = Array.from({ length: lanes }, (_, lane) => this.run(lane === 0 ? this.options.consumerName : `${this.options.consumerName}-${lane}`));
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const wake of this.wakers) wake();
    await Promise.all(this.loops);
    this.loops = [];
  }

  /** Flushes until the stream holds nothing this flusher can take; for tests and shutdown. */
  async drain(): Promise<void> {
    await this.ensureGroup();
    while (await this.flushOnce() > 0) { /* keep going */ }
  }

  /** One step: own pending first (a restart), then entries of dead consumers, then new ones. */
  async flushOnce(consumer: string = this.options.consumerName): Promise<number> {
    const records = await this.nextBatch(consumer);
    if (records.length === 0) return 0;
    const inserted = await writeLedgerBatch(this.sql, records);
    await this.options.afterCommit?.(records);
    const ids = records.map((r) => r.streamId);
    await this.redis.ackJournalV1(this.keys.journal, flusherGroup, ...ids);
    this.stats.flushedEntries += inserted;
    this.stats.duplicateEntries += records.length - inserted;
    this.stats.batches += 1;
    this.stats.lastFlushAtMs = Date.now();
    return records.length;
  }

  private async nextBatch(consumer: string): Promise<StreamRecord[]> {
    const own = await this.readGroup(consumer, '0');
    if (own.length > 0) return own;
    const claimed = await this.redis.xautoclaim(this.keys.journal, flusherGroup, consumer,
      this.claimIdleMs, '0-0', 'COUNT', this.batchSizeMax) as [string, RawRecords, string[]];
    const claimedRecords = claimed[1].filter((record) => record !== null && Array.isArray(record[1]));
    if (claimedRecords.length > 0) return parseStreamRecords(claimedRecords);
    return this.readGroup(consumer, '>');
  }

  private async readGroup(consumer: string, from: '0' | '>'): Promise<StreamRecord[]> {
    const reply = await this.redis.xreadgroup('GROUP', flusherGroup, consumer,
      'COUNT', this.batchSizeMax, 'STREAMS', this.keys.journal, from) as [string, RawRecords][] | null;
    const records = reply?.[0]?.[1] ?? [];
    return parseStreamRecords(records);
  }

  private async run(consumer: string): Promise<void> {
    let groupReady = false;
    while (this.running) {
      let flushed = 0;
      let failed = false;
      try {
        if (!groupReady) { await this.ensureGroup(); groupReady = true; }
        flushed = await this.flushOnce(consumer);
      } catch (error) {
        failed = true;
        this.stats.failures += 1;
        this.stats.lastError = error instanceof Error ? error.message : String(error);
        this.options.onError?.(error);
      }
      // A full batch means more is waiting: go again at once; otherwise wait a tick.
      if (flushed < this.batchSizeMax && this.running) {
        await new Promise<void>((resolve) => {
          const wake = () => { clearTimeout(timer); this.wakers.delete(wake); resolve(); };
          const timer = setTimeout(wake, failed ? this.intervalMs * 5 : this.intervalMs);
          this.wakers.add(wake);
        });
      }
    }
  }
}
