// Ledger account identifiers. A viewer's wallet and a streamer's earnings are separate
// accounts: earnings are settled to fiat, wallet coins are spent on gifts.

export type AccountKind = 'wallet' | 'earnings' | 'platform' | 'system' | 'debt';

export const platformRevenueAccount = 'platform:revenue';
export const promotionalGrantsAccount = 'system:grants';
export const coinIssuanceAccount = 'system:issuance';
/** Bonus coins of top-ups are issued from here, on their own leg. */
export const bonusCoinsAccount = 'system:bonus';

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

export function accountKind(accountId: string): AccountKind {
  const prefix = accountId.slice(0, accountId.indexOf(':'));
  if (prefix === 'wallet' || prefix === 'earnings' || prefix === 'platform' || prefix === 'system' || prefix === 'debt') {
    return prefix;
  }
  throw new Error(`unknown account kind in ${accountId}`);
}

export function accountOwner(accountId: string): string | null {
  const kind = accountKind(accountId);
  return kind === 'wallet' || kind === 'earnings' || kind === 'debt' ? accountId.slice(kind.length + 1) : null;
}

/** Accounts that hold a user's own coins may never go below zero. */
export function mustStayNonNegative(accountId: string): boolean {
  const kind = accountKind(accountId);
  return kind === 'wallet' || kind === 'earnings' || kind === 'platform';
}
