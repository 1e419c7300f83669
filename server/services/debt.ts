import { debtAccount } from '../../domain/accounts.js';
import type { WalletStore } from '../redis/wallet-store.js';

/** Coins a user owes after a chargeback took more than the wallet held (0 when none). */
export async function debtOwed(wallets: WalletStore, userId: string): Promise<number> {
  return -Math.min(0, Number(await wallets.redis.hget(wallets.keys.balances, debtAccount(userId)) ?? 0));
}

/** An account is frozen exactly while its user owes coins. */
export async function refreshDebtFreeze(wallets: WalletStore, userId: string): Promise<boolean> {
  const owed = await debtOwed(wallets, userId);
  await wallets.setFrozen(userId, owed > 0 ? `owes ${owed} coins after a chargeback` : null);
  return owed > 0;
}
