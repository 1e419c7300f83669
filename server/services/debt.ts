import { debtAccount } from '../../domain/accounts.js';
import type { WalletStore } from '../redis/wallet-store.js';

/** Coins a user owes after a chargeback took more than the wallet held (0 when none). */
export async function debtOwed(wallets: WalletStore, userId: string): Promise<number> {
  return -Math.min(0, Number(await wallets.redis.hget(wallets.keys.balances, debtAccount(userId)) ?? 0));
}

/** Why a wallet that owes coins is frozen (see wallet-freezes.ts). */
export function debtFreezeReason(owed: number | bigint): string {
  return `owes ${owed} coins after a chargeback`;
}
