import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { migrate } from '../../server/db/migrate.js';
import { connectPostgres } from '../../server/db/sql.js';
import { RoomDirectory } from '../../server/services/rooms.js';
import { DomainError } from '../../domain/errors.js';
import { limits } from '../../domain/limits.js';
import { testStorage, uniqueId } from '../helpers/env.js';

// Two directories on one database stand for two gateway nodes; each has its own clock.
const rooms = suite('room directory');

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

rooms.before(async () => {
  const sql = connectPostgres(testStorage.databaseUrl(), { max: 1 });
  try {
    await migrate(sql);
  } finally {
    await sql.end();
  }
});

rooms('a room closed through another node is found closed at the next recheck, not before', async () => {
  const sqlA = connectPostgres(testStorage.databaseUrl(), { max: 1 });
  const sqlB = connectPostgres(testStorage.databaseUrl(), { max: 1 });
  let nowB = 1_000_000;
  const nodeA = new RoomDirectory(sqlA);
  const nodeB = new RoomDirectory(sqlB, 2_000, () => nowB);
  try {
    const streamer = uniqueId('streamer');
    const room = await nodeA.open(streamer, 'live');
    assert.is((await nodeB.find(room.id))?.streamerId, streamer);
    assert.ok(await nodeA.close(room.id, streamer));
    assert.is(await nodeA.find(room.id), undefined, 'closed at once on the node that closed it');
    nowB += 1_999;
    assert.is((await nodeB.find(room.id))?.id, room.id, 'still cached on the other node within the interval');
    nowB += 1;
    // The recheck starts in the background: this gift is not held up by it.
    assert.is((await nodeB.find(room.id))?.id, room.id);
    await until(async () => await nodeB.find(room.id) === undefined, 'the recheck to find the room closed');
    assert.is(await nodeB.find(room.id), undefined);
  } finally {
    await sqlA.end();
    await sqlB.end();
  }
});

rooms('a streamer holds at most openRoomsPerStreamerMax open rooms, counted one after the other; closing one frees a place', async () => {
  const sql = connectPostgres(testStorage.databaseUrl(), { max: 4 });
  const directory = new RoomDirectory(sql);
  const max = limits.openRoomsPerStreamerMax;
  try {
    const streamer = uniqueId('streamer');
    const opened = [];
    for (let i = 0; i < max - 1; i += 1) opened.push(await directory.open(streamer, `room ${i}`));
    // Three opens at once for the last place: exactly one gets it.
    const race = await Promise.allSettled([1, 2, 3].map((i) => directory.open(streamer, `race ${i}`)));
    assert.is(race.filter((r) => r.status === 'fulfilled').length, 1);
    for (const refused of race.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) {
      assert.instance(refused.reason, DomainError);
      assert.is((refused.reason as DomainError).code, 'CONFLICT');
    }
    assert.is((await directory.openRoomsOf(streamer)).length, max, 'the earnings view lists every open room');
    // Another streamer is not held to this one's rooms.
    assert.ok(await directory.open(uniqueId('streamer'), 'other'));
    const first = opened[0];
    assert.ok(first);
    assert.ok(await directory.close(first.id, streamer));
    assert.ok(await directory.open(streamer, 'after a close'));
    try {
      await directory.open(streamer, 'one too many');
      assert.unreachable('the bound was passed');
    } catch (error) {
      assert.is((error as DomainError).code, 'CONFLICT');
    }
  } finally {
    await sql.end();
  }
});

rooms('while PostgreSQL does not answer, a room known open stays open; one never seen is not vouched for', async () => {
  const sql = connectPostgres(testStorage.databaseUrl(), { max: 1 });
  let now = 1_000_000;
  const node = new RoomDirectory(sql, 2_000, () => now);
  const streamer = uniqueId('streamer');
  let room;
  try {
    room = await node.open(streamer, 'live');
  } finally {
    // A client that has ended answers every query with an error, as an unreachable server does.
    await sql.end();
  }
  now += 5_000;
  for (let i = 0; i < 20; i += 1) {
    assert.is((await node.find(room.id))?.id, room.id);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  // A room it never knew cannot be vouched for.
  let refused: unknown = null;
  await node.find('r_never_seen').catch((error: unknown) => { refused = error; });
  assert.instance(refused, Error);
});

rooms.run();
