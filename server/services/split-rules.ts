import { defaultContract, payeesOf, validateContract, type SplitContract, type TieredPayee } from '../../domain/split-contracts.js';
import type { Sql } from '../db/sql.js';
import { TableSnapshot } from './table-snapshot.js';

interface ContractRow {
  streamer_id: string;
  creator_tiers: { fromMonthCoins: number; bps: number }[];
  agency_id: string | null;
  agency_bps: number | null;
}

/**
 * Per-streamer split contracts: PostgreSQL is the record, and every node keeps all of
 * them in memory (a TableSnapshot: checked every 2 s through split_contracts_version), so
 * the gift path never waits on a query. A change takes effect on this node at once and on
 * the others within the check.
 */
export class SplitRules {
  private readonly snapshot: TableSnapshot<Map<string, SplitContract>>;

  constructor(private readonly sql: Sql) {
    this.snapshot = new TableSnapshot('split contracts',
      async () => (await sql<{ version: string }[]>`select version::text from split_contracts_version`)[0]?.version ?? null,
      async () => {
        const rows = await sql<ContractRow[]>`select streamer_id, creator_tiers, agency_id, agency_bps from split_contracts`;
        return new Map(rows.map((row) => [row.streamer_id, {
          creatorTiers: row.creator_tiers,
          agency: row.agency_id === null || row.agency_bps === null ? null : { agencyId: row.agency_id, bps: row.agency_bps },
        }]));
      },
      new Map());
  }

  /** Loads every contract; the server calls it at start so the first gift finds them in memory. */
  async preload(): Promise<void> {
    await this.snapshot.fresh();
  }

  async payeesFor(streamerId: string): Promise<TieredPayee[]> {
    return payeesOf(streamerId, (await this.snapshot.current()).get(streamerId) ?? defaultContract);
  }

  async contractOf(streamerId: string): Promise<{ contract: SplitContract; isDefault: boolean }> {
    const contract = (await this.snapshot.fresh()).get(streamerId);
    return { contract: contract ?? defaultContract, isDefault: contract === undefined };
  }

  async setContract(streamerId: string, contract: SplitContract): Promise<void> {
    validateContract(contract);
    await this.sql`
      insert into split_contracts (streamer_id, creator_tiers, agency_id, agency_bps)
      values (${streamerId}, ${JSON.stringify(contract.creatorTiers)}::text::jsonb, ${contract.agency?.agencyId ?? null}, ${contract.agency?.bps ?? null})
      on conflict (streamer_id) do update set creator_tiers = excluded.creator_tiers, agency_id = excluded.agency_id,
        agency_bps = excluded.agency_bps, updated_at = now()`;
    await this.snapshot.apply((contracts) => contracts.set(streamerId, contract));
  }

  async removeContract(streamerId: string): Promise<void> {
    await this.sql`delete from split_contracts where streamer_id = ${streamerId}`;
    await this.snapshot.apply((contracts) => {
      contracts.delete(streamerId);
      return contracts;
    });
  }

  /** How many times the whole table was read (tests: a check that finds nothing new reads none). */
  get fullReads(): number {
    return this.snapshot.fullReads;
  }
}
