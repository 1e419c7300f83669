import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bpsScale, splitWithCarry, type PayeeShare } from '../../domain/commission.js';
import { InvariantViolation } from '../../domain/errors.js';
import { randomInt, seededRandom } from '../helpers/random.js';

const creator = (bps: number): PayeeShare => ({ accountId: 'earnings:s1', bps, carryKey: 'earnings:s1|default' });

test('1,000 one-coin gifts at 70/30 pay the creator 700 and the platform 300', () => {
  let carries = [0];
  let creatorTotal = 0;
  let platformTotal = 0;
  for (let i = 0; i < 1000; i += 1) {
    const split = splitWithCarry(1, [creator(7000)], carries);
    creatorTotal += split.payeeCoins[0] ?? 0;
    platformTotal += split.platformCoins;
    carries = split.carries;
  }
  assert.is(creatorTotal, 700);
  assert.is(platformTotal, 300);
});

test('random prices, rates and payees: legs sum to the price, none negative, each payee within a coin of exact', () => {
  for (let seed = 1; seed <= 300; seed += 1) {
    const random = seededRandom(seed);
    const payeeCount = randomInt(random, 1, 4);
    const payees: PayeeShare[] = [];
    let left = bpsScale;
    for (let i = 0; i < payeeCount; i += 1) {
      const bps = randomInt(random, 0, left);
      left -= bps;
      payees.push({ accountId: `earnings:p${i}`, bps, carryKey: `p${i}|r` });
    }
    let carries = payees.map(() => 0);
    const paid = payees.map(() => 0n);
    let gross = 0n;
    for (let gift = 0; gift < 200; gift += 1) {
      const price = random() < 0.7 ? randomInt(random, 1, 20) : randomInt(random, 1, 99_990_000);
      const split = splitWithCarry(price, payees, carries);
      const legs = [...split.payeeCoins, split.platformCoins];
      assert.ok(legs.every((leg) => Number.isSafeInteger(leg) && leg >= 0), `seed ${seed}: negative leg ${legs}`);
      assert.is(legs.reduce((a, b) => a + b, 0), price, `seed ${seed}: legs do not sum to the price`);
      split.payeeCoins.forEach((coins, i) => { paid[i] = (paid[i] ?? 0n) + BigInt(coins); });
      gross += BigInt(price);
      carries = split.carries;
    }
    payees.forEach((payee, i) => {
      const exact = (gross * BigInt(payee.bps)) / BigInt(bpsScale);
      const drift = (paid[i] ?? 0n) - exact;
      // Capped payees keep their shortfall in the carry: never more than the payee count behind.
      assert.ok(drift <= 1n && drift >= -BigInt(payeeCount), `seed ${seed}: payee ${i} drifted ${drift}`);
    });
  }
});

test('a creator at 100 % receives every coin and the platform none', () => {
  const split = splitWithCarry(12345, [creator(10_000)], [0]);
  assert.equal(split.payeeCoins, [12345]);
  assert.is(split.platformCoins, 0);
});

test('shares above 100 %, negative bps, bad prices and carries are invariant violations', () => {
  assert.throws(() => splitWithCarry(10, [creator(7000), { ...creator(4000), carryKey: 'x' }], [0, 0]), (e: unknown) => e instanceof InvariantViolation);
  assert.throws(() => splitWithCarry(10, [creator(-1)], [0]), (e: unknown) => e instanceof InvariantViolation);
  assert.throws(() => splitWithCarry(0, [creator(7000)], [0]), (e: unknown) => e instanceof InvariantViolation);
  assert.throws(() => splitWithCarry(1.5, [creator(7000)], [0]), (e: unknown) => e instanceof InvariantViolation);
  assert.throws(() => splitWithCarry(10, [creator(7000)], [-3]), (e: unknown) => e instanceof InvariantViolation);
});

test.run();
