import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bpsScale } from '../../domain/commission.js';
import { DomainError } from '../../domain/errors.js';
import { defaultContract, earningsMonth, payeesOf, splitGift, validateContract, type SplitContract } from '../../domain/split-contracts.js';
import { randomContract, randomInt, seededRandom } from '../helpers/random.js';

const invalid = (contract: SplitContract) => assert.throws(() => validateContract(contract), (e: unknown) => e instanceof DomainError && e.code === 'INVALID_ARGUMENT');

test('the default contract pays 1,000 one-coin gifts 700 to the creator and 300 to the platform', () => {
  const payees = payeesOf('s1', defaultContract);
  let carries = [0];
  let creator = 0;
  let platform = 0;
  for (let i = 0; i < 1000; i += 1) {
    const split = splitGift(1, payees, carries, creator);
    creator += split.payeeCoins[0] ?? 0;
    platform += split.platformCoins;
    carries = split.carries;
  }
  assert.equal([creator, platform], [700, 300]);
});

test('a tier applies from the gift after the month earnings reach its threshold', () => {
  const contract: SplitContract = { creatorTiers: [{ fromMonthCoins: 0, bps: 5_000 }, { fromMonthCoins: 100, bps: 6_000 }], agency: { agencyId: 'guild', bps: 1_000 } };
  validateContract(contract);
  const payees = payeesOf('s1', contract);
  assert.equal(payees.map((p) => [p.accountId, p.carryKey]), [['earnings:s1', 'earnings:s1|creator'], ['agency:guild', 'agency:guild|agency:s1']]);
  let month = 0;
  let carries = [0, 0];
  const creatorLegs: number[] = [];
  for (let i = 0; i < 22; i += 1) {
    const split = splitGift(10, payees, carries, month);
    assert.is(split.payeeCoins[1], 1, 'the agency takes 10 % of every gift');
    creatorLegs.push(split.payeeCoins[0] ?? 0);
    month += split.payeeCoins[0] ?? 0;
    carries = split.carries;
  }
  // 20 gifts at 50 % bring the month to 100; from the 21st the creator earns 60 %.
  assert.equal(creatorLegs, [...Array<number>(20).fill(5), 6, 6]);
});

test('contracts that could pay more than a gift, or whose tiers are ambiguous, are refused', () => {
  invalid({ creatorTiers: [], agency: null });
  invalid({ creatorTiers: [{ fromMonthCoins: 10, bps: 5_000 }], agency: null });
  invalid({ creatorTiers: [{ fromMonthCoins: 0, bps: 5_000 }, { fromMonthCoins: 0, bps: 6_000 }], agency: null });
  invalid({ creatorTiers: [{ fromMonthCoins: 0, bps: 5_000 }, { fromMonthCoins: 500, bps: 9_500 }], agency: { agencyId: 'g', bps: 1_000 } });
  invalid({ creatorTiers: [{ fromMonthCoins: 0, bps: 10_001 }], agency: null });
  invalid({ creatorTiers: [{ fromMonthCoins: 0, bps: 0.5 }], agency: null });
  invalid({ creatorTiers: [{ fromMonthCoins: 0, bps: 5_000 }], agency: { agencyId: 'bad id!', bps: 100 } });
  invalid({ creatorTiers: [{ fromMonthCoins: 0, bps: 5_000 }], agency: { agencyId: 'g', bps: 0 } });
  invalid({ creatorTiers: [{ fromMonthCoins: -1, bps: 5_000 }], agency: null });
});

test('random contracts and gift streams: nothing is created or lost, each payee is owed less than two coins', () => {
  for (let seed = 1; seed <= 200; seed += 1) {
    const random = seededRandom(seed);
    const contract = randomContract(random);
    const payees = payeesOf(`s${seed}`, contract);
    let carries = payees.map(() => 0);
    let month = 0;
    const paid = payees.map(() => 0);
    // What each payee is owed exactly, in 1/10,000 coin, at the share in force for each gift.
    const owedUnits = payees.map(() => 0);
    let platform = 0;
    let priced = 0;
    const gifts = randomInt(random, 1, 400);
    for (let i = 0; i < gifts; i += 1) {
      const price = random() < 0.9 ? randomInt(random, 1, 50) : randomInt(random, 1, 1_000_000);
      const split = splitGift(price, payees, carries, month);
      payees.forEach((payee, index) => {
        const tier = [...payee.tiers].reverse().find((t) => month >= t.fromMonthCoins);
        owedUnits[index] = (owedUnits[index] ?? 0) + price * (tier?.bps ?? 0);
        paid[index] = (paid[index] ?? 0) + (split.payeeCoins[index] ?? 0);
        assert.ok((split.payeeCoins[index] ?? 0) >= 0, `seed ${seed}: a negative leg`);
      });
      assert.is(split.payeeCoins.reduce((a, b) => a + b, 0) + split.platformCoins, price, `seed ${seed}: legs do not sum to the price`);
      month += split.payeeCoins[0] ?? 0;
      platform += split.platformCoins;
      priced += price;
      carries = split.carries;
    }
    assert.is(paid.reduce((a, b) => a + b, 0) + platform, priced, `seed ${seed}: coins created or lost`);
    payees.forEach((_, index) => {
      const owedNotPaid = (owedUnits[index] ?? 0) - (paid[index] ?? 0) * bpsScale;
      assert.is(owedNotPaid, carries[index], `seed ${seed}: the carry is exactly what is owed and not paid`);
      assert.ok(owedNotPaid >= 0 && owedNotPaid < 2 * bpsScale, `seed ${seed}: payee ${index} owed ${owedNotPaid / bpsScale} coins`);
    });
  }
});

test('the month that picks the tier is the calendar month in UTC', () => {
  assert.is(earningsMonth(Date.UTC(2026, 10, 30, 23, 59, 59, 999)), '2026-11');
  assert.is(earningsMonth(Date.UTC(2026, 11, 1)), '2026-12');
});

test.run();
