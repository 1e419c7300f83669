import type { Redis } from 'ioredis';
import { DomainError, InvariantViolation, isErrorCode } from '../../domain/errors.js';
import { earningsMonth, encodeTiers, type TieredPayee } from '../../domain/split-contracts.js';
import { assertBalanced, type Posting } from '../../domain/ledger.js';
import { limits } from '../../domain/limits.js';
import { debtAccount, walletAccount } from '../../domain/accounts.js';
import { walletKeys, type WalletKeys } from './keys.js';
import { isStorableText } from '../../domain/text.js';
import { within } from '../within.js';

export interface GiftCharge {
  entryId: string;
  senderId: string;
  streamerId: string;
  roomId: string;
  giftId: string;
  count: number;
  requestId: string;
  priceCoins: number;
  fingerprint: string;
  platformAccount: string;
  /** Payee 0 is the creator. */
  payees: readonly TieredPayee[];
  nowMs: number;
  /** The sender's gift rate, counted in Redis across every gateway node. */
  rate: GiftRate;
}

export interface GiftRate {
  perSec: number;
  burst: number;
}

export interface GiftReceipt {
  giftEventId: string;
  charged: number;
  balance: number;
  combo: number;
  atMs: number;
  replay: boolean;
  /** Present only on the first, charging call. */
  credit?: GiftCredit;
}

export interface GiftCredit {
  /** The creator's lifetime gift earnings. */
  earnedTotal: number;
  /** The creator's unsettled earnings balance. */
  balance: number;
  /** The creator's gift earnings this calendar month (UTC). */
  month: number;
  /** The creator's gift earnings in this room. */
  room: number;
  platformCoins: number;
  payeeCoins: number[];
}

export interface EntryRequest {
  entryId: string;
  kind: string;
  nowMs: number;
  meta: Record<string, unknown>;
  postings: Posting[];
  /** Accounts that may not go below zero through this entry. */
  flooredAccounts: ReadonlySet<string>;
  idempotencyKey?: string;
  fingerprint?: string;
}

export interface EntryReceipt {
  entryId: string;
  balances: number[];
  replay: boolean;
}

export interface WalletState {
  balance: number;
  frozen: boolean;
}

/** The refusal of a requestId (or key) sent again for another request, wherever the kept answer is read. */
export const requestIdReused = 'this requestId was already used for a different request';

/** A gift's answer as the gift script returns it, and as it keeps it for replays: entry id, charged, balance, combo, at. */
function giftReceipt([giftEventId, charged, balance, combo, atMs]: readonly unknown[], replay: boolean): GiftReceipt {
  return { giftEventId: String(giftEventId), charged: Number(charged), balance: Number(balance), combo: Number(combo), atMs: Number(atMs), replay };
}

/** The coins owed on a debt account's balance, which goes below zero as the user owes. */
function owedOf(debtBalance: unknown): number {
  return -Math.min(0, Number(debtBalance ?? 0));
}

/** What a wallet-store call did, for its latency metric. */
export const storeOperations = ['gift', 'gift_replay', 'entry', 'wallet', 'freeze'] as const;
export type StoreOperation = typeof storeOperations[number];

/** Told how long each call took, answered or not (a timeout is told at the timeout). */
export type StoreCallObserver = (operation: StoreOperation, seconds: number) => void;

export class WalletStore {
  readonly keys: WalletKeys;

  constructor(readonly redis: Redis, namespace: string, private readonly journalLengthMax: number = limits.journalLengthMax,
    private readonly timeoutMs: number = limits.storageTimeoutMs, private readonly observe: StoreCallObserver = () => {}) {
    this.keys = walletKeys(namespace);
  }

