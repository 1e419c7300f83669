import { invariant } from './errors.js';
import { Fiat, formatFiat, type FiatAmount } from './fiat.js';

export interface CoinPackage {
  id: string;
  price: FiatAmount;
  currency: string;
  coins: number;
  bonusCoins: number;
  /** Added once, to a user's first fulfilled top-up. */
  firstPurchaseBonusCoins: number;
}

export interface PackageCredit {
  coins: number;
  /** All the bonus, the first-purchase bonus included. */
  bonusCoins: number;
  /** Of bonusCoins, the first-purchase bonus (0 after the first top-up): the order records it. */
  firstPurchaseBonusCoins: number;
}

/** What a fulfilled order credits: the package's coins, and its bonus (plus the first-purchase bonus once). */
export function packageCredit(pkg: Pick<CoinPackage, 'coins' | 'bonusCoins' | 'firstPurchaseBonusCoins'>, firstPurchase: boolean): PackageCredit {
  const firstPurchaseBonusCoins = firstPurchase ? pkg.firstPurchaseBonusCoins : 0;
  return { coins: pkg.coins, bonusCoins: pkg.bonusCoins + firstPurchaseBonusCoins, firstPurchaseBonusCoins };
}

/**
 * Bigger packs carry more bonus: within a currency, by price, the bonus share never falls.
 * Returns what breaks the rule, or null.
 */
export function bonusLadderBreak(packages: readonly CoinPackage[]): string | null {
  const byCurrency = new Map<string, CoinPackage[]>();
  for (const pkg of packages) byCurrency.set(pkg.currency, [...(byCurrency.get(pkg.currency) ?? []), pkg]);
  for (const [currency, list] of byCurrency) {
    const sorted = [...list].sort((a, b) => a.price.comparedTo(b.price));
    let previousShare = new Fiat(-1);
    for (const pkg of sorted) {
      if (!(Number.isSafeInteger(pkg.coins) && pkg.coins > 0 && pkg.bonusCoins >= 0)) return `package ${pkg.id} has bad coin amounts`;
      const share = new Fiat(pkg.bonusCoins).dividedBy(pkg.coins);
      if (share.lessThan(previousShare)) return `${currency} package ${pkg.id} has less bonus than a cheaper one`;
      previousShare = share;
    }
  }
  return null;
}

/** The packages as loaded must keep the ladder: a break is a broken invariant, not a bad request. */
export function assertBonusLadder(packages: readonly CoinPackage[]): void {
  const broken = bonusLadderBreak(packages);
  invariant(broken === null, broken ?? '');
}

export function packageView(pkg: CoinPackage) {
  return {
    id: pkg.id, price: formatFiat(pkg.price, pkg.currency), currency: pkg.currency,
    coins: pkg.coins, bonusCoins: pkg.bonusCoins, firstPurchaseBonusCoins: pkg.firstPurchaseBonusCoins,
  };
}
