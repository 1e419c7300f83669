// Ledger account identifiers. A viewer's wallet and a streamer's earnings are separate
// accounts: earnings are settled to fiat, wallet coins are spent on gifts.

export type AccountKind = 'wallet' | 'earnings' | 'platform' | 'system';

export const platformRevenueAccount = 'platform:revenue';
export const promotionalGrantsAccount = 'system:grants';
export const coinIssuanceAccount = 'system:issuance';

export function walletAccount(userId: string): string {
  return `wallet:${userId}`;
}

export function earningsAccount(streamerId: string): string {
  return `earnings:${streamerId}`;
}

export function accountKind(accountId: string): AccountKind {
  const prefix = accountId.slice(0, accountId.indexOf(':'));
  if (prefix === 'wallet' || prefix === 'earnings' || prefix === 'platform' || prefix === 'system') {
    return prefix;
  }
  throw new Error(`unknown account kind in ${accountId}`);
}

export function accountOwner(accountId: string): string | null {
  const kind = accountKind(accountId);
  return kind === 'wallet' || kind === 'earnings' ? accountId.slice(kind.length + 1) : null;
}

/** Accounts that hold a user's own coins may never go below zero. */
export function mustStayNonNegative(accountId: string): boolean {
  const kind = accountKind(accountId);
  return kind === 'wallet' || kind === 'earnings' || kind === 'platform';
}
