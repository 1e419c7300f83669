import { invariant } from './errors.js';

// Splitting a gift among payees in basis points, fair over time.
//
// Each payee carries what it is owed below one coin, in units of 1/10,000 coin: the
// owed amount for a gift is carry + price x bps; the payee gets the whole coins of it and
// keeps the rest as its new carry. So 1,000 one-coin gifts at 70 % pay 700 coins, where
// a per-gift floor would pay 0. The platform is the residual payee: it receives what the
// others do not, so the legs always sum exactly to the price and no coin is made or lost.
// If several payees' carries would together claim more than the price, a later payee is
// capped at what remains and the shortfall stays in its carry for the next gift.
//
// server/redis/scripts/gift-9.lua runs this same algorithm inside Redis; a test feeds
// both the same streams and requires identical legs.

export const bpsScale = 10_000;

export interface PayeeShare {
  accountId: string;
  bps: number;
  /** Where this payee's carried fraction lives: one per (payee, rule). */
  carryKey: string;
}

export interface SplitResult {
  /** Coins for each payee, in the order given. */
  payeeCoins: number[];
  /** Each payee's carry after this gift, in 1/10,000 coin. */
  carries: number[];
  /** The residual: what the platform receives. */
  platformCoins: number;
}

export function assertValidShares(payees: readonly PayeeShare[]): void {
  let total = 0;
  for (const payee of payees) {
    invariant(Number.isInteger(payee.bps) && payee.bps >= 0 && payee.bps <= bpsScale,
      `bps ${payee.bps} of ${payee.accountId} outside 0..${bpsScale}`);
    total += payee.bps;
  }
  invariant(total <= bpsScale, `payee shares sum to ${total} bps, more than ${bpsScale}`);
}

export function splitWithCarry(priceCoins: number, payees: readonly PayeeShare[], carries: readonly number[]): SplitResult {
  invariant(Number.isSafeInteger(priceCoins) && priceCoins > 0, `price ${priceCoins} is not a positive integer`);
  invariant(carries.length === payees.length, 'one carry per payee');
  assertValidShares(payees);
  let remaining = priceCoins;
  const payeeCoins: number[] = [];
  const nextCarries: number[] = [];
  payees.forEach((payee, index) => {
    const carry = carries[index] ?? 0;
    invariant(Number.isSafeInteger(carry) && carry >= 0, `carry ${carry} is not a non-negative integer`);
    const owed = carry + priceCoins * payee.bps;
    const coins = Math.min(Math.floor(owed / bpsScale), remaining);
    remaining -= coins;
    payeeCoins.push(coins);
    nextCarries.push(owed - coins * bpsScale);
  });
  invariant(remaining >= 0, 'legs exceed the price');
  return { payeeCoins, carries: nextCarries, platformCoins: remaining };
}
