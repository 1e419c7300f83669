import { invariant } from './errors.js';
import { Fiat, roundToCurrency, rounding, type FiatAmount } from './fiat.js';

/** An order's refunds so far (requested, under way or done): their coins and fiat, summed. */
export interface EarlierRefunds {
  coins: number;
  amount: FiatAmount;
}

export const noEarlierRefunds: EarlierRefunds = { coins: 0, amount: new Fiat(0) };

/**
 * The fiat given back for `coins` of an order that credited `creditedCoins` for `price`.
 * Never more than was paid for them, and nothing lost to rounding across partial refunds:
 * it is what all the order's refunds so far are worth, rounded down once, less what the
 * earlier ones gave back, so an order refunded in pieces gives back exactly its price.
 * A refund made outside the app may have given back more than its coins' share (its
 * coins are rounded down from its amount); the coins it paid for give back nothing again.
 */
export function refundShare(price: FiatAmount, currency: string, creditedCoins: number, coins: number, earlier: EarlierRefunds): FiatAmount {
  invariant(Number.isSafeInteger(coins) && coins > 0 && earlier.coins >= 0 && earlier.coins + coins <= creditedCoins,
    `a refund of ${coins} coins after ${earlier.coins} of ${creditedCoins}`);
  const worth = roundToCurrency(price.times(earlier.coins + coins).dividedBy(creditedCoins), currency, rounding.down);
  return Fiat.max(0, worth.minus(earlier.amount));
}

/**
 * The coins a refund made outside the app takes back, when the order's refunds have given
 * back `refundedInAll` (this one included) and taken `coinsTaken` coins before it: what all
 * that money is worth in coins, rounded down once, less the coins already taken. Rounded
 * per refund, each would leave the buyer up to a coin's worth; counted so, the order's
 * whole price takes back all its coins. Never more than are left, nor below none (an
 * earlier refund's coins may have been worth more than the money it gave back).
 */
export function coinsRefundedOutside(price: FiatAmount, creditedCoins: number, refundedInAll: FiatAmount, coinsTaken: number): number {
  invariant(Number.isSafeInteger(creditedCoins) && creditedCoins > 0 && coinsTaken >= 0 && coinsTaken <= creditedCoins && price.greaterThan(0),
    `${coinsTaken} coins taken back of ${creditedCoins}`);
  const worth = refundedInAll.times(creditedCoins).dividedBy(price).toDecimalPlaces(0, rounding.down).toNumber();
  return Math.min(creditedCoins - coinsTaken, Math.max(0, worth - coinsTaken));
}
