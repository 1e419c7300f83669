import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertBonusLadder, packageCredit, type CoinPackage } from '../../domain/coin-packages.js';
import { DomainError, InvariantViolation } from '../../domain/errors.js';
import { Fiat, currencyExponent, formatFiat, fromMinorUnits, parseFiat, rounding, roundToCurrency, toMinorUnits } from '../../domain/fiat.js';
import { coinsRefundedOutside, noEarlierRefunds, refundShare } from '../../domain/refund-share.js';
import { nextShareOfCredit } from '../../domain/credit-back.js';
import { assertTransition, canTransition, orderStatuses } from '../../domain/order-states.js';
import { takeBackPostings } from '../../domain/clawback.js';
import { assertBalanced } from '../../domain/ledger.js';
import { randomInt, seededRandom } from '../helpers/random.js';

const refusedWith = (code: string) => (e: unknown) => e instanceof DomainError && e.code === code;

test('fiat amounts respect each currency\'s decimals: USD 2, JPY 0, KWD 3', () => {
  assert.is(formatFiat(parseFiat('9.99', 'USD'), 'USD'), '9.99');
  assert.is(formatFiat(parseFiat('10', 'USD'), 'USD'), '10.00');
  assert.is(formatFiat(parseFiat('1600', 'JPY'), 'JPY'), '1600');
  assert.is(formatFiat(parseFiat('0.3', 'KWD'), 'KWD'), '0.300');
  assert.is(toMinorUnits(parseFiat('9.99', 'USD'), 'USD'), 999n);
  assert.is(toMinorUnits(parseFiat('1600', 'JPY'), 'JPY'), 1600n);
  assert.is(toMinorUnits(parseFiat('0.300', 'KWD'), 'KWD'), 300n);
  assert.is(formatFiat(fromMinorUnits(999n, 'USD'), 'USD'), '9.99');
  for (const [text, currency] of [['9.999', 'USD'], ['1.5', 'JPY'], ['0.3001', 'KWD'], ['1e3', 'USD'], ['', 'USD'], ['NaN', 'USD']] as const) {
    assert.throws(() => parseFiat(text, currency), refusedWith('INVALID_ARGUMENT'), `${text} ${currency}`);
  }
  assert.throws(() => parseFiat(9.99, 'USD'), refusedWith('INVALID_ARGUMENT'), 'a JSON number is not a fiat amount');
  assert.throws(() => parseFiat('1.00', 'XXX'), refusedWith('INVALID_ARGUMENT'));
});

test('rounding is explicit and exact: half-even by default, never through a float', () => {
  assert.is(formatFiat(roundToCurrency(new Fiat('0.125'), 'USD'), 'USD'), '0.12');
  assert.is(formatFiat(roundToCurrency(new Fiat('0.135'), 'USD'), 'USD'), '0.14');
  assert.is(formatFiat(roundToCurrency(new Fiat('0.129'), 'USD', rounding.down), 'USD'), '0.12');
  assert.is(formatFiat(roundToCurrency(new Fiat('0.121'), 'USD', rounding.up), 'USD'), '0.13');
  assert.is(formatFiat(new Fiat('0.1').plus('0.2'), 'USD'), '0.30');
  assert.is(formatFiat(roundToCurrency(new Fiat('1599.5'), 'JPY'), 'JPY'), '1600');
  assert.throws(() => toMinorUnits(new Fiat('0.005'), 'USD'), (e: unknown) => e instanceof InvariantViolation);
});

const pkg = (id: string, price: string, coins: number, bonusCoins: number): CoinPackage =>
  ({ id, price: new Fiat(price), currency: 'USD', coins, bonusCoins, firstPurchaseBonusCoins: 100 });

test('a package credits its coins and bonus; the first purchase adds its bonus once', () => {
  assert.equal(packageCredit(pkg('a', '9.99', 1000, 100), false), { coins: 1000, bonusCoins: 100, firstPurchaseBonusCoins: 0 });
  assert.equal(packageCredit(pkg('a', '9.99', 1000, 100), true), { coins: 1000, bonusCoins: 200, firstPurchaseBonusCoins: 100 });
});

test('bigger packs carry more bonus: a ladder where a dearer pack has a smaller bonus share is refused', () => {
  assertBonusLadder([pkg('a', '0.99', 100, 0), pkg('b', '9.99', 1000, 100), pkg('c', '99.99', 10000, 2500)]);
  assert.throws(() => assertBonusLadder([pkg('a', '0.99', 100, 20), pkg('b', '9.99', 1000, 100)]), (e: unknown) => e instanceof InvariantViolation);
});

