import { accountKind, accountOwner } from '../../domain/accounts.js';
import { invariant } from '../../domain/errors.js';
import { assertBalanced, decodePostings, type JournalEntry } from '../../domain/ledger.js';

export interface StreamRecord {
  streamId: string;
  entry: JournalEntry;
}

type RawStreamRecord = [id: string, fields: string[]];

/** Parses what XREADGROUP / XAUTOCLAIM / XRANGE return; a malformed record is an invariant violation. */
export function parseStreamRecords(raw: readonly RawStreamRecord[]): StreamRecord[] {
  return raw.map(([streamId, fields]) => {
    const map = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] ?? '', fields[i + 1] ?? '');
    const id = map.get('id');
    const kind = map.get('k');
    const atMs = Number(map.get('t'));
    const postings = map.get('p');
    invariant(id !== undefined && kind !== undefined && postings !== undefined && Number.isSafeInteger(atMs),
      `journal record ${streamId} is malformed`);
    const meta = JSON.parse(map.get('m') ?? '{}') as Record<string, unknown>;
    // What only Redis knew travels into the ledger: the stored first ack, and the carries.
    const replayRecord = map.get('r');
    if (replayRecord !== undefined && replayRecord !== '') meta.replayRecord = replayRecord;
    const carries = map.get('c');
    if (carries !== undefined && carries !== '') meta.carries = Object.fromEntries(decodePostings(carries).map((c) => [c.accountId, c.amount]));
    const entry: JournalEntry = { id, kind, atMs, postings: decodePostings(postings), meta };
    assertBalanced(entry);
    return { streamId, entry };
  });
}

export function streamPosition(streamId: string): { ms: string; seq: string } {
  const [ms, seq] = streamId.split('-');
  invariant(ms !== undefined && seq !== undefined, `bad stream id ${streamId}`);
  return { ms, seq };
}

export function accountRow(accountId: string): { id: string; kind: string; ownerId: string | null } {
  return { id: accountId, kind: accountKind(accountId), ownerId: accountOwner(accountId) };
}

export function compareStreamIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split('-').map(BigInt);
  const [bMs = 0n, bSeq = 0n] = b.split('-').map(BigInt);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}
