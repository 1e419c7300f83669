import { DomainError, invariant } from './errors.js';
import { Fiat, currencyExponent, roundToCurrency, rounding, type FiatAmount } from './fiat.js';

// Settlement maths: from coins to the fiat a payee is paid. Every step rounds to the
// currency's minor unit with a named rule, so the statement adds up to the cent:
//   gross   = (earlier coins + coins) x rate, rounded down, - the earlier statements' gross
//             (never pay a fraction not earned, and never lose one: the fraction of a
//             minor unit one statement could not pay is paid by a later one at the same
//             currency and rate, so all of them together pay the coins' value rounded down once)
//   tax     = gross x withholding rate,  rounded half-up (as tax authorities round)
//   fee     = fixed + percent x (gross - tax), rounded half-up, never more than gross - tax
//   payable = gross - tax - fee          (exact: all three are whole minor units)

/** Withheld when no tax profile is on file. */
export const defaultWithholdingRate = '0.30';

export type PayoutMethod = 'stripe' | 'manual';
export const payoutMethods: readonly PayoutMethod[] = ['stripe', 'manual'];
export const kycStatuses = ['unverified', 'pending', 'verified', 'rejected'] as const;
export type KycStatus = (typeof kycStatuses)[number];

export interface PayoutTerms {
  currency: string;
  fiatPerCoin: string;
  withholdingRate: string;
  feeFixed: string;
  feePercent: string;
  minimumPayout: string;
}

export interface Payable {
  gross: FiatAmount;
  tax: FiatAmount;
  fee: FiatAmount;
  payable: FiatAmount;
}

function rate(text: string, name: string, max?: number): FiatAmount {
  const value = new Fiat(text);
  invariant(value.isFinite() && value.gte(0) && (max === undefined || value.lte(max)), `${name} ${text} out of range`);
  return value;
}

/** The payee's earlier statements that settled coins at the same currency and rate: their coins and gross, summed. */
export interface EarlierStatements {
  coins: bigint;
  gross: FiatAmount;
}

export const noEarlierStatements: EarlierStatements = { coins: 0n, gross: new Fiat(0) };

export function computePayable(coins: bigint, terms: PayoutTerms, earlier: EarlierStatements = noEarlierStatements): Payable {
  invariant(coins >= 0n && earlier.coins >= 0n, `coins ${coins} or earlier coins ${earlier.coins} below zero`);
  currencyExponent(terms.currency);
  const valueOf = (count: bigint) => roundToCurrency(new Fiat(count.toString()).times(rate(terms.fiatPerCoin, 'rate')), terms.currency, rounding.down);
  // Statements made before the gross was counted this way each rounded down on their own,
  // so earlier statements may have paid less than their coins' value: never more.
  invariant(earlier.gross.gte(0) && earlier.gross.lte(valueOf(earlier.coins)), `earlier statements paid ${earlier.gross.toString()} for ${earlier.coins} coins`);
  const gross = valueOf(earlier.coins + coins).minus(earlier.gross);
  const tax = roundToCurrency(gross.times(rate(terms.withholdingRate, 'withholding', 1)), terms.currency, rounding.halfUp);
  const afterTax = gross.minus(tax);
  const feeDue = roundToCurrency(rate(terms.feeFixed, 'fixed fee').plus(afterTax.times(rate(terms.feePercent, 'fee percent', 1))),
    terms.currency, rounding.halfUp);
  const fee = Fiat.min(feeDue, afterTax);
  const payable = afterTax.minus(fee);
  invariant(payable.gte(0) && gross.eq(tax.plus(fee).plus(payable)), 'a statement that does not add up');
  return { gross, tax, fee, payable };
}

export type CarryReason = 'kyc_unverified' | 'below_minimum' | 'no_payout_account';

export interface SettlementInput {
  coins: bigint;
  kycStatus: KycStatus;
  payoutMethod: PayoutMethod;
  hasPayoutAccount: boolean;
  payable: FiatAmount;
  minimumPayout: FiatAmount;
}

/** Settle now, or carry the coins to the next period with the reason the payee sees. */
export function settlementOutcome(input: SettlementInput): { status: 'settled' } | { status: 'carried_over'; reason: CarryReason } {
  invariant(input.coins > 0n, 'nothing to settle');
  if (input.kycStatus !== 'verified') return { status: 'carried_over', reason: 'kyc_unverified' };
  if (input.payoutMethod === 'stripe' && !input.hasPayoutAccount) return { status: 'carried_over', reason: 'no_payout_account' };
  if (input.payable.lt(input.minimumPayout) || input.payable.lte(0)) return { status: 'carried_over', reason: 'below_minimum' };
  return { status: 'settled' };
}

export const carryReasonText: Readonly<Record<CarryReason, string>> = {
  kyc_unverified: 'identity verification (KYC) is not complete; the coins carry to the next period',
  below_minimum: 'the payable amount is under the minimum payout; the coins carry to the next period',
  no_payout_account: 'no payout account is connected; the coins carry to the next period',
};

export function parseRate(text: unknown, name: string): string {
  if (typeof text !== 'string' || !/^(0(\.\d{1,6})?|1(\.0{1,6})?)$/.test(text)) {
    throw new DomainError('INVALID_ARGUMENT', `${name} is a decimal string from "0" to "1" with up to 6 decimals`);
  }
  return text;
}