test('order states: every listed transition is legal, every other one is refused with CONFLICT', () => {
  const legal = new Set(['pending_payment>paid', 'pending_payment>canceled', 'pending_payment>expired', 'canceled>paid', 'expired>paid',
    'paid>fulfilled', 'paid>refunded', 'paid>disputed', 'fulfilled>refunded', 'fulfilled>partially_refunded', 'fulfilled>disputed',
    'partially_refunded>partially_refunded', 'partially_refunded>refunded', 'partially_refunded>disputed',
    'disputed>dispute_won', 'disputed>dispute_lost', 'dispute_won>refunded', 'dispute_won>partially_refunded', 'dispute_won>disputed',
    'refunded>disputed']);
  for (const from of orderStatuses) {
    for (const to of orderStatuses) {
      const expected = legal.has(`${from}>${to}`);
      assert.is(canTransition(from, to), expected, `${from} -> ${to}`);
      if (!expected) assert.throws(() => assertTransition(from, to), refusedWith('CONFLICT'));
    }
  }
});

test('a take-back balances, takes from the wallet at most what it covers, and puts the rest in debt', () => {
  const random = seededRandom(7);
  for (let i = 0; i < 500; i += 1) {
    const back = { coins: randomInt(random, 0, 10_000), bonus: randomInt(random, 0, 3_000) };
    if (back.coins + back.bonus === 0) continue;
    const covers = randomInt(random, -500, 15_000);
    const { postings, fromWallet, fromDebt } = takeBackPostings('u1', back, covers);
    assertBalanced({ id: `t${i}`, postings });
    assert.is(fromWallet + fromDebt, back.coins + back.bonus);
    assert.is(fromWallet, Math.min(Math.max(covers, 0), back.coins + back.bonus));
    assert.ok(postings.every((p) => p.amount !== 0));
  }
  assert.equal(takeBackPostings('u1', { coins: 100, bonus: 20 }, 30).postings, [
    { accountId: 'wallet:u1', amount: -30 }, { accountId: 'debt:u1', amount: -90 },
    { accountId: 'system:issuance', amount: 100 }, { accountId: 'system:bonus', amount: 20 }]);
  for (const bad of [{ coins: 0, bonus: 0 }, { coins: -1, bonus: 5 }, { coins: 1.5, bonus: 0 }]) {
    assert.throws(() => takeBackPostings('u1', bad, 10), (e: unknown) => e instanceof InvariantViolation, JSON.stringify(bad));
  }
});


test('refunds in pieces give back an order\'s exact price, each piece within a minor unit of its share, never below zero', () => {
  const currencies = ['USD', 'JPY', 'KWD'];
  for (let seed = 1; seed <= 300; seed += 1) {
    const random = seededRandom(seed);
    const currency = currencies[randomInt(random, 0, currencies.length - 1)] ?? 'USD';
    const unit = new Fiat(10).pow(-currencyExponent(currency));
    const price = unit.times(randomInt(random, 1, 5_000_000));
    const credited = randomInt(random, 1, 200_000);
    let earlier = noEarlierRefunds;
    while (earlier.coins < credited) {
      const coins = Math.min(credited - earlier.coins, randomInt(random, 1, Math.max(1, Math.floor(credited / randomInt(random, 1, 20)))));
      const amount = refundShare(price, currency, credited, coins, earlier);
      const exact = price.times(coins).dividedBy(credited);
      assert.ok(amount.gte(0) && amount.mod(unit).isZero() && amount.gt(exact.minus(unit)) && amount.lt(exact.plus(unit)),
        `seed ${seed}: ${amount.toString()} for ${exact.toString()} ${currency}`);
      earlier = { coins: earlier.coins + coins, amount: earlier.amount.plus(amount) };
    }
    assert.ok(earlier.amount.eq(price), `seed ${seed}: ${earlier.amount.toString()} of ${price.toString()} given back`);
  }
  // A refund made outside the app gave back more than its coins' share: the coins it paid for give nothing again.
  assert.is(refundShare(new Fiat('9.99'), 'USD', 1_200, 1, { coins: 600, amount: new Fiat('5.00') }).toString(), '0');
  assert.throws(() => refundShare(new Fiat('9.99'), 'USD', 1_200, 2, { coins: 1_199, amount: new Fiat('9.98') }), (e: unknown) => e instanceof InvariantViolation);
});

