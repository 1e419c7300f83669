import { agencyAccount, earningsAccount } from '../../domain/accounts.js';
import { DomainError } from '../../domain/errors.js';
import { defaultWithholdingRate, kycStatuses, payoutMethods, type KycStatus, type PayoutMethod, type PayoutTerms } from '../../domain/settlement.js';
import { isSchedule, type Schedule } from '../../domain/settlement-periods.js';
import type { Sql } from '../db/sql.js';

// Who gets paid, how and how often. A payee is a streamer's earnings account or an
// agency's account. Without a profile on file: monthly, USD, by Stripe, KYC unverified
// (so every period carries over until verification), withheld at the default 30 %.

export interface PayeeProfile {
  payeeAccount: string;
  schedule: Schedule;
  currency: string;
  kycStatus: KycStatus;
  taxProfile: string | null;
  payoutMethod: PayoutMethod;
  stripeAccount: string | null;
  onFile: boolean;
}

export type PayeeKind = 'streamer' | 'agency';

export function payeeAccountOf(kind: PayeeKind, id: string): string {
  if (!/^[A-Za-z0-9_.:@-]{1,128}$/.test(id)) throw new DomainError('INVALID_ARGUMENT', 'a payee id is 1 to 128 characters of [A-Za-z0-9_.:@-]');
  return kind === 'streamer' ? earningsAccount(id) : agencyAccount(id);
}

/** The schedule of a payee without a profile on file; SQL that reads profiles in bulk falls back to it too. */
export const defaultSchedule: Schedule = 'monthly';

export function defaultProfile(payeeAccount: string): PayeeProfile {
  return { payeeAccount, schedule: defaultSchedule, currency: 'USD', kycStatus: 'unverified', taxProfile: null, payoutMethod: 'stripe', stripeAccount: null, onFile: false };
}

interface ProfileRow {
  payee_account: string; schedule: Schedule; currency: string; kyc_status: KycStatus;
  tax_profile: string | null; payout_method: PayoutMethod; stripe_account: string | null;
}

export interface ResolvedTerms extends PayoutTerms {
  taxProfile: string | null;
}

export class PayeeDirectory {
  constructor(private readonly sql: Sql) {}

  async profile(payeeAccount: string): Promise<PayeeProfile> {
    const [row] = await this.sql<ProfileRow[]>`
      select payee_account, schedule, currency, kyc_status, tax_profile, payout_method, stripe_account
        from payee_profiles where payee_account = ${payeeAccount}`;
    if (row === undefined) return defaultProfile(payeeAccount);
    return {
      payeeAccount, schedule: row.schedule, currency: row.currency, kycStatus: row.kyc_status, taxProfile: row.tax_profile,
      payoutMethod: row.payout_method, stripeAccount: row.stripe_account, onFile: true,
    };
  }

