import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DomainError } from '../../domain/errors.js';
import { TableSnapshot } from '../../server/services/table-snapshot.js';

// The in-memory copy of a small table (split contracts, the gift catalog), with its reads
// counted instead of a database: how often it asks is the behaviour under test.
const snapshot = suite('table snapshot');

function counted(rows: () => string[]) {
  const calls = { version: 0, table: 0 };
  let version = '1';
  let failing = false;
  const table = new TableSnapshot<string[]>('test rows',
    async () => {
      calls.version += 1;
      if (failing) throw new Error('connection refused');
      return version;
    },
    async () => {
      calls.table += 1;
      return rows();
    },
    []);
  return { table, calls, bump: () => { version = String(Number(version) + 1); }, fail: (on: boolean) => { failing = on; } };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
const pastInterval = () => new Promise((resolve) => setTimeout(resolve, 2_100));

snapshot('a first read that fails is UNAVAILABLE; once read, a failing check keeps the copy and is tried again only after another interval', async () => {
  const { table, calls, fail } = counted(() => ['a']);
  fail(true);
  const error = await table.current().then(() => null, (e: unknown) => e);
  assert.ok(error instanceof DomainError && error.code === 'UNAVAILABLE', String(error));
  fail(false);
  assert.equal(await table.current(), ['a']);
  fail(true);
  await pastInterval();
  const versionReads = calls.version;
  for (let i = 0; i < 200; i += 1) {
    assert.equal(table.currentLoaded(), ['a'], 'the copy serves through the outage');
    if (i % 20 === 0) await settle();
  }
  assert.is(calls.version, versionReads + 1, 'one failed check, not one per call');
  fail(false);
  await pastInterval();
  table.currentLoaded();
  await settle();
  assert.is(calls.version, versionReads + 2, 'asked again after the interval');
});

snapshot('the table is read again only when its counter moved; a change applied here survives a reload that read before it', async () => {
  let rows = ['a'];
  const { table, calls, bump } = counted(() => rows);
  await table.fresh();
  await table.fresh();
  assert.is(calls.table, 1);
  rows = ['a', 'b'];
  bump();
  assert.equal(await table.fresh(), ['a', 'b']);
  assert.is(calls.table, 2);
  // A reload in flight read ['a', 'b']; the change committed meanwhile is applied after it.
  bump();
  const reloading = table.fresh();
  await table.apply((kept) => [...kept, 'c']);
  await reloading;
  assert.equal(await table.current(), ['a', 'b', 'c']);
});

snapshot.run();
