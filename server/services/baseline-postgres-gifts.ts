import { earningsAccount, platformRevenueAccount, walletAccount } from '../../domain/accounts.js';
import { defaultContract, payeesOf, splitGift } from '../../domain/split-contracts.js';
import { DomainError, InvariantViolation } from '../../domain/errors.js';
import { chargeFor, giftFingerprint } from '../../domain/gifts.js';
import type { Sql, Tx } from '../db/sql.js';
import { requestIdReused, type GiftReceipt } from '../redis/wallet-store.js';
import type { GiftCatalog } from './catalog.js';
import type { GiftRequest, GiftSender, SendGift } from './gift-service.js';
import { newEntryId } from '../db/entry-ids.js';

/**
 * The design a team would otherwise build, for the benchmarks only (GIFT_BACKEND=
 * postgres-baseline): the same checks and split, in one PostgreSQL transaction per gift
 * with row locks on the sender's wallet and the streamer's earnings. Combo is not counted.
 */
export class PostgresBaselineGifts implements GiftSender {
  constructor(private readonly catalog: GiftCatalog, private readonly sql: Sql) {}

  async send(request: SendGift): Promise<GiftReceipt> {
    const gift = this.catalog.get(request.giftId);
    if (gift === undefined) throw new DomainError('UNKNOWN_GIFT');
    if (request.senderId === request.streamerId) throw new DomainError('FORBIDDEN');
    const price = chargeFor(gift, request.count);
    const fingerprint = giftFingerprint(request.roomId, gift.id, request.count);
    return this.sql.begin(async (tx) => {
      const claimed = await tx`
        insert into baseline_idempotency (sender_id, request_id, fingerprint) values (${request.senderId}, ${request.requestId}, ${fingerprint})
        on conflict do nothing returning 1`;
      if (claimed.length === 0) {
        const replay = await this.replay(tx, request.senderId, request, fingerprint);
        if (replay === null) throw new InvariantViolation('a claimed requestId has no row');
        return replay;
      }
      const sender = walletAccount(request.senderId);
      const [wallet] = await tx<{ balance: bigint }[]>`select balance from baseline_wallets where account_id = ${sender} for update`;
      if (wallet === undefined || wallet.balance < BigInt(price)) throw new DomainError('INSUFFICIENT_FUNDS');
      const creator = earningsAccount(request.streamerId);
      await tx`insert into baseline_wallets (account_id, balance) values (${creator}, 0) on conflict do nothing`;
      const [earnings] = await tx<{ carry: bigint }[]>`select carry from baseline_wallets where account_id = ${creator} for update`;
      // The baseline keeps the default contract and no tiers: it measures the storage design, not the rules.
      const split = splitGift(price, payeesOf(request.streamerId, defaultContract), [Number(earnings?.carry ?? 0n)], 0);
      const creatorCoins = split.payeeCoins[0] ?? 0;
      const [after] = await tx<{ balance: bigint }[]>`
        update baseline_wallets set balance = balance - ${price} where account_id = ${sender} returning balance`;
      await tx`update baseline_wallets set balance = balance + ${creatorCoins}, carry = ${split.carries[0] ?? 0} where account_id = ${creator}`;
      const entryId = newEntryId();
      const legs = [[sender, -price], [creator, creatorCoins], [platformRevenueAccount, split.platformCoins]].filter(([, amount]) => amount !== 0);
      await tx`insert into baseline_postings (entry_id, account_id, amount)
               select ${entryId}::uuid, a, b from unnest(${tx.array(legs.map((l) => String(l[0])))}::text[], ${tx.array(legs.map((l) => String(l[1])))}::bigint[]) as t(a, b)`;
      const receipt: GiftReceipt = { giftEventId: entryId, charged: price, balance: Number(after?.balance ?? 0n), combo: 1, atMs: Date.now(), replay: false,
        // The baseline measures the charge itself; it keeps no live earnings figures.
        credit: { earnedTotal: 0, balance: 0, month: 0, room: 0, platformCoins: split.platformCoins, payeeCoins: [creatorCoins] } };
      await tx`update baseline_idempotency set result = ${JSON.stringify(receipt)} where sender_id = ${request.senderId} and request_id = ${request.requestId}`;
      return receipt;
    });
  }

  async replayOf(senderId: string, request: GiftRequest): Promise<GiftReceipt | null> {
    return this.replay(this.sql, senderId, request, giftFingerprint(request.roomId, request.giftId, request.count));
  }

  private async replay(sql: Sql | Tx, senderId: string, request: GiftRequest, fingerprint: string): Promise<GiftReceipt | null> {
    const [stored] = await sql<{ fingerprint: string; result: string | null }[]>`
      select fingerprint, result from baseline_idempotency where sender_id = ${senderId} and request_id = ${request.requestId}`;
    if (stored === undefined) return null;
    if (stored.fingerprint !== fingerprint || stored.result === null) throw new DomainError('INVALID_ARGUMENT', requestIdReused);
    return { ...JSON.parse(stored.result) as GiftReceipt, replay: true, credit: undefined };
  }
}
