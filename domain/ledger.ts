import { invariant } from './errors.js';

export interface Posting {
  accountId: string;
  amount: number;
}

export interface JournalEntry {
  id: string;
  kind: string;
  atMs: number;
  postings: Posting[];
  meta: Record<string, unknown>;
}

/** A journal entry is valid only if it has two or more nonzero integer postings summing to zero. */
export function assertBalanced(entry: Pick<JournalEntry, 'id' | 'postings'>): void {
  invariant(entry.postings.length >= 2, `entry ${entry.id} has fewer than two postings`);
  let sum = 0n;
  const seen = new Set<string>();
  for (const posting of entry.postings) {
    invariant(Number.isSafeInteger(posting.amount) && posting.amount !== 0,
      `entry ${entry.id} has a bad amount ${posting.amount} on ${posting.accountId}`);
    invariant(!seen.has(posting.accountId), `entry ${entry.id} posts twice to ${posting.accountId}`);
    seen.add(posting.accountId);
    sum += BigInt(posting.amount);
  }
  invariant(sum === 0n, `entry ${entry.id} does not balance (sum ${sum})`);
}

/** The wire form of postings inside a journal stream record: `account=amount;...`. */
export function encodePostings(postings: Posting[]): string {
  return postings.map((p) => `${p.accountId}=${p.amount}`).join(';');
}

export function decodePostings(encoded: string): Posting[] {
  return encoded.split(';').map((pair) => {
    const at = pair.lastIndexOf('=');
    const amount = Number(pair.slice(at + 1));
    invariant(at > 0 && Number.isSafeInteger(amount), `bad posting ${pair}`);
    return { accountId: pair.slice(0, at), amount };
  });
}
