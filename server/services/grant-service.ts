import { promotionalGrantsAccount, walletAccount } from '../../domain/accounts.js';
import type { WalletStore } from '../redis/wallet-store.js';
import { newEntryStamp } from '../db/entry-ids.js';

export interface Grant {
  userId: string;
  coins: number;
  reason: string;
  grantedBy: string;
  idempotencyKey?: string;
}

export interface GrantReceipt {
  entryId: string;
  userId: string;
  coins: number;
  balance: number;
  replay: boolean;
}

/** Promotional coins: one journal entry from the grants system account into the wallet. */
export async function grantCoins(wallets: WalletStore, grant: Grant): Promise<GrantReceipt> {
  const wallet = walletAccount(grant.userId);
  const receipt = await wallets.postEntry({
    ...newEntryStamp(),
    kind: 'grant',
    meta: { reason: grant.reason, grantedBy: grant.grantedBy, userId: grant.userId },
    postings: [{ accountId: promotionalGrantsAccount, amount: -grant.coins }, { accountId: wallet, amount: grant.coins }],
    flooredAccounts: new Set([wallet]),
    ...(grant.idempotencyKey === undefined ? {} : {
      idempotencyKey: `grant:${grant.grantedBy}:${grant.idempotencyKey}`,
      fingerprint: `${grant.userId}|${grant.coins}|${grant.reason}`,
    }),
  });
  return { entryId: receipt.entryId, userId: grant.userId, coins: grant.coins, balance: receipt.balances[1] ?? 0, replay: receipt.replay };
}
