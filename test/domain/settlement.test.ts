import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Fiat, currencyExponent } from '../../domain/fiat.js';
import { computePayable, noEarlierStatements, settlementOutcome, type PayoutTerms } from '../../domain/settlement.js';
import { lastClosedPeriod, parseInstant, periodContaining } from '../../domain/settlement-periods.js';
import { DomainError, InvariantViolation } from '../../domain/errors.js';
import { randomInt, seededRandom } from '../helpers/random.js';

const usd: PayoutTerms = { currency: 'USD', fiatPerCoin: '0.01', withholdingRate: '0.30', feeFixed: '0.25', feePercent: '0.0025', minimumPayout: '10.00' };
const strings = (p: ReturnType<typeof computePayable>) => [p.gross, p.tax, p.fee, p.payable].map((d) => d.toString());

test('payable: gross rounded down, tax and fee rounded half-up, and the statement adds up', () => {
  assert.equal(strings(computePayable(100_000n, usd)), ['1000', '300', '2', '698']);
  // 12,345 x 1.5 = 18,517.5 yen -> 18,517; tax 20.42 % = 3,781.17 -> 3,781; fee 40 + 0.25 % of 14,736 = 76.84 -> 77.
  const jpy: PayoutTerms = { currency: 'JPY', fiatPerCoin: '1.5', withholdingRate: '0.2042', feeFixed: '40', feePercent: '0.0025', minimumPayout: '1500' };
  assert.equal(strings(computePayable(12_345n, jpy)), ['18517', '3781', '77', '14659']);
  // A fee larger than what is left takes all of it, never more.
  assert.equal(strings(computePayable(10n, usd)), ['0.1', '0.03', '0.07', '0']);
});

test('random amounts and terms: whole minor units, never negative, gross = tax + fee + payable', () => {
  const currencies = ['USD', 'JPY', 'KWD', 'EUR'];
  for (let seed = 1; seed <= 500; seed += 1) {
    const random = seededRandom(seed);
    const currency = currencies[randomInt(random, 0, currencies.length - 1)] ?? 'USD';
    const terms: PayoutTerms = {
      currency, fiatPerCoin: `0.${randomInt(random, 1, 99_999)}`, withholdingRate: `0.${randomInt(random, 0, 999_999)}`,
      feeFixed: String(randomInt(random, 0, 5)), feePercent: `0.00${randomInt(random, 0, 99)}`, minimumPayout: '1',
    };
    const coins = BigInt(randomInt(random, 0, Number.MAX_SAFE_INTEGER));
    const p = computePayable(coins, terms);
    const unit = new Fiat(10).pow(-currencyExponent(currency));
    for (const part of [p.gross, p.tax, p.fee, p.payable]) {
      assert.ok(part.gte(0) && part.mod(unit).isZero(), `seed ${seed}: ${part.toString()} ${currency}`);
    }
    assert.ok(p.gross.eq(p.tax.plus(p.fee).plus(p.payable)), `seed ${seed}`);
    assert.ok(p.gross.lte(new Fiat(coins.toString()).times(terms.fiatPerCoin)), `seed ${seed}: gross above the exact value`);
  }
});

test('statements in a row pay the coins\' value rounded down once: the fraction one cannot pay, a later one does', () => {
  const halfCent: PayoutTerms = { ...usd, fiatPerCoin: '0.005', feeFixed: '0', feePercent: '0', withholdingRate: '0' };
  let earlier = noEarlierStatements;
  const grosses: string[] = [];
  for (let i = 0; i < 3; i += 1) {
    const p = computePayable(3n, halfCent, earlier);
    grosses.push(p.gross.toFixed(2));
    earlier = { coins: earlier.coins + 3n, gross: earlier.gross.plus(p.gross) };
  }
  // 0.015 each: rounded down on their own they would pay 0.03 of the 0.045 earned.
  assert.equal(grosses, ['0.01', '0.02', '0.01']);

  const currencies = ['USD', 'JPY', 'KWD', 'EUR'];
  for (let seed = 1; seed <= 200; seed += 1) {
    const random = seededRandom(seed);
    const currency = currencies[randomInt(random, 0, currencies.length - 1)] ?? 'USD';
    const terms: PayoutTerms = { ...usd, currency, fiatPerCoin: `0.${randomInt(random, 1, 99_999)}`, feeFixed: '0' };
    const unit = new Fiat(10).pow(-currencyExponent(currency));
    let before = noEarlierStatements;
    for (let statement = 0; statement < 20; statement += 1) {
      const coins = BigInt(randomInt(random, 0, 10 ** randomInt(random, 0, 9)));
      const p = computePayable(coins, terms, before);
      const exact = new Fiat(coins.toString()).times(terms.fiatPerCoin);
      assert.ok(p.gross.gte(0) && p.gross.mod(unit).isZero() && p.gross.gt(exact.minus(unit)) && p.gross.lt(exact.plus(unit)),
        `seed ${seed}: ${p.gross.toString()} for ${exact.toString()} ${currency}`);
      assert.ok(p.gross.eq(p.tax.plus(p.fee).plus(p.payable)));
      before = { coins: before.coins + coins, gross: before.gross.plus(p.gross) };
      const owed = new Fiat(before.coins.toString()).times(terms.fiatPerCoin);
      assert.ok(before.gross.lte(owed) && before.gross.gt(owed.minus(unit)), `seed ${seed}: ${before.gross.toString()} paid of ${owed.toString()}`);
    }
  }
  // Earlier statements that paid more than their coins were worth are a broken invariant, not a negative gross.
  assert.throws(() => computePayable(10n, usd, { coins: 1n, gross: new Fiat('0.02') }), (error: unknown) => error instanceof InvariantViolation);
});

