import { bonusCoinsAccount, coinIssuanceAccount, debtAccount, walletAccount } from '../../domain/accounts.js';
import { takeBackPostings, type TakeBack } from '../../domain/clawback.js';
import { DomainError } from '../../domain/errors.js';
import { assertTransition } from '../../domain/order-states.js';
import type { Sql, Tx } from '../db/sql.js';
import type { WalletStore } from '../redis/wallet-store.js';
import type { LiveNotifier } from './notifier.js';
import { creditNotRefunded, lockOrder, transitionOrder, type OrderRow } from './order-records.js';
import { holdForChargeback, releaseChargebackHold } from './wallet-freezes.js';
import { newEntryStamp } from '../db/entry-ids.js';
import { postEntryOnce } from './entries-once.js';

/**
 * Chargebacks: a dispute takes back what its order credited and no refund took back yet, from the wallet as far as it
 * goes and the rest as debt, and the account stays frozen (ACCOUNT_FROZEN on gifts) until
 * the debt is cleared. A won dispute gives it all back.
 */
export class ChargebackService {
  constructor(private readonly sql: Sql, private readonly wallets: WalletStore, private readonly notifier: () => LiveNotifier) {}

  async opened(disputeId: string, paymentIntentId: string): Promise<void> {
    const [ref] = await this.sql<{ id: string; user_id: string; status: string }[]>`select id, user_id, status from orders where payment_intent_id = ${paymentIntentId}`;
    if (ref === undefined || await this.known(disputeId)) return;
    // Before its payment is recorded a dispute cannot be applied: answer so the event is
    // retried (Stripe redelivers), and freeze nothing meanwhile.
    if (ref.status === 'pending_payment' || ref.status === 'canceled' || ref.status === 'expired') {
      throw new DomainError('CONFLICT', `order ${ref.id} has no recorded payment yet; retry later`);
    }
    // Freeze first: no gift may spend the coins while they are being taken back. A take-back
    // that fails sets the freeze back to what the user's debt (and any admin's freeze) says, or it would stay on.
    await holdForChargeback(this.wallets, this.sql, ref.user_id, disputeId);
    await this.clawBack(disputeId, ref.id).catch(async (error: unknown) => {
      await this.settled(ref.user_id, disputeId);
      throw error;
    });
    await this.settled(ref.user_id, disputeId);
  }

  private async clawBack(disputeId: string, orderId: string): Promise<void> {
    await this.sql.begin(async (tx) => {
      const order = await lockOrder(tx, orderId);
      const [again] = await tx`select 1 from order_disputes where id = ${disputeId}`;
      if (again !== undefined) return;
      // Refused before anything moves: the take-back's Redis entry is not undone by a rollback.
      assertTransition(order.status, 'disputed');
      // Coins a refund gave back already are not taken a second time.
      const back = await creditNotRefunded(tx, order);
      const owed = back.coins + back.bonus;
      let takeBack: TakeBack = { postings: [], fromWallet: 0, fromDebt: 0 };
      let entryId: string | null = null;
      if (owed > 0) {
        takeBack = takeBackPostings(order.user_id, back, (await this.wallets.wallet(order.user_id)).balance);
        entryId = (await postEntryOnce(this.wallets, tx, {
          ...newEntryStamp(), kind: 'chargeback', meta: { orderId: order.id, disputeId, userId: order.user_id },
          postings: takeBack.postings, flooredAccounts: new Set([walletAccount(order.user_id)]),
          idempotencyKey: `dispute:${disputeId}`, fingerprint: disputeId,
        })).entryId;
      }
      await tx`insert into order_disputes (id, order_id, clawback_entry_id, wallet_coins, debt_coins, status)
               values (${disputeId}, ${order.id}, ${entryId}, ${takeBack.fromWallet}, ${takeBack.fromDebt}, 'open')`;
      await transitionOrder(tx, order, 'disputed', `chargeback ${disputeId}: ${takeBack.fromWallet} coins from the wallet, ${takeBack.fromDebt} as debt`);
    });
  }

  async closed(disputeId: string, outcome: 'won' | 'lost', paymentIntentId: string): Promise<void> {
    // Stripe does not promise order: a close before its opening opens it first, so a lost
    // dispute takes the coins back and a won one gives back what it took; the opening,
    // when it comes, finds the dispute known and changes nothing.
    if (!await this.known(disputeId)) await this.opened(disputeId, paymentIntentId);
    const [dispute] = await this.sql<{ order_id: string; wallet_coins: bigint; debt_coins: bigint; status: string }[]>`
      select order_id, wallet_coins, debt_coins, status from order_disputes where id = ${disputeId}`;
    if (dispute === undefined || dispute.status !== 'open') return;
    const userId = await this.sql.begin(async (tx) => {
      const order = await lockOrder(tx, dispute.order_id);
      // Split back as it was taken: the pack coins the dispute took, then the bonus.
      if (outcome === 'won') await this.restore(tx, order, disputeId, dispute, (await creditNotRefunded(tx, order)).coins);
      await tx`update order_disputes set status = ${outcome}, closed_at = now() where id = ${disputeId}`;
      await transitionOrder(tx, order, outcome === 'won' ? 'dispute_won' : 'dispute_lost', `chargeback ${disputeId} ${outcome}`);
      return order.user_id;
    });
    await this.settled(userId, disputeId);
  }

  /** The reverse of the claw-back; debt already repaid by a later top-up goes to the wallet instead. */
  private async restore(tx: Tx, order: OrderRow, disputeId: string, dispute: { wallet_coins: bigint; debt_coins: bigint }, packCoinsTaken: number): Promise<void> {
    const userId = order.user_id;
    const owedNow = await this.wallets.debtOwed(userId);
    const toDebt = Math.min(Number(dispute.debt_coins), owedNow);
    const total = Number(dispute.wallet_coins + dispute.debt_coins);
    await postEntryOnce(this.wallets, tx, {
      ...newEntryStamp(), kind: 'chargeback-reversal', meta: { orderId: order.id, disputeId, userId },
      postings: [
        { accountId: walletAccount(userId), amount: total - toDebt },
        { accountId: debtAccount(userId), amount: toDebt },
        { accountId: coinIssuanceAccount, amount: -Math.min(packCoinsTaken, total) },
        { accountId: bonusCoinsAccount, amount: -(total - Math.min(packCoinsTaken, total)) },
      ].filter((posting) => posting.amount !== 0),
      flooredAccounts: new Set(), idempotencyKey: `dispute-won:${disputeId}`, fingerprint: disputeId,
    });
  }

  private async settled(userId: string, disputeId: string): Promise<void> {
    await releaseChargebackHold(this.wallets, this.sql, userId, disputeId);
    const state = await this.wallets.wallet(userId);
    this.notifier().walletChanged(userId, { balance: state.balance, frozen: state.frozen, reason: 'chargeback' });
  }

  private async known(disputeId: string): Promise<boolean> {
    const [row] = await this.sql`select 1 from order_disputes where id = ${disputeId}`;
    return row !== undefined;
  }
}
