import type { Gift } from '../../domain/gifts.js';
import type { Sql } from '../db/sql.js';

/** The gift catalog, read from PostgreSQL and held in memory: the hot path never queries for it. */
export class GiftCatalog {
  private gifts = new Map<string, Gift>();

  constructor(private readonly sql: Sql) {}

  async load(): Promise<void> {
    const rows = await this.sql<{ id: string; name: string; coins: bigint }[]>`
      select id, name, coins from gifts where active order by sort_order, coins`;
    this.gifts = new Map(rows.map((row) => [row.id, { id: row.id, name: row.name, coins: Number(row.coins) }]));
  }

  get(giftId: string): Gift | undefined {
    return this.gifts.get(giftId);
  }

  list(): Gift[] {
    return [...this.gifts.values()];
  }
}
