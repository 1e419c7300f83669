import type { Gift } from '../../domain/gifts.js';
import type { Sql } from '../db/sql.js';
import { TableSnapshot } from './table-snapshot.js';

export interface CatalogGift extends Gift {
  active: boolean;
  sortOrder: number;
}

export interface CatalogGiftRecord extends CatalogGift {
  updatedAt: string;
}

interface GiftRow { id: string; name: string; coins: string; active: boolean; sort_order: number; updated_at: Date }

const record = (row: GiftRow): CatalogGiftRecord => ({
  id: row.id, name: row.name, coins: Number(row.coins), active: row.active, sortOrder: row.sort_order, updatedAt: row.updated_at.toISOString(),
});

/** Active gifts in the order apps show them: by sort order, then price. */
function inDisplayOrder(gifts: CatalogGift[]): Map<string, CatalogGift> {
  const active = gifts.filter((gift) => gift.active)
    .sort((a, b) => a.sortOrder - b.sortOrder || a.coins - b.coins || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return new Map(active.map((gift) => [gift.id, gift]));
}

/**
 * The gift catalog: PostgreSQL is the record, every node keeps the active gifts in memory
 * (a TableSnapshot, checked every 2 s), so the hot path never queries for it. A gift is
 * retired, never deleted: ledger entries name it, and a retired gift is refused as unknown.
 */
export class GiftCatalog {
  private readonly snapshot: TableSnapshot<Map<string, CatalogGift>>;

  constructor(private readonly sql: Sql) {
    this.snapshot = new TableSnapshot('the gift catalog',
      async () => (await sql<{ version: string }[]>`select version::text from gifts_version`)[0]?.version ?? null,
      async () => inDisplayOrder(await this.all()),
      new Map());
  }

  /** The server calls it at start, before the first gift. */
  async load(): Promise<void> {
    await this.snapshot.fresh();
  }

  get(giftId: string): Gift | undefined {
    return this.snapshot.currentLoaded().get(giftId);
  }

  list(): Gift[] {
    return [...this.snapshot.currentLoaded().values()].map(({ id, name, coins }) => ({ id, name, coins }));
  }

  /** Every gift, retired ones too, from the table. */
  async all(): Promise<CatalogGiftRecord[]> {
    const rows = await this.sql<GiftRow[]>`select id, name, coins::text, active, sort_order, updated_at from gifts order by sort_order, coins, id`;
    return rows.map(record);
  }

  /** Adds a gift or changes one; from then on this node charges the new price, and every node within 2 s. */
  async save(gift: CatalogGift): Promise<CatalogGiftRecord> {
    const [row] = await this.sql<GiftRow[]>`
      insert into gifts (id, name, coins, active, sort_order) values (${gift.id}, ${gift.name}, ${gift.coins}, ${gift.active}, ${gift.sortOrder})
      on conflict (id) do update set name = excluded.name, coins = excluded.coins, active = excluded.active,
        sort_order = excluded.sort_order, updated_at = now()
      returning id, name, coins::text, active, sort_order, updated_at`;
    if (row === undefined) throw new Error(`gift ${gift.id} was not saved`);
    const saved = record(row);
    await this.snapshot.apply((kept) => inDisplayOrder([...[...kept.values()].filter((other) => other.id !== saved.id), saved]));
    return saved;
  }
}