test('a credit taken back in pieces returns exactly its pack coins and its bonus, each piece in proportion within a coin', () => {
  const broken = (e: unknown) => e instanceof InvariantViolation;
  for (let seed = 1; seed <= 400; seed += 1) {
    const random = seededRandom(seed);
    const credited = { coins: randomInt(random, 0, 100_000), bonus: randomInt(random, 0, random() < 0.2 ? 0 : 30_000) };
    const total = credited.coins + credited.bonus;
    if (total === 0) continue;
    let taken = { coins: 0, bonus: 0 };
    while (taken.coins + taken.bonus < total) {
      const left = total - taken.coins - taken.bonus;
      const coinsBack = random() < 0.3 ? randomInt(random, 1, Math.min(left, 9)) : randomInt(random, 0, left);
      const share = nextShareOfCredit(credited, taken, coinsBack);
      assert.is(share.coins + share.bonus, coinsBack, `seed ${seed}`);
      assert.ok(share.coins >= 0 && share.bonus >= 0, `seed ${seed}: ${JSON.stringify(share)}`);
      taken = { coins: taken.coins + share.coins, bonus: taken.bonus + share.bonus };
      // However it was cut, what has been taken is in proportion, rounded down once.
      assert.is(taken.bonus, Math.floor(((taken.coins + taken.bonus) * credited.bonus) / total), `seed ${seed}`);
    }
    assert.equal(taken, credited, `seed ${seed}`);
  }
  // One coin at a time: each piece rounded on its own would return no bonus at all.
  let oneByOne = { coins: 0, bonus: 0 };
  for (let i = 0; i < 1_200; i += 1) {
    const share = nextShareOfCredit({ coins: 1_000, bonus: 200 }, oneByOne, 1);
    oneByOne = { coins: oneByOne.coins + share.coins, bonus: oneByOne.bonus + share.bonus };
  }
  assert.equal(oneByOne, { coins: 1_000, bonus: 200 });
  // Pieces split the old way (each rounded down) sent too many pack coins: later ones even it out, never overdraw.
  assert.equal(nextShareOfCredit({ coins: 1_000, bonus: 200 }, { coins: 995, bonus: 0 }, 100), { coins: 0, bonus: 100 });
  assert.equal(nextShareOfCredit({ coins: 1_000, bonus: 200 }, { coins: 995, bonus: 0 }, 205), { coins: 5, bonus: 200 });
  // In bigint: 55,766,786,395 x 49,549,821,766 passes 2^53, where the float quotient rounds up to 49,549,460,776.
  const huge = { coins: 6_217_370_915, bonus: 49_549_821_766 };
  assert.equal(nextShareOfCredit(huge, { coins: 0, bonus: 0 }, 55_766_786_395), { coins: 55_766_786_395 - 49_549_460_775, bonus: 49_549_460_775 });
  assert.throws(() => nextShareOfCredit(huge, { coins: 0, bonus: 0 }, 55_767_192_682), broken, 'more than was credited');
  assert.throws(() => nextShareOfCredit({ coins: 10, bonus: 2 }, { coins: 11, bonus: 0 }, 1), broken, 'more pack coins taken than credited');
  assert.throws(() => nextShareOfCredit({ coins: 10, bonus: 2 }, { coins: 0, bonus: 0 }, 1.5), broken);
});

test('refunds made outside the app take back, together, what all the money refunded is worth: the whole price, all the coins', () => {
  for (let seed = 1; seed <= 300; seed += 1) {
    const random = seededRandom(seed);
    const price = new Fiat(randomInt(random, 1, 1_000_000)).dividedBy(100);
    const credited = randomInt(random, 1, 200_000);
    // Half the time, some coins refunded in the app first (their amount rounded down, as refundShare does).
    let taken = random() < 0.5 || credited === 1 ? 0 : randomInt(random, 1, credited - 1);
    let refunded = taken === 0 ? new Fiat(0) : refundShare(price, 'USD', credited, taken, noEarlierRefunds);
    while (refunded.lt(price)) {
      const next = Fiat.min(price, refunded.plus(new Fiat(randomInt(random, 1, Number(price.times(100)))).dividedBy(100)));
      const coins = coinsRefundedOutside(price, credited, next, taken);
      // What all the money refunded is worth, rounded down once; none back if the coins taken were worth more.
      const worth = next.times(credited).dividedBy(price).floor().toNumber();
      assert.is(taken + coins, Math.max(taken, Math.min(credited, worth)), `seed ${seed}`);
      taken += coins;
      refunded = next;
    }
    assert.is(taken, credited, `seed ${seed}: the whole price refunded takes all the coins`);
  }
  // 1.00 at a time of a 9.99 order of 1,200 coins: 120 coins a dollar (120.12 each), 118 for the last 0.99 rounded alone.
  const pieces = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((dollars) => new Fiat(dollars));
  let taken = 0;
  for (const refundedInAll of [...pieces, new Fiat('9.99')]) taken += coinsRefundedOutside(new Fiat('9.99'), 1_200, refundedInAll, taken);
  assert.is(taken, 1_200);
  assert.is(coinsRefundedOutside(new Fiat('9.99'), 1_200, new Fiat('0.02'), 3), 0, 'earlier coins worth more than their money: none more, not fewer');
});

test.run();
