import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Socket } from 'socket.io-client';
import type { RunningServer } from '../../server/server.js';
import { closeIdleRooms } from '../../server/services/room-closing.js';
import { uniqueId } from '../helpers/env.js';
import { connectAs, grant, http, ledgerCaughtUp, openRoom, request, requestId, startTestServer, token } from '../helpers/harness.js';

interface Context { server: RunningServer; now: number; sockets: Socket[] }
const idle = suite<Context>('rooms nobody gifts in close by themselves', { sockets: [] } as unknown as Context);

const hourMs = 3_600_000;

idle.before(async (ctx) => {
  ctx.now = Date.now();
  ctx.server = await startTestServer({}, () => ctx.now);
});
idle.after(async (ctx) => {
  for (const socket of ctx.sockets) socket.close();
  await ctx.server.stop();
});

idle('a room without a gift to its streamer for the idle time closes once, its members told, even with two sweeps at once; a room gifted in stays open', async (ctx) => {
  const streamer = uniqueId('streamer');
  const [quiet, giftedLongAgo, giftedLately] = [await openRoom(ctx.server, streamer), await openRoom(ctx.server, streamer), await openRoom(ctx.server, streamer)];
  const viewerId = uniqueId('viewer');
  await grant(ctx.server, viewerId, 1_000);
  const viewer = await connectAs(ctx.server, viewerId);
  ctx.sockets.push(viewer);
  const closedEvents: string[] = [];
  viewer.on('room:closed', (event: { roomId: string }) => closedEvents.push(event.roomId));
  for (const roomId of [quiet, giftedLongAgo, giftedLately]) assert.ok((await request(viewer, 'room:join', { roomId })).ok);
  const gift = (roomId: string) => request(viewer, 'gift:send', { requestId: requestId(), roomId, giftId: 'heart', count: 1 });

  assert.ok((await gift(giftedLongAgo)).ok);
  ctx.now += 23 * hourMs;
  assert.ok((await gift(giftedLately)).ok);
  ctx.now += 2 * hourMs;
  await ledgerCaughtUp(ctx.server);

  // Rooms of the suites before this one, opened before the cut, close as well: count only ours.
  const counted = await Promise.all([closeIdleRooms(ctx.server.ctx, 24 * hourMs), closeIdleRooms(ctx.server.ctx, 24 * hourMs)]);
  const idleClosed = (await ctx.server.ctx.metrics.roomsClosed.get()).values.find((value) => value.labels.by === 'idle')?.value;
  assert.is(idleClosed, counted[0] + counted[1], 'rooms_closed_total{by="idle"} counts what the sweeps closed');
  assert.ok(counted[0] + counted[1] >= 2);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(closedEvents.sort(), [quiet, giftedLongAgo].sort(), 'each idle room told once');
  assert.is(await closeIdleRooms(ctx.server.ctx, 24 * hourMs), 0, 'at the same cut, nothing left to close');

  assert.is((await gift(quiet)).error?.code, 'UNKNOWN_ROOM');
  assert.is((await gift(giftedLongAgo)).error?.code, 'UNKNOWN_ROOM');
  assert.ok((await gift(giftedLately)).ok, 'the room gifted in 2 hours ago is open');
  const earnings = await http<{ liveSession: { roomId: string }[] }>(ctx.server, 'GET', '/v1/streamers/me/earnings', { bearer: await token(streamer, 'streamer') });
  assert.equal(earnings.body.liveSession.map((room) => room.roomId), [giftedLately]);

  // An hour past the idle time of its last gift (the one just sent), it closes too.
  ctx.now += 25 * hourMs;
  await ledgerCaughtUp(ctx.server);
  assert.ok(await closeIdleRooms(ctx.server.ctx, 24 * hourMs) >= 1);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(closedEvents.sort(), [quiet, giftedLongAgo, giftedLately].sort());
});

idle.run();
