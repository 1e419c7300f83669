import { assertBonusLadder, bonusLadderBreak, type CoinPackage } from '../../domain/coin-packages.js';
import { DomainError } from '../../domain/errors.js';
import { Fiat, formatFiat } from '../../domain/fiat.js';
import type { Sql, Tx } from '../db/sql.js';

export interface CoinPackageRecord extends CoinPackage {
  active: boolean;
  sortOrder: number;
}

interface PackageRow {
  id: string; price: string; currency: string; coins: string; bonus_coins: string; first_purchase_bonus_coins: string; active: boolean; sort_order: number;
}

const packageColumns = (sql: Sql | Tx) => sql`id, price::text, currency, coins::text, bonus_coins::text, first_purchase_bonus_coins::text, active, sort_order`;

const packageOf = (row: PackageRow): CoinPackageRecord => ({
  id: row.id, price: new Fiat(row.price), currency: row.currency, coins: Number(row.coins), bonusCoins: Number(row.bonus_coins),
  firstPurchaseBonusCoins: Number(row.first_purchase_bonus_coins), active: row.active, sortOrder: row.sort_order,
});

async function activePackages(sql: Sql | Tx): Promise<CoinPackageRecord[]> {
  return (await sql<PackageRow[]>`select ${packageColumns(sql)} from coin_packages where active order by sort_order, id`).map(packageOf);
}

/** The active coin packages, loaded from PostgreSQL; a ladder that breaks the bonus rule refuses to load. */
export async function loadCoinPackages(sql: Sql): Promise<CoinPackage[]> {
  const packages = await activePackages(sql);
  assertBonusLadder(packages);
  return packages;
}

/** Every package, retired ones too. */
export async function allCoinPackages(sql: Sql): Promise<CoinPackageRecord[]> {
  return (await sql<PackageRow[]>`select ${packageColumns(sql)} from coin_packages order by sort_order, id`).map(packageOf);
}

/**
 * Adds a package or changes one, refused (INVALID_ARGUMENT, nothing changed) when the active
 * packages would then break the bonus ladder: every read of the packages asserts it. Saves
 * run one at a time, so two that each keep the ladder cannot break it together. Orders
 * already placed keep the price, coins and bonus they were placed at.
 */
export async function saveCoinPackage(sql: Sql, pkg: CoinPackageRecord): Promise<CoinPackageRecord> {
  return sql.begin(async (tx) => {
    await tx`lock table coin_packages in share row exclusive mode`;
    const [row] = await tx<PackageRow[]>`
      insert into coin_packages (id, price, currency, coins, bonus_coins, first_purchase_bonus_coins, active, sort_order)
      values (${pkg.id}, ${formatFiat(pkg.price, pkg.currency)}::numeric, ${pkg.currency}, ${pkg.coins}, ${pkg.bonusCoins},
              ${pkg.firstPurchaseBonusCoins}, ${pkg.active}, ${pkg.sortOrder})
      on conflict (id) do update set price = excluded.price, currency = excluded.currency, coins = excluded.coins,
        bonus_coins = excluded.bonus_coins, first_purchase_bonus_coins = excluded.first_purchase_bonus_coins,
        active = excluded.active, sort_order = excluded.sort_order
      returning ${packageColumns(tx)}`;
    if (row === undefined) throw new Error(`coin package ${pkg.id} was not saved`);
    const broken = bonusLadderBreak(await activePackages(tx));
    if (broken !== null) throw new DomainError('INVALID_ARGUMENT', `${broken}: bigger packs carry at least the bonus share of cheaper ones`);
    return packageOf(row);
  });
}