  /** Replaces the profile; every field is checked here so the route can answer which one is wrong. */
  async saveProfile(payeeAccount: string, input: Record<string, unknown>): Promise<PayeeProfile> {
    const current = await this.profile(payeeAccount);
    const profile: PayeeProfile = {
      payeeAccount,
      schedule: pick(input.schedule, current.schedule, isSchedule, 'schedule is daily, weekly or monthly'),
      currency: pick(input.currency, current.currency, (v): v is string => typeof v === 'string' && /^[A-Z]{3}$/.test(v), 'currency is an ISO 4217 code'),
      kycStatus: pick(input.kycStatus, current.kycStatus, (v): v is KycStatus => (kycStatuses as readonly unknown[]).includes(v), `kycStatus is one of ${kycStatuses.join(', ')}`),
      taxProfile: input.taxProfile === undefined ? current.taxProfile
        : pick(input.taxProfile, null, (v): v is string | null => v === null || (typeof v === 'string' && /^[A-Z0-9_]{1,40}$/.test(v)), 'taxProfile is a tax rate code or null'),
      payoutMethod: pick(input.payoutMethod, current.payoutMethod, (v): v is PayoutMethod => (payoutMethods as readonly unknown[]).includes(v), 'payoutMethod is stripe or manual'),
      stripeAccount: input.stripeAccount === undefined ? current.stripeAccount
        : pick(input.stripeAccount, null, (v): v is string | null => v === null || (typeof v === 'string' && /^acct_[A-Za-z0-9]{1,64}$/.test(v)), 'stripeAccount is "acct_..." or null'),
      onFile: true,
    };
    const [currency] = await this.sql`select 1 from payout_rates where currency = ${profile.currency}`;
    if (currency === undefined) throw new DomainError('INVALID_ARGUMENT', `no payout rate for ${profile.currency}`);
    if (profile.taxProfile !== null) {
      const [tax] = await this.sql`select 1 from tax_rates where code = ${profile.taxProfile}`;
      if (tax === undefined) throw new DomainError('INVALID_ARGUMENT', `no tax rate ${profile.taxProfile}`);
    }
    await this.sql`
      insert into payee_profiles (payee_account, schedule, currency, kyc_status, tax_profile, payout_method, stripe_account)
      values (${payeeAccount}, ${profile.schedule}, ${profile.currency}, ${profile.kycStatus}, ${profile.taxProfile}, ${profile.payoutMethod}, ${profile.stripeAccount})
      on conflict (payee_account) do update set schedule = excluded.schedule, currency = excluded.currency, kyc_status = excluded.kyc_status,
        tax_profile = excluded.tax_profile, payout_method = excluded.payout_method, stripe_account = excluded.stripe_account, updated_at = now()`;
    return profile;
  }

  /** The rate, withholding and fees that apply to this payee now. */
  async terms(profile: PayeeProfile): Promise<ResolvedTerms> {
    const [rate] = await this.sql<{ fiat_per_coin: string; minimum_payout: string; stripe_fee_fixed: string; stripe_fee_percent: string; manual_fee_fixed: string }[]>`
      select fiat_per_coin::text, minimum_payout::text, stripe_fee_fixed::text, stripe_fee_percent::text, manual_fee_fixed::text
        from payout_rates where currency = ${profile.currency}`;
    if (rate === undefined) throw new DomainError('CONFLICT', `no payout rate for ${profile.currency}`);
    let withholdingRate = defaultWithholdingRate;
    if (profile.taxProfile !== null) {
      const [tax] = await this.sql<{ rate: string }[]>`select rate::text from tax_rates where code = ${profile.taxProfile}`;
      if (tax === undefined) throw new DomainError('CONFLICT', `no tax rate ${profile.taxProfile}`);
      withholdingRate = tax.rate;
    }
    const stripe = profile.payoutMethod === 'stripe';
    return {
      currency: profile.currency, fiatPerCoin: rate.fiat_per_coin, withholdingRate, taxProfile: profile.taxProfile,
      feeFixed: stripe ? rate.stripe_fee_fixed : rate.manual_fee_fixed, feePercent: stripe ? rate.stripe_fee_percent : '0',
      minimumPayout: rate.minimum_payout,
    };
  }

  async setTaxRate(code: string, rate: string, description: string): Promise<void> {
    await this.sql`
      insert into tax_rates (code, rate, description) values (${code}, ${rate}, ${description})
      on conflict (code) do update set rate = excluded.rate, description = excluded.description, updated_at = now()`;
  }

  async taxRates(): Promise<{ code: string; rate: string; description: string }[]> {
    return this.sql<{ code: string; rate: string; description: string }[]>`select code, rate::text, description from tax_rates order by code`;
  }

  async saveAgency(id: string, name: string): Promise<void> {
    await this.sql`insert into agencies (id, name) values (${id}, ${name}) on conflict (id) do update set name = excluded.name`;
  }

  async agencyExists(id: string): Promise<boolean> {
    const [row] = await this.sql`select 1 from agencies where id = ${id}`;
    return row !== undefined;
  }
}

function pick<T>(value: unknown, fallback: T, valid: (v: unknown) => v is T, message: string): T {
  if (value === undefined) return fallback;
  if (!valid(value)) throw new DomainError('INVALID_ARGUMENT', message);
  return value;
}