test('outcome: KYC first, then a payout account, then the minimum', () => {
  const base = { coins: 100n, kycStatus: 'verified' as const, payoutMethod: 'stripe' as const, hasPayoutAccount: true, payable: new Fiat('20'), minimumPayout: new Fiat('10') };
  assert.equal(settlementOutcome(base), { status: 'settled' });
  assert.equal(settlementOutcome({ ...base, kycStatus: 'pending' }), { status: 'carried_over', reason: 'kyc_unverified' });
  assert.equal(settlementOutcome({ ...base, hasPayoutAccount: false }), { status: 'carried_over', reason: 'no_payout_account' });
  assert.equal(settlementOutcome({ ...base, payoutMethod: 'manual', hasPayoutAccount: false }), { status: 'settled' });
  assert.equal(settlementOutcome({ ...base, payable: new Fiat('9.99') }), { status: 'carried_over', reason: 'below_minimum' });
  assert.equal(settlementOutcome({ ...base, payable: new Fiat('0'), minimumPayout: new Fiat('0') }), { status: 'carried_over', reason: 'below_minimum' });
});

test('periods: daily T+1, ISO weeks across a year end, calendar months', () => {
  const at = Date.UTC(2026, 10, 25, 13, 0);
  assert.equal(lastClosedPeriod('daily', at), { id: '2026-11-24', schedule: 'daily', startMs: Date.UTC(2026, 10, 24), endMs: Date.UTC(2026, 10, 25) });
  assert.equal(periodContaining('weekly', at), { id: '2026-W48', schedule: 'weekly', startMs: Date.UTC(2026, 10, 23), endMs: Date.UTC(2026, 10, 30) });
  assert.is(periodContaining('weekly', Date.UTC(2027, 0, 3)).id, '2026-W53');
  assert.is(periodContaining('weekly', Date.UTC(2027, 0, 4)).id, '2027-W01');
  assert.is(periodContaining('weekly', Date.UTC(2025, 11, 29)).id, '2026-W01');
  assert.equal(lastClosedPeriod('monthly', Date.UTC(2026, 11, 1)), { id: '2026-11', schedule: 'monthly', startMs: Date.UTC(2026, 10, 1), endMs: Date.UTC(2026, 11, 1) });
  // Every instant falls in exactly one period, and periods tile time without gaps.
  const random = seededRandom(7);
  for (let i = 0; i < 2000; i += 1) {
    const t = Date.UTC(2024, 0, 1) + randomInt(random, 0, 5 * 365 * 86_400_000);
    for (const schedule of ['daily', 'weekly', 'monthly'] as const) {
      const period = periodContaining(schedule, t);
      assert.ok(period.startMs <= t && t < period.endMs);
      assert.equal(periodContaining(schedule, period.endMs).startMs, period.endMs);
      assert.is(lastClosedPeriod(schedule, t).endMs, period.startMs);
    }
  }
});

test('instants: ISO 8601 days that exist, in UTC or with an offset; a day past its month\'s end is refused, not rolled over', () => {
  assert.is(parseInstant('2028-02-29'), Date.UTC(2028, 1, 29));
  assert.is(parseInstant('2026-11-30T12:00:00+14:00'), Date.UTC(2026, 10, 29, 22));
  assert.is(parseInstant('2026-12-31T23:59:59.999Z'), Date.UTC(2026, 11, 31, 23, 59, 59, 999));
  for (const text of ['2026-02-29', '2026-02-30', '2026-04-31', '2026-00-10', '2026-01-00', '2026-13-01', '2026-11-30T25:00:00Z', '2026', 'now', 20261130]) {
    assert.throws(() => parseInstant(text), (error: unknown) => error instanceof DomainError && error.code === 'INVALID_ARGUMENT', String(text));
  }
});

test.run();