  async chargeGift(charge: GiftCharge): Promise<GiftReceipt> {
    const k = this.keys;
    const meta = JSON.stringify({
      roomId: charge.roomId, giftId: charge.giftId, count: charge.count,
      senderId: charge.senderId, streamerId: charge.streamerId, requestId: charge.requestId,
    });
    const payeeArgs = charge.payees.flatMap((p) => [p.accountId, encodeTiers(p.tiers), p.carryKey]);
    const reply = await this.call('gift', () => this.redis.giftV4(
      k.balances, k.frozen, k.carries, k.earned, k.giftIdempotency(charge.senderId, charge.requestId),
      k.combo(charge.roomId, charge.senderId), k.journal, k.monthEarned, k.roomBoard(charge.roomId), k.roomTotals(charge.roomId),
      k.giftRate(charge.senderId),
      walletAccount(charge.senderId), charge.senderId, charge.priceCoins, charge.fingerprint, charge.entryId,
      charge.nowMs, limits.idempotencyWindowSec, limits.comboWindowMs, limits.comboMax, charge.giftId,
      this.journalLengthMax, meta, charge.platformAccount, charge.streamerId,
      `${charge.streamerId}|${earningsMonth(charge.nowMs)}`, charge.payees.length, charge.rate.perSec, charge.rate.burst, ...payeeArgs,
    ));
    const [status, ...fields] = reply;
    const receipt = giftReceipt(fields, status === 'REPLAY');
    if (status === 'OK') {
      const [earnedTotal = 0, platformCoins = 0, balance = 0, month = 0, room = 0, ...payeeCoins] = fields.slice(5).map(Number);
      receipt.credit = { earnedTotal, balance, month, room, platformCoins, payeeCoins };
      if (receipt.balance < 0) throw new InvariantViolation(`balance of ${charge.senderId} read back below zero`);
    }
    return receipt;
  }

  /**
   * The first answer kept for the sender's requestId, as a replay, without charging or
   * checking anything else (null when there is none): for a retry that arrives when a new
   * gift would be refused. The same requestId for another gift is INVALID_ARGUMENT, as in the script.
   */
  async giftReplay(senderId: string, requestId: string, fingerprint: string): Promise<GiftReceipt | null> {
    const stored = await this.call('gift_replay', () => this.redis.get(this.keys.giftIdempotency(senderId, requestId)));
    if (stored === null) return null;
    const newline = stored.indexOf('\n');
    if (stored.slice(0, newline) !== fingerprint) throw new DomainError('INVALID_ARGUMENT', requestIdReused);
    return giftReceipt(stored.slice(newline + 1).split('|'), true);
  }

  async postEntry(request: EntryRequest): Promise<EntryReceipt> {
    assertBalanced({ id: request.entryId, postings: request.postings });
    const k = this.keys;
    const idempotent = request.idempotencyKey !== undefined;
    const postingArgs = request.postings.flatMap((p) => [p.accountId, p.amount, request.flooredAccounts.has(p.accountId) ? '0' : '-']);
    // PostgreSQL's jsonb refuses U+0000 and half a surrogate pair: such an entry could never
    // be flushed, and would stop the ledger behind it. Every edge refuses them; this is the last line.
    const meta = JSON.stringify(idempotent ? { ...request.meta, idempotencyKey: request.idempotencyKey } : request.meta, (key, value: unknown) => {
      if (!isStorableText(key) || (typeof value === 'string' && !isStorableText(value))) {
        throw new InvariantViolation(`entry ${request.entryId}: its meta holds text the ledger cannot store (U+0000 or half a surrogate pair)`);
      }
      return value;
    });
    const reply = await this.call('entry', () => this.redis.postEntryV3(
      k.balances, idempotent ? k.operationIdempotency(request.idempotencyKey ?? '') : k.noIdempotency, k.journal,
      request.entryId, request.kind, request.nowMs, meta,
      idempotent ? limits.idempotencyWindowSec : 0, request.fingerprint ?? '', this.journalLengthMax,
      request.postings.length, limits.idempotentPostingLagMaxMs, ...postingArgs,
    ));
    const [status, entryId, ...balances] = reply;
    return { entryId: String(entryId), balances: balances.map(Number), replay: status === 'REPLAY' };
  }

