// Ledger account identifiers. A viewer's wallet and a streamer's earnings are separate
// accounts: earnings are settled to fiat, wallet coins are spent on gifts.

export type AccountKind = 'wallet' | 'earnings' | 'platform' | 'system' | 'debt' | 'agency' | 'settling';

export const platformRevenueAccount = 'platform:revenue';
export const promotionalGrantsAccount = 'system:grants';
export const coinIssuanceAccount = 'system:issuance';
/** Bonus coins of top-ups are issued from here, on their own leg. */
export const bonusCoinsAccount = 'system:bonus';
/** Coins redeemed for fiat: a payout that went out moves them here from settling. */
export const payoutsAccount = 'system:payouts';

export function walletAccount(userId: string): string {
  return `wallet:${userId}`;
}

/** A receivable: negative by the coins a user owes after a chargeback took more than the wallet held. */
export function debtAccount(userId: string): string {
  return `debt:${userId}`;
}

export function earningsAccount(streamerId: string): string {
  return `earnings:${streamerId}`;
}

/** An agency (guild) that signs streamers earns its cut of their gifts here. */
export function agencyAccount(agencyId: string): string {
  return `agency:${agencyId}`;
}

/**
 * A payee's coins between a settlement run and the payout: the run moves the period's
 * earnings here, a sent payout moves them on to system:payouts, a failed one back.
 */
export function settlingAccount(payeeAccountId: string): string {
  return `settling:${payeeAccountId}`;
}

/** Accounts that are paid out in fiat: a streamer's earnings and an agency's cut. */
export function isPayeeAccount(accountId: string): boolean {
  const kind = accountKind(accountId);
  return kind === 'earnings' || kind === 'agency';
}

const accountKinds: readonly AccountKind[] = ['wallet', 'earnings', 'platform', 'system', 'debt', 'agency', 'settling'];

export function accountKind(accountId: string): AccountKind {
  const prefix = accountId.slice(0, accountId.indexOf(':'));
  const kind = accountKinds.find((candidate) => candidate === prefix);
  if (kind === undefined) throw new Error(`unknown account kind in ${accountId}`);
  return kind;
}

export function accountOwner(accountId: string): string | null {
  const kind = accountKind(accountId);
  if (kind === 'settling') return accountOwner(accountId.slice(kind.length + 1));
  return kind === 'wallet' || kind === 'earnings' || kind === 'debt' || kind === 'agency' ? accountId.slice(kind.length + 1) : null;
}

/** Accounts that hold someone's own coins may never go below zero. */
export function mustStayNonNegative(accountId: string): boolean {
  const kind = accountKind(accountId);
  return kind === 'wallet' || kind === 'earnings' || kind === 'platform' || kind === 'agency' || kind === 'settling';
}
