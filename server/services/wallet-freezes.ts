import { DomainError } from '../../domain/errors.js';
import type { Sql, Tx } from '../db/sql.js';
import type { WalletStore } from '../redis/wallet-store.js';
import { debtFreezeReason } from './debt.js';

// A wallet is frozen (gifts answer ACCOUNT_FROZEN; top-ups, refunds and grants still land)
// while an admin's freeze stands, while a chargeback is taking coins back, or while its
// user owes coins after one. Redis holds the one answer the gift script reads; this is the
// only place that computes it.

export interface AdminFreeze {
  reason: string;
  frozenBy: string;
  frozenAt: string;
}

export interface FreezeEvent {
  action: 'freeze' | 'unfreeze';
  reason: string;
  by: string;
  at: string;
}

export interface FreezeStatus {
  userId: string;
  /** What gifts meet now: an admin's freeze or a debt. */
  frozen: boolean;
  adminFreeze: AdminFreeze | null;
  owes: number;
  /** The newest first. */
  history: FreezeEvent[];
}

const adminFreezeReason = (reason: string) => `frozen by an admin: ${reason}`;

/** Every admin freeze, user id to the reason Redis keeps: for a rebuild of Redis, which restores them beside the debts'. */
export async function adminFreezeReasons(sql: Sql): Promise<Map<string, string>> {
  const rows = await sql<{ user_id: string; reason: string }[]>`select user_id, reason from wallet_freezes`;
  return new Map(rows.map((row) => [row.user_id, adminFreezeReason(row.reason)]));
}

/** Any fixed number: the two-key form keeps these locks apart from the one-key ones. */
const freezeLockSpace = 1718773861;

/**
 * Sets the wallet's frozen state in Redis to what its admin freeze, a chargeback under way
 * and its debt say. Runs under a per-user lock: a refresh reads all three and writes Redis
 * before the next one reads, so whichever runs last, after every change, leaves the right answer.
 * Its Redis calls go through the wallet store's timeout: a stalled Redis ends the
 * transaction with UNAVAILABLE instead of holding the lock and a connection.
 */
export async function refreshFreeze(wallets: WalletStore, sql: Sql, userId: string): Promise<boolean> {
  return underFreezeLock(sql, userId, (tx) => freezeAsItStands(wallets, tx, userId));
}

async function freezeAsItStands(wallets: WalletStore, tx: Tx, userId: string): Promise<boolean> {
  const [admin] = await tx<{ reason: string }[]>`select reason from wallet_freezes where user_id = ${userId}`;
  const { owed, chargebackHold } = await wallets.freezeFacts(userId);
  const reason = admin !== undefined ? adminFreezeReason(admin.reason)
    : chargebackHold !== null ? chargebackFreezeReason(chargebackHold)
      : owed > 0 ? debtFreezeReason(owed) : null;
  await wallets.setFrozen(userId, reason);
  return reason !== null;
}

const chargebackFreezeReason = (disputeId: string) => `chargeback ${disputeId} in progress`;
/** A take-back takes milliseconds; a crash between hold and release must not freeze the wallet past this. */
const chargebackHoldMs = 60_000;

/**
 * Freezes the wallet before a chargeback takes its coins back, so no gift spends them
 * meanwhile, whatever an admin lifts in between; until releaseChargebackHold, or a minute.
 */
export async function holdForChargeback(wallets: WalletStore, sql: Sql, userId: string, disputeId: string): Promise<void> {
  await underFreezeLock(sql, userId, async () => {
    await wallets.holdForChargeback(userId, disputeId, chargebackHoldMs, chargebackFreezeReason(disputeId));
    return true; // frozen
  });
}

/**
 * This dispute's take-back is done (or failed): its hold goes (not another dispute's, under
 * way at once), and the wallet is frozen as the rest says.
 */
export async function releaseChargebackHold(wallets: WalletStore, sql: Sql, userId: string, disputeId: string): Promise<boolean> {
  return underFreezeLock(sql, userId, async (tx) => {
    await wallets.releaseChargebackHold(userId, disputeId);
    return freezeAsItStands(wallets, tx, userId);
  });
}

async function underFreezeLock(sql: Sql, userId: string, work: (tx: Tx) => Promise<boolean>): Promise<boolean> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${freezeLockSpace}, hashtext(${userId}))`;
    return work(tx);
  });
}

export class WalletFreezes {
  constructor(private readonly sql: Sql, private readonly wallets: WalletStore) {}

  /** Freezes the wallet (again, with a new reason, if it already was). */
  async freeze(userId: string, reason: string, by: string): Promise<FreezeStatus> {
    await this.sql.begin(async (tx) => {
      await tx`
        insert into wallet_freezes (user_id, reason, frozen_by) values (${userId}, ${reason}, ${by})
        on conflict (user_id) do update set reason = excluded.reason, frozen_by = excluded.frozen_by, frozen_at = now()`;
      await tx`insert into wallet_freeze_events (user_id, action, reason, by_user) values (${userId}, 'freeze', ${reason}, ${by})`;
    });
    await refreshFreeze(this.wallets, this.sql, userId);
    return this.status(userId);
  }

  /** Lifts an admin's freeze; a debt's stays. CONFLICT when no admin froze the wallet. */
  async unfreeze(userId: string, reason: string, by: string): Promise<FreezeStatus> {
    const lifted = await this.sql.begin(async (tx) => {
      const [deleted] = await tx`delete from wallet_freezes where user_id = ${userId} returning user_id`;
      if (deleted === undefined) return false;
      await tx`insert into wallet_freeze_events (user_id, action, reason, by_user) values (${userId}, 'unfreeze', ${reason}, ${by})`;
      return true;
    });
    if (!lifted) throw new DomainError('CONFLICT', `no admin has frozen the wallet of ${userId}`);
    await refreshFreeze(this.wallets, this.sql, userId);
    return this.status(userId);
  }

  async status(userId: string): Promise<FreezeStatus> {
    const [admin] = await this.sql<{ reason: string; frozen_by: string; frozen_at: Date }[]>`
      select reason, frozen_by, frozen_at from wallet_freezes where user_id = ${userId}`;
    const history = await this.sql<{ action: 'freeze' | 'unfreeze'; reason: string; by_user: string; at: Date }[]>`
      select action, reason, by_user, at from wallet_freeze_events where user_id = ${userId} order by id desc limit 50`;
    const [wallet, { owed: owes }] = await Promise.all([this.wallets.wallet(userId), this.wallets.freezeFacts(userId)]);
    return {
      userId, frozen: wallet.frozen,
      adminFreeze: admin === undefined ? null : { reason: admin.reason, frozenBy: admin.frozen_by, frozenAt: admin.frozen_at.toISOString() },
      owes,
      history: history.map((event) => ({ action: event.action, reason: event.reason, by: event.by_user, at: event.at.toISOString() })),
    };
  }
}
