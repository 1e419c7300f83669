import type { Sql, Tx } from '../db/sql.js';
import type { EntryReceipt, EntryRequest, WalletStore } from '../redis/wallet-store.js';

/**
 * Posts an idempotent entry once for as long as the ledger lasts, not only for the 24 hours
 * Redis remembers its key: a payout resumed after a day-long provider outage, or a node
 * down over a weekend between posting and recording it, must not move the coins again.
 * The flushed ledger is asked first (the key travels in the entry's meta); within the
 * window an entry not yet flushed is caught by the Redis record as before.
 *
 * Inside a transaction, pass its handle: a query on the pool from inside a transaction
 * waits for a second connection, and when every pooled connection is a transaction
 * queued on the same row lock, the one holding the lock waits for ever (ten concurrent
 * payments of one order hung the server's every PostgreSQL query).
 */
export async function postEntryOnce(wallets: WalletStore, db: Sql | Tx, request: EntryRequest & { idempotencyKey: string }): Promise<EntryReceipt> {
  const [posted] = await db<{ id: string }[]>`
    select id::text from journal_entries
     where meta ? 'idempotencyKey' and meta ->> 'idempotencyKey' = ${request.idempotencyKey}
     limit 1`;
  if (posted !== undefined) return { entryId: posted.id, balances: [], replay: true };
  return wallets.postEntry(request);
}
