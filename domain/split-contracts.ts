import { agencyAccount, earningsAccount } from './accounts.js';
import { bpsScale, splitWithCarry, type PayeeShare, type SplitResult } from './commission.js';
import { DomainError, invariant } from './errors.js';

// Who shares a gift, by contract. A contract names the creator's share in basis points,
// tiered by what the creator has earned from gifts in the calendar month (UTC) before
// this gift, and optionally an agency (guild) that signed the streamer and takes its own
// share of every gift. The platform is the residual: what the others do not take.
//
// Carries are kept per (payee, rule): the creator's share carries on "<account>|creator",
// an agency's on "<agency account>|agency:<streamer>", so a contract that changes tiers
// or rates keeps every fraction already owed.

export interface ShareTier {
  /** This tier applies once the creator's month earnings reach this many coins. */
  fromMonthCoins: number;
  bps: number;
}

export interface AgencyShare {
  agencyId: string;
  bps: number;
}

export interface SplitContract {
  creatorTiers: readonly ShareTier[];
  agency: AgencyShare | null;
}

/** A payee whose share depends on the month's earnings; the script picks the tier. */
export interface TieredPayee {
  accountId: string;
  carryKey: string;
  tiers: readonly ShareTier[];
}

/** The default contract from CONTRACT.md: creator 70 %, platform 30 %. */
export const defaultContract: SplitContract = { creatorTiers: [{ fromMonthCoins: 0, bps: 7_000 }], agency: null };

const tiersMax = 10;

export function isAgencyId(value: string): boolean {
  return /^[A-Za-z0-9_-]{1,64}$/.test(value);
}

/** Refuses a contract that could pay out more than a gift, or whose tiers are ambiguous. */
export function validateContract(contract: SplitContract): void {
  const refuse = (message: string): never => { throw new DomainError('INVALID_ARGUMENT', message); };
  const tiers = contract.creatorTiers;
  if (tiers.length < 1 || tiers.length > tiersMax) refuse(`a contract has 1 to ${tiersMax} creator tiers`);
  tiers.forEach((tier, index) => {
    if (!Number.isSafeInteger(tier.fromMonthCoins) || tier.fromMonthCoins < 0) refuse('a tier starts at a whole number of coins');
    if (!Number.isInteger(tier.bps) || tier.bps < 0 || tier.bps > bpsScale) refuse(`a share is 0 to ${bpsScale} basis points`);
    if (index === 0 && tier.fromMonthCoins !== 0) refuse('the first tier starts at 0 coins');
    const previous = tiers[index - 1];
    if (previous !== undefined && tier.fromMonthCoins <= previous.fromMonthCoins) refuse('tiers are in increasing order of their thresholds');
  });
  const agencyBps = contract.agency?.bps ?? 0;
  if (contract.agency !== null) {
    if (!isAgencyId(contract.agency.agencyId)) refuse('an agency id is 1 to 64 characters of [A-Za-z0-9_-]');
    if (!Number.isInteger(agencyBps) || agencyBps < 1 || agencyBps > bpsScale) refuse(`an agency share is 1 to ${bpsScale} basis points`);
  }
  const creatorMax = Math.max(...tiers.map((tier) => tier.bps));
  if (creatorMax + agencyBps > bpsScale) refuse(`creator and agency shares exceed ${bpsScale} basis points in some tier`);
}

export function creatorCarryKey(streamerId: string): string {
  return `${earningsAccount(streamerId)}|creator`;
}

/** The payees of a gift to this streamer under this contract: the creator first, then the agency. */
export function payeesOf(streamerId: string, contract: SplitContract): TieredPayee[] {
  const payees: TieredPayee[] = [{ accountId: earningsAccount(streamerId), carryKey: creatorCarryKey(streamerId), tiers: contract.creatorTiers }];
  if (contract.agency !== null) {
    const agency = agencyAccount(contract.agency.agencyId);
    payees.push({ accountId: agency, carryKey: `${agency}|agency:${streamerId}`, tiers: [{ fromMonthCoins: 0, bps: contract.agency.bps }] });
  }
  return payees;
}

/** The share of the highest tier the month's earnings have reached. */
export function bpsAt(tiers: readonly ShareTier[], monthCoins: number): number {
  let bps: number | undefined;
  for (const tier of tiers) if (monthCoins >= tier.fromMonthCoins) bps = tier.bps;
  invariant(bps !== undefined, `no tier applies at ${monthCoins} coins`);
  return bps;
}

export function resolveShares(payees: readonly TieredPayee[], monthCoins: number): PayeeShare[] {
  return payees.map((payee) => ({ accountId: payee.accountId, carryKey: payee.carryKey, bps: bpsAt(payee.tiers, monthCoins) }));
}

/**
 * One gift's legs: the tier picked by the creator's month earnings before this gift, then
 * the fair split with carries. server/redis/scripts/gift-9.lua runs this same rule.
 */
export function splitGift(priceCoins: number, payees: readonly TieredPayee[], carries: readonly number[], monthCoins: number): SplitResult {
  return splitWithCarry(priceCoins, resolveShares(payees, monthCoins), carries);
}

/** The wire form of tiers for the gift script: "from:bps,from:bps". */
export function encodeTiers(tiers: readonly ShareTier[]): string {
  return tiers.map((tier) => `${tier.fromMonthCoins}:${tier.bps}`).join(',');
}

/** The calendar month (UTC) whose earnings pick the tier: "2026-11". */
export function earningsMonth(atMs: number): string {
  return new Date(atMs).toISOString().slice(0, 7);
}

/**
 * The oldest month whose earnings still pick a tier: the one before `atMs`'s, since a gift
 * charged just before midnight on a month's last day may reach the store just after it.
 */
export function oldestLiveEarningsMonth(atMs: number): string {
  const at = new Date(atMs);
  return earningsMonth(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() - 1, 1));
}
