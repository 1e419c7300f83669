import { bonusCoinsAccount, coinIssuanceAccount, debtAccount, walletAccount } from './accounts.js';
import { invariant } from './errors.js';
import type { Posting } from './ledger.js';

export interface CoinsBack {
  /** Pack coins, returned to coin issuance. */
  coins: number;
  /** Bonus coins, returned to the bonus account. */
  bonus: number;
}

export interface TakeBack {
  postings: Posting[];
  fromWallet: number;
  fromDebt: number;
}

/**
 * Coins taken back from a user (a refund, a chargeback): from the wallet as far as
 * `walletCovers`, the rest as debt (the receivable `debt:<user>` goes negative), all of it
 * returned to where it was issued from. Zero legs are left out; the legs sum to zero.
 */
export function takeBackPostings(userId: string, back: CoinsBack, walletCovers: number): TakeBack {
  const total = back.coins + back.bonus;
  invariant(Number.isSafeInteger(total) && back.coins >= 0 && back.bonus >= 0 && total > 0, `bad take-back ${back.coins}+${back.bonus}`);
  const fromWallet = Math.min(Math.max(walletCovers, 0), total);
  const fromDebt = total - fromWallet;
  const postings = [
    { accountId: walletAccount(userId), amount: -fromWallet },
    { accountId: debtAccount(userId), amount: -fromDebt },
    { accountId: coinIssuanceAccount, amount: back.coins },
    { accountId: bonusCoinsAccount, amount: back.bonus },
  ].filter((posting) => posting.amount !== 0);
  return { postings, fromWallet, fromDebt };
}
