import { defaultContract, payeesOf, validateContract, type SplitContract, type TieredPayee } from '../../domain/split-contracts.js';
import { DomainError } from '../../domain/errors.js';
import type { Sql } from '../db/sql.js';

interface ContractRow {
  streamer_id: string;
  creator_tiers: { fromMonthCoins: number; bps: number }[];
  agency_id: string | null;
  agency_bps: number | null;
}

const cacheTtlMs = 2_000;

/**
 * Per-streamer split contracts: PostgreSQL is the record, and every node keeps all of
 * them in memory, checked every 2 s, so the gift path never waits on a query. A change
 * takes effect on this node at once and on the others within the check. The check reads
 * one counter (split_contracts_version, bumped by every write); the table is read again
 * only when it moved, so a platform with many contracts does not reread them all, on
 * every node, every 2 s.
 */
export class SplitRules {
  private contracts = new Map<string, SplitContract>();
  private loadedAtMs = 0;
  /** The counter's value when the table was last read; null before the first read. */
  private version: string | null = null;
  private loading: Promise<void> | null = null;
  private tableReads = 0;

  constructor(private readonly sql: Sql) {}

  /** Loads every contract; the server calls it at start so the first gift finds them in memory. */
  async preload(): Promise<void> {
    await this.refresh();
  }

  async payeesFor(streamerId: string): Promise<TieredPayee[]> {
    if (this.loadedAtMs === 0) await this.refresh().catch(() => { throw new DomainError('UNAVAILABLE', 'split contracts could not be read'); });
    // A stale copy still serves while the refresh runs: a gift never waits on it.
    else if (Date.now() - this.loadedAtMs > cacheTtlMs) this.refresh().catch(() => { /* retried on the next gift */ });
    return payeesOf(streamerId, this.contracts.get(streamerId) ?? defaultContract);
  }

  async contractOf(streamerId: string): Promise<{ contract: SplitContract; isDefault: boolean }> {
    await this.refresh();
    const contract = this.contracts.get(streamerId);
    return { contract: contract ?? defaultContract, isDefault: contract === undefined };
  }

  async setContract(streamerId: string, contract: SplitContract): Promise<void> {
    validateContract(contract);
    await this.sql`
      insert into split_contracts (streamer_id, creator_tiers, agency_id, agency_bps)
      values (${streamerId}, ${JSON.stringify(contract.creatorTiers)}::text::jsonb, ${contract.agency?.agencyId ?? null}, ${contract.agency?.bps ?? null})
      on conflict (streamer_id) do update set creator_tiers = excluded.creator_tiers, agency_id = excluded.agency_id,
        agency_bps = excluded.agency_bps, updated_at = now()`;
    await this.afterReloadInFlight();
    this.contracts.set(streamerId, contract);
  }

  async removeContract(streamerId: string): Promise<void> {
    await this.sql`delete from split_contracts where streamer_id = ${streamerId}`;
    await this.afterReloadInFlight();
    this.contracts.delete(streamerId);
  }

  /**
   * A reload that read the table before a change committed would put its older copy in
   * place after the change was applied here: a change waits for it, then applies. A reload
   * starting later reads the change itself.
   */
  private async afterReloadInFlight(): Promise<void> {
    await this.loading?.catch(() => { /* a failed reload replaced nothing */ });
  }

  private refresh(): Promise<void> {
    this.loading ??= this.load().finally(() => { this.loading = null; });
    return this.loading;
  }

  /** How many times the whole table was read (tests: a check that finds nothing new reads none). */
  get fullReads(): number {
    return this.tableReads;
  }

  private async load(): Promise<void> {
    // The counter first, then the table: a write between the two is in the rows and moves
    // the counter past what is kept, so at worst the next check reads the table once more.
    const [counter] = await this.sql<{ version: string }[]>`select version::text from split_contracts_version`;
    const version = counter?.version ?? null;
    if (version !== null && version === this.version) {
      this.loadedAtMs = Date.now();
      return;
    }
    this.tableReads += 1;
    const rows = await this.sql<ContractRow[]>`select streamer_id, creator_tiers, agency_id, agency_bps from split_contracts`;
    const contracts = new Map<string, SplitContract>();
    for (const row of rows) {
      contracts.set(row.streamer_id, {
        creatorTiers: row.creator_tiers,
        agency: row.agency_id === null || row.agency_bps === null ? null : { agencyId: row.agency_id, bps: row.agency_bps },
      });
    }
    this.contracts = contracts;
    this.version = version;
    this.loadedAtMs = Date.now();
  }
}
