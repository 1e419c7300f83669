import type { CoinsBack } from './clawback.js';
import { invariant } from './errors.js';

/**
 * The pack/bonus split of `coinsBack` more coins taken back from an order's credit, after
 * `taken` already: the bonus in proportion to everything taken so far, rounded down once,
 * less the bonus taken already, so an order taken back in pieces returns exactly its pack
 * coins to issuance and its bonus to the bonus account (rounding each piece on its own
 * would send every fraction to issuance: taken back one coin at a time, a bonus never
 * returns at all). Kept within what is left of each part, so earlier pieces split
 * another way (recorded before this rule) are evened out, never overdrawn.
 */
export function nextShareOfCredit(credited: CoinsBack, taken: CoinsBack, coinsBack: number): CoinsBack {
  const total = credited.coins + credited.bonus;
  const takenTotal = taken.coins + taken.bonus;
  invariant(total > 0 && Number.isSafeInteger(total) && taken.coins >= 0 && taken.bonus >= 0
    && taken.coins <= credited.coins && taken.bonus <= credited.bonus,
  `${taken.coins}+${taken.bonus} coins taken back of ${credited.coins}+${credited.bonus} credited`);
  invariant(Number.isSafeInteger(coinsBack) && coinsBack >= 0 && takenTotal + coinsBack <= total,
    `${coinsBack} more coins back after ${takenTotal} of ${total} credited`);
  // In bigint: the product of two coin counts can pass 2^53, where a float rounds.
  const bonusOfAll = Number((BigInt(takenTotal + coinsBack) * BigInt(credited.bonus)) / BigInt(total));
  const fewestBonus = Math.max(0, coinsBack - (credited.coins - taken.coins));
  const mostBonus = Math.min(coinsBack, credited.bonus - taken.bonus);
  const bonus = Math.min(mostBonus, Math.max(fewestBonus, bonusOfAll - taken.bonus));
  return { coins: coinsBack - bonus, bonus };
}
