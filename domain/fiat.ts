import { Decimal } from 'decimal.js';
import { DomainError, invariant } from './errors.js';

// Fiat money: decimal.js, never a float, with each currency's own number of decimals
// (ISO 4217 minor units). Rounding is always named at the call, half-even by default.

export const Fiat = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -40, toExpPos: 40 });
export type FiatAmount = InstanceType<typeof Fiat>;

export const currencyExponents: Readonly<Record<string, number>> = {
  USD: 2, EUR: 2, GBP: 2, CAD: 2, AUD: 2, BRL: 2, INR: 2, CNY: 2, SGD: 2, MXN: 2,
  JPY: 0, KRW: 0, VND: 0, CLP: 0,
  KWD: 3, BHD: 3, JOD: 3, OMR: 3, TND: 3,
};

export function currencyExponent(currency: string): number {
  const exponent = currencyExponents[currency];
  if (exponent === undefined) throw new DomainError('INVALID_ARGUMENT', `unsupported currency ${currency}`);
  return exponent;
}

export type RoundingMode = Decimal.Rounding;
export const rounding = { halfEven: Decimal.ROUND_HALF_EVEN, halfUp: Decimal.ROUND_HALF_UP, down: Decimal.ROUND_DOWN, up: Decimal.ROUND_UP } as const;

/** Rounds to the currency's minor unit, with the rounding named by the caller. */
export function roundToCurrency(amount: FiatAmount, currency: string, mode: RoundingMode = rounding.halfEven): FiatAmount {
  return amount.toDecimalPlaces(currencyExponent(currency), mode);
}

/** A decimal string such as "9.99", refused if it has more decimals than the currency allows. */
export function parseFiat(text: unknown, currency: string): FiatAmount {
  const exponent = currencyExponent(currency);
  if (typeof text !== 'string' || !/^-?\d{1,15}(\.\d+)?$/.test(text)) {
    throw new DomainError('INVALID_ARGUMENT', 'an amount is a decimal string such as "9.99"');
  }
  const amount = new Fiat(text);
  if (amount.decimalPlaces() > exponent) {
    throw new DomainError('INVALID_ARGUMENT', `${currency} amounts have at most ${exponent} decimals`);
  }
  return amount;
}

/** The wire form: always exactly the currency's decimals ("10.00", "1000", "0.250"). */
export function formatFiat(amount: FiatAmount, currency: string): string {
  const exponent = currencyExponent(currency);
  invariant(amount.decimalPlaces() <= exponent, `${amount.toString()} has more decimals than ${currency} allows`);
  return amount.toFixed(exponent);
}

/** Minor units as the payment provider counts them (cents, yen, fils). */
export function toMinorUnits(amount: FiatAmount, currency: string): bigint {
  const minor = amount.times(new Fiat(10).pow(currencyExponent(currency)));
  invariant(minor.isInteger(), `${amount.toString()} ${currency} is not a whole number of minor units`);
  return BigInt(minor.toFixed(0));
}

export function fromMinorUnits(minor: bigint | number, currency: string): FiatAmount {
  return new Fiat(String(minor)).dividedBy(new Fiat(10).pow(currencyExponent(currency)));
}
