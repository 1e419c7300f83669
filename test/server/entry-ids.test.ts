import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { InvariantViolation } from '../../domain/errors.js';
import { newEntryId, newEntryStamp } from '../../server/db/entry-ids.js';

const entryIds = suite('journal entry ids');
const version7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const timeOf = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

entryIds('are RFC 9562 version 7 UUIDs whose first 48 bits are the given time in ms', () => {
  for (const nowMs of [0, 1, 1_764_496_000_123, 2 ** 48 - 1]) {
    const id = newEntryId(nowMs);
    assert.match(id, version7);
    assert.is(timeOf(id), nowMs);
  }
  assert.is(timeOf(newEntryId(1_764_496_000_123.9)), 1_764_496_000_123);
});

entryIds('sort by time, as text and as PostgreSQL compares uuids (byte by byte)', () => {
  const ids = Array.from({ length: 2_000 }, (_, i) => newEntryId(1_764_496_000_000 + i * 37));
  assert.equal([...ids].sort(), ids);
});

entryIds('made in the same ms are all different: 74 random bits each', () => {
  const ids = new Set(Array.from({ length: 100_000 }, () => newEntryId(1_764_496_000_000)));
  assert.is(ids.size, 100_000);
  for (const id of [...ids].slice(0, 1_000)) assert.match(id, version7);
});

entryIds('a stamp reads the clock once: its id begins with its time', () => {
  const stamp = newEntryStamp(1_764_496_000_456);
  assert.is(stamp.nowMs, 1_764_496_000_456);
  assert.is(timeOf(stamp.entryId), stamp.nowMs);
  const now = newEntryStamp();
  assert.is(timeOf(now.entryId), now.nowMs);
});

entryIds('refuse a time that does not fit in 48 bits', () => {
  for (const nowMs of [-1, 2 ** 48, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => newEntryId(nowMs), (error: unknown) => error instanceof InvariantViolation);
  }
});

entryIds.run();
