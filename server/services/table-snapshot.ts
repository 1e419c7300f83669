import { DomainError } from '../../domain/errors.js';

const maxAgeMs = 2_000;

/**
 * A small table every node keeps whole in memory, so a gift never waits on a query for it.
 * PostgreSQL is the record. Every 2 s (when asked after that long) a node reads one counter,
 * bumped by a trigger on every statement that writes the table, and reads the table again
 * only when it moved: a platform with many rows does not reread them all, on every node,
 * every 2 s. A change made through this node applies here at once (`apply`); the others
 * see it within the next check.
 */
export class TableSnapshot<T> {
  private value: T;
  private loadedAtMs = 0;
  /** The counter's value when the table was last read; null before the first read. */
  private version: string | null = null;
  private loading: Promise<void> | null = null;
  private tableReads = 0;

  /**
   * @param what what the table holds, for the error a first read that fails gives
   * @param readVersion the counter's value (text, as bigints read)
   * @param readTable the whole table, as the snapshot keeps it
   */
  constructor(private readonly what: string, private readonly readVersion: () => Promise<string | null>,
    private readonly readTable: () => Promise<T>, empty: T) {
    this.value = empty;
  }

  /** The copy kept. Never waits: one older than 2 s is checked in the background and serves meanwhile. */
  async current(): Promise<T> {
    if (this.loadedAtMs === 0) await this.refresh().catch(() => { throw new DomainError('UNAVAILABLE', `${this.what} could not be read`); });
    return this.currentLoaded();
  }

  /** The copy kept, without a first read: for paths that run only after `fresh` has been called once. */
  currentLoaded(): T {
    if (this.loadedAtMs !== 0 && Date.now() - this.loadedAtMs > maxAgeMs) this.refresh().catch(() => { /* retried on the next call */ });
    return this.value;
  }

  /** The copy after a check of the counter (and a read of the table if it moved). */
  async fresh(): Promise<T> {
    await this.refresh();
    return this.value;
  }

  /**
   * Applies a change this node just committed to the table. A reload that read the table
   * before the change committed would put its older copy in place after the change: this
   * waits for it first. A reload starting later reads the change itself.
   */
  async apply(change: (kept: T) => T): Promise<void> {
    await this.loading?.catch(() => { /* a failed reload replaced nothing */ });
    this.value = change(this.value);
  }

  /** How many times the whole table was read (tests: a check that finds nothing new reads none). */
  get fullReads(): number {
    return this.tableReads;
  }

  private refresh(): Promise<void> {
    this.loading ??= this.load().catch((error: unknown) => {
      // The copy kept serves on and is asked for again after another interval, not on the
      // next call: while PostgreSQL is down, a node costs it one failed query per interval
      // instead of one per gift.
      if (this.loadedAtMs !== 0) this.loadedAtMs = Date.now();
      throw error;
    }).finally(() => { this.loading = null; });
    return this.loading;
  }

  private async load(): Promise<void> {
    // The counter first, then the table: a write between the two is in the rows and moves
    // the counter past what is kept, so at worst the next check reads the table once more.
    const version = await this.readVersion();
    if (version !== null && version === this.version) {
      this.loadedAtMs = Date.now();
      return;
    }
    this.tableReads += 1;
    this.value = await this.readTable();
    this.version = version;
    this.loadedAtMs = Date.now();
  }
}