  async wallet(userId: string): Promise<WalletState> {
    const [balance, frozen] = await this.call('wallet', async () => {
      // A pipeline, not MULTI: Redis refuses to queue a transaction while it is out of
      // memory, and a wallet should still read then. The two are independent facts.
      const results = await this.redis.pipeline()
        .hget(this.keys.balances, walletAccount(userId))
        .hexists(this.keys.frozen, userId)
        .exec();
      if (results === null) throw new Error('pipeline not sent');
      return results.map(([error, value]) => { if (error) throw error; return value; });
    });
    return { balance: Number(balance ?? 0), frozen: Number(frozen) === 1 };
  }

  async setFrozen(userId: string, reason: string | null): Promise<void> {
    await this.call('freeze', () => reason === null
      ? this.redis.hdel(this.keys.frozen, userId)
      : this.redis.hset(this.keys.frozen, userId, reason));
  }

  /** What Redis knows of why a wallet may be frozen: the coins its user owes, and the dispute whose take-back holds it. */
  async freezeFacts(userId: string): Promise<{ owed: number; chargebackHold: string | null }> {
    const [debt, hold] = await this.call('freeze', async () => {
      const results = await this.redis.pipeline().hget(this.keys.balances, debtAccount(userId)).get(this.keys.chargebackHold(userId)).exec();
      if (results === null) throw new Error('pipeline not sent');
      return results.map(([error, value]) => { if (error) throw error; return value; });
    });
    return { owed: owedOf(debt), chargebackHold: hold === null || hold === undefined ? null : String(hold) };
  }

  /** Coins the user owes after a chargeback took more than the wallet held (0 when none). */
  async debtOwed(userId: string): Promise<number> {
    return owedOf(await this.call('wallet', () => this.redis.hget(this.keys.balances, debtAccount(userId))));
  }

  /** Freezes the wallet for a dispute's take-back, with a hold that lapses after `holdMs` should nothing release it. */
  async holdForChargeback(userId: string, disputeId: string, holdMs: number, reason: string): Promise<void> {
    await this.call('freeze', () => this.redis.multi()
      .set(this.keys.chargebackHold(userId), disputeId, 'PX', holdMs)
      .hset(this.keys.frozen, userId, reason)
      .exec());
  }

  /** Ends this dispute's hold, not another's (the caller serialises holds and releases of one user). */
  async releaseChargebackHold(userId: string, disputeId: string): Promise<void> {
    await this.call('freeze', async () => {
      if (await this.redis.get(this.keys.chargebackHold(userId)) === disputeId) await this.redis.del(this.keys.chargebackHold(userId));
    });
  }

  /**
   * Maps script replies and storage failures to domain errors, once, for every script. A
   * Redis that does not answer within the timeout is UNAVAILABLE too: the command may still
   * run when Redis resumes, which is why the answer asks for a retry with the same requestId.
   */
  private async call<T>(operation: StoreOperation, run: () => Promise<T>): Promise<T> {
    let reply: T;
    const startedAt = performance.now();
    try {
      reply = await within(run(), this.timeoutMs, () => new Error(`Redis did not answer within ${this.timeoutMs} ms`));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message.includes('ASSERT')) throw new InvariantViolation(message);
      throw new DomainError('UNAVAILABLE', 'the wallet store did not answer; retry with the same requestId');
    } finally {
      this.observe(operation, (performance.now() - startedAt) / 1000);
    }
    if (Array.isArray(reply) && reply[0] === 'ERR') {
      const code = reply[1];
      if (!isErrorCode(code)) throw new InvariantViolation(`script answered unknown code ${String(code)}`);
      throw new DomainError(code, code === 'INVALID_ARGUMENT' ? requestIdReused : undefined);
    }
    return reply;
  }
}
