import { assertBonusLadder, type CoinPackage } from '../../domain/coin-packages.js';
import { Fiat } from '../../domain/fiat.js';
import type { Sql } from '../db/sql.js';

/** The active coin packages, loaded from PostgreSQL; a ladder that breaks the bonus rule refuses to load. */
export async function loadCoinPackages(sql: Sql): Promise<CoinPackage[]> {
  const rows = await sql<{ id: string; price: string; currency: string; coins: bigint; bonus_coins: bigint; first_purchase_bonus_coins: bigint }[]>`
    select id, price::text, currency, coins, bonus_coins, first_purchase_bonus_coins
      from coin_packages where active order by sort_order, id`;
  const packages = rows.map((row) => ({
    id: row.id, price: new Fiat(row.price), currency: row.currency, coins: Number(row.coins),
    bonusCoins: Number(row.bonus_coins), firstPurchaseBonusCoins: Number(row.first_purchase_bonus_coins),
  }));
  assertBonusLadder(packages);
  return packages;
}
