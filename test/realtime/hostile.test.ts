import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SignJWT } from 'jose';
import type { Socket } from 'socket.io-client';
import { errorRegistry } from '../../domain/errors.js';
import { limits } from '../../domain/limits.js';
import type { RunningServer } from '../../server/server.js';
import { testAuthSecret, uniqueId } from '../helpers/env.js';
import { connect, connectAs, flushAndReconcile, grant, nextEvent, openRoom, request, requestId, startTestServer, token, type AckReply } from '../helpers/harness.js';

interface Context { server: RunningServer; socket: Socket; roomId: string }
const hostile = suite<Context>('hostile input', {} as Context);

hostile.before(async (ctx) => {
  ctx.server = await startTestServer({ giftsPerSecondPerUser: 5, giftBurstPerUser: 500 });
  ctx.roomId = await openRoom(ctx.server, uniqueId('streamer'));
  const userId = uniqueId('viewer');
  await grant(ctx.server, userId, 1_000);
  ctx.socket = await connectAs(ctx.server, userId);
  assert.ok((await request(ctx.socket, 'room:join', { roomId: ctx.roomId })).ok);
});
hostile.after(async (ctx) => {
  ctx.socket.close();
  await ctx.server.stop();
});

const valid = () => ({ requestId: requestId(), giftId: 'rose', count: 1 });
const huge = 'x'.repeat(10_000);

// Each: a gift:send payload (built with the room id) and the code it must be refused with.
const cases: [string, (roomId: string) => unknown, string][] = [
  ['no payload', () => undefined, 'INVALID_ARGUMENT'],
  ['null payload', () => null, 'INVALID_ARGUMENT'],
  ['a string payload', () => 'gift', 'INVALID_ARGUMENT'],
  ['a number payload', () => 42, 'INVALID_ARGUMENT'],
  ['an array payload', (roomId) => [{ ...valid(), roomId }], 'INVALID_ARGUMENT'],
  ['missing requestId', (roomId) => ({ roomId, giftId: 'rose', count: 1 }), 'INVALID_ARGUMENT'],
  ['missing roomId', () => valid(), 'INVALID_ARGUMENT'],
  ['missing giftId', (roomId) => ({ roomId, requestId: requestId(), count: 1 }), 'INVALID_ARGUMENT'],
  ['missing count', (roomId) => ({ roomId, requestId: requestId(), giftId: 'rose' }), 'INVALID_ARGUMENT'],
  ['count zero', (roomId) => ({ ...valid(), roomId, count: 0 }), 'INVALID_ARGUMENT'],
  ['count negative', (roomId) => ({ ...valid(), roomId, count: -5 }), 'INVALID_ARGUMENT'],
  ['count a float', (roomId) => ({ ...valid(), roomId, count: 1.5 }), 'INVALID_ARGUMENT'],
  ['count a numeric string', (roomId) => ({ ...valid(), roomId, count: '1' }), 'INVALID_ARGUMENT'],
  ['count 10000', (roomId) => ({ ...valid(), roomId, count: 10_000 }), 'INVALID_ARGUMENT'],
  ['count beyond the safe range', (roomId) => ({ ...valid(), roomId, count: 2 ** 60 }), 'INVALID_ARGUMENT'],
  ['count NaN (null on the wire)', (roomId) => ({ ...valid(), roomId, count: Number.NaN }), 'INVALID_ARGUMENT'],
  ['count a boolean', (roomId) => ({ ...valid(), roomId, count: true }), 'INVALID_ARGUMENT'],
  ['count an object', (roomId) => ({ ...valid(), roomId, count: { valueOf: 1 } }), 'INVALID_ARGUMENT'],
  ['requestId too short', (roomId) => ({ ...valid(), roomId, requestId: 'abc' }), 'INVALID_ARGUMENT'],
  ['requestId too long', (roomId) => ({ ...valid(), roomId, requestId: 'a'.repeat(65) }), 'INVALID_ARGUMENT'],
  ['requestId with bad characters', (roomId) => ({ ...valid(), roomId, requestId: 'abc def/ghi' }), 'INVALID_ARGUMENT'],
  ['requestId a number', (roomId) => ({ ...valid(), roomId, requestId: 12345678 }), 'INVALID_ARGUMENT'],
  ['requestId huge', (roomId) => ({ ...valid(), roomId, requestId: huge }), 'INVALID_ARGUMENT'],
  ['roomId huge', () => ({ ...valid(), roomId: huge }), 'INVALID_ARGUMENT'],
  ['roomId an object', () => ({ ...valid(), roomId: { $ne: null } }), 'INVALID_ARGUMENT'],
  ['giftId with upper case and spaces', (roomId) => ({ ...valid(), roomId, giftId: 'Rose Gold' }), 'INVALID_ARGUMENT'],
  ['giftId an array', (roomId) => ({ ...valid(), roomId, giftId: ['rose'] }), 'INVALID_ARGUMENT'],
  ['giftId unknown', (roomId) => ({ ...valid(), roomId, giftId: 'unicorn' }), 'UNKNOWN_GIFT'],
  ['__proto__ pollution', (roomId) => JSON.parse(`{"__proto__":{"count":1,"giftId":"rose"},"roomId":"${roomId}","requestId":"${requestId()}"}`), 'INVALID_ARGUMENT'],
  ['constructor.prototype pollution', (roomId) => ({ ...valid(), roomId, count: undefined, constructor: { prototype: { count: 1 } } }), 'INVALID_ARGUMENT'],
  ['a room not joined', () => ({ ...valid(), roomId: 'r_notjoined' }), 'NOT_IN_ROOM'],
];

hostile(`${cases.length} hostile gift:send payloads are each refused with their code and nothing is charged`, async (ctx) => {
  for (const [name, build, code] of cases) {
    const ack = await request(ctx.socket, 'gift:send', build(ctx.roomId));
    assert.is(ack.ok, false, name);
    assert.is(ack.error?.code, code, `${name}: ${JSON.stringify(ack)}`);
    assert.type(ack.error?.message, 'string');
  }
  assert.equal(await request(ctx.socket, 'wallet:get', {}), { ok: true, balance: 1_000, frozen: false });
  assert.equal(({} as Record<string, unknown>).count, undefined, 'Object.prototype was polluted');
});

hostile('hostile room:join, room:leave and wallet:get payloads answer INVALID_ARGUMENT', async (ctx) => {
  for (const payload of [undefined, null, 7, 'room', [], { roomId: 5 }, { roomId: huge }, { roomId: ctx.roomId, batch: 'yes' }, { roomId: ctx.roomId, batch: 'Columns' }, { roomId: ctx.roomId, batch: 1 }, { roomId: ctx.roomId, batch: null }]) {
    assert.is((await request(ctx.socket, 'room:join', payload)).error?.code, 'INVALID_ARGUMENT', JSON.stringify(payload));
    if (payload !== undefined && typeof payload === 'object' && payload !== null && 'batch' in payload) continue;
    assert.is((await request(ctx.socket, 'room:leave', payload)).error?.code, 'INVALID_ARGUMENT', JSON.stringify(payload));
  }
  assert.is((await request(ctx.socket, 'wallet:get', 'x')).error?.code, 'INVALID_ARGUMENT');
  assert.ok((await request(ctx.socket, 'wallet:get', {})).ok, 'the socket still works');
});

hostile('an event without an ack and an unknown event do not break the connection', async (ctx) => {
  ctx.socket.emit('gift:send', { ...valid(), roomId: ctx.roomId });
  ctx.socket.emit('no:such:event', { a: 1 });
  ctx.socket.emit('gift:send');
  const wallet = await request(ctx.socket, 'wallet:get', {});
  assert.ok(wallet.ok);
});

hostile('an unknown event sent with a callback is answered INVALID_ARGUMENT naming it, and moves nothing', async (ctx) => {
  const before = await request(ctx.socket, 'wallet:get', {});
  // A typo of gift:send, the bench's event on a server without BENCH_HANDLERS, a long name.
  for (const event of ['gift:sent', 'bench:ack', 'x'.repeat(1_000)]) {
    const reply = await request(ctx.socket, event, { ...valid(), roomId: ctx.roomId }, 2_000);
    assert.is(reply.ok, false);
    assert.is(reply.error?.code, 'INVALID_ARGUMENT');
    assert.ok(reply.error?.message.includes(JSON.stringify(event.slice(0, 64))), reply.error?.message);
    assert.ok(reply.error?.message.includes('gift:send'), 'it names the events there are');
  }
  assert.equal(await request(ctx.socket, 'wallet:get', {}), before);
});

hostile('a payload over the size bound closes that connection only; the server keeps serving', async (ctx) => {
  const victim = await connectAs(ctx.server, uniqueId('viewer'));
  const closed = new Promise<void>((resolve) => victim.once('disconnect', () => resolve()));
  victim.emit('gift:send', { blob: 'y'.repeat(64 * 1024) }, () => {});
  await closed;
  assert.ok((await request(ctx.socket, 'wallet:get', {})).ok);
});

hostile('forged, expired, wrong-algorithm, bad-role and missing tokens are refused with UNAUTHENTICATED', async (ctx) => {
  const now = Math.floor(Date.now() / 1000);
  const key = (secret: string) => new TextEncoder().encode(secret);
  const forged = await new SignJWT({ role: 'viewer' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setExpirationTime(now + 60).sign(key('another-secret-of-enough-length'));
  const expired = await new SignJWT({ role: 'viewer' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setExpirationTime(now - 10).sign(key(testAuthSecret));
  const badRole = await new SignJWT({ role: 'root' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setExpirationTime(now + 60).sign(key(testAuthSecret));
  const noSubject = await new SignJWT({ role: 'viewer' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(now + 60).sign(key(testAuthSecret));
  const [header, body] = (await token('u1', 'viewer')).split('.');
  const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${body}.`;
  const tampered = `${header}.${Buffer.from(JSON.stringify({ sub: 'u1', role: 'admin', exp: now + 60 })).toString('base64url')}.${(await token('u1', 'viewer')).split('.')[2]}`;
  for (const [name, bearer] of [['forged', forged], ['expired', expired], ['bad role', badRole], ['no subject', noSubject],
    ['alg none', unsigned], ['tampered claims', tampered], ['garbage', 'not.a.jwt'], ['missing', undefined]] as const) {
    const error = await connect(ctx.server.url, bearer).then(() => null, (e: Error) => e);
    assert.is(error?.message, 'UNAUTHENTICATED', name);
  }
});

hostile('a connection ends when its token expires: session:expired, then the server disconnects', async (ctx) => {
  const userId = uniqueId('viewer');
  await grant(ctx.server, userId, 100);
  const expiresAt = Math.floor(Date.now() / 1000) + 2;
  const shortLived = await new SignJWT({ role: 'viewer' }).setProtectedHeader({ alg: 'HS256' }).setSubject(userId)
    .setExpirationTime(expiresAt).sign(new TextEncoder().encode(testAuthSecret));
  const socket = await connect(ctx.server.url, shortLived);
  const expired = nextEvent<{ code: string; message: string }>(socket, 'session:expired', 6_000);
  const reason = new Promise<string>((resolve) => socket.once('disconnect', (why) => resolve(why)));
  assert.ok((await request(socket, 'room:join', { roomId: ctx.roomId })).ok, 'usable until then');
  assert.ok((await request(socket, 'gift:send', { ...valid(), roomId: ctx.roomId })).ok);
  assert.is((await expired).code, 'UNAUTHENTICATED');
  assert.ok(Date.now() >= expiresAt * 1000, 'not before its exp');
  assert.is(await reason, 'io server disconnect');
  assert.is((await connect(ctx.server.url, shortLived).then(() => null, (e: Error) => e))?.message, 'UNAUTHENTICATED', 'nor can it connect again');
});

hostile('an event on a token that expired before its timer ran is refused with UNAUTHENTICATED and moves nothing', async (ctx) => {
  const userId = uniqueId('viewer');
  await grant(ctx.server, userId, 100);
  const socket = await connectAs(ctx.server, userId);
  assert.ok((await request(socket, 'room:join', { roomId: ctx.roomId })).ok);
  const onServer = ctx.server.gateway.io.sockets.sockets.get(socket.id ?? '');
  assert.ok(onServer !== undefined);
  onServer.data.expiresAtMs = Date.now() - 1;
  const expired = nextEvent<{ code: string }>(socket, 'session:expired');
  const reason = new Promise<string>((resolve) => socket.once('disconnect', (why) => resolve(why)));
  const ack = await request(socket, 'gift:send', { ...valid(), roomId: ctx.roomId });
  assert.equal([ack.ok, ack.error?.code], [false, 'UNAUTHENTICATED']);
  assert.is((await expired).code, 'UNAUTHENTICATED');
  assert.is(await reason, 'io server disconnect');
  assert.is((await ctx.server.ctx.wallets.wallet(userId)).balance, 100, 'nothing was charged');
});

hostile('an unknown event on an expired token is refused with UNAUTHENTICATED too, and ends the session', async (ctx) => {
  const socket = await connectAs(ctx.server, uniqueId('viewer'));
  const onServer = ctx.server.gateway.io.sockets.sockets.get(socket.id ?? '');
  assert.ok(onServer !== undefined);
  onServer.data.expiresAtMs = Date.now() - 1;
  const reason = new Promise<string>((resolve) => socket.once('disconnect', (why) => resolve(why)));
  const ack = await request(socket, 'no:such:event', {});
  assert.equal([ack.ok, ack.error?.code], [false, 'UNAUTHENTICATED']);
  assert.is(await reason, 'io server disconnect');
});

hostile('one user holds at most connectionsPerUserMax connections on a node: more are refused with RATE_LIMITED, even at once', async (ctx) => {
  const userId = uniqueId('many');
  const bearer = await token(userId, 'viewer');
  const attempts = await Promise.allSettled(Array.from({ length: limits.connectionsPerUserMax + 5 }, () => connect(ctx.server.url, bearer)));
  const open = attempts.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
  const refusals = attempts.flatMap((a) => (a.status === 'rejected' ? [(a.reason as Error).message] : []));
  assert.is(open.length, limits.connectionsPerUserMax);
  assert.equal(refusals, Array<string>(5).fill('RATE_LIMITED'));
  const other = await connectAs(ctx.server, uniqueId('other'));
  assert.ok(other.connected, 'another user is not counted with this one');
  open.pop()?.close();
  await new Promise((resolve) => setTimeout(resolve, 200)); // the server sees the close
  const again = await connect(ctx.server.url, bearer);
  assert.ok(again.connected, 'a closed connection frees its place');
  assert.is(await connect(ctx.server.url, bearer).then(() => 'connected', (error: Error) => error.message), 'RATE_LIMITED');
  for (const socket of [...open, again, other]) socket.close();
});

hostile('room and wallet requests beyond a connection\'s burst answer RATE_LIMITED and do nothing; the rate refills', async (ctx) => {
  const userId = uniqueId('reader');
  await grant(ctx.server, userId, 30);
  const socket = await connectAs(ctx.server, userId);
  const burst = limits.requestBurstPerConnection;
  const replies = await Promise.all(Array.from({ length: burst + 20 }, () => request(socket, 'wallet:get', {})));
  const answered = replies.filter((reply) => reply.ok).length;
  // The bucket refills while the burst is read: a few more than the burst may pass, never all.
  assert.ok(answered >= burst && answered <= burst + 5, `${answered} answered`);
  assert.ok(replies.filter((reply) => !reply.ok).every((reply) => reply.error?.code === 'RATE_LIMITED'));
  const refused = await request(socket, 'room:join', { roomId: ctx.roomId });
  assert.is(refused.error?.code, 'RATE_LIMITED', 'a refused join joins nothing');
  const gift = await request(socket, 'gift:send', { requestId: requestId(), roomId: ctx.roomId, giftId: 'rose', count: 1 });
  assert.is(gift.error?.code, 'NOT_IN_ROOM', 'gift:send has its own rate, and the join above did not happen');
  await new Promise((resolve) => setTimeout(resolve, 1_000 / limits.requestsPerSecondPerConnection * 3));
  assert.ok((await request(socket, 'room:join', { roomId: ctx.roomId })).ok, 'the rate refills');
  assert.equal(await request(socket, 'wallet:get', {}), { ok: true, balance: 30, frozen: false });
  socket.close();
});

hostile('unknown events take from the same allowance: past it they answer RATE_LIMITED, and they use up room and wallet requests', async (ctx) => {
  const socket = await connectAs(ctx.server, uniqueId('typo'));
  const burst = limits.requestBurstPerConnection;
  const replies = await Promise.all(Array.from({ length: burst + 20 }, () => request(socket, 'no:such:event', {})));
  const codes = replies.map((reply) => reply.error?.code);
  const answered = codes.filter((code) => code === 'INVALID_ARGUMENT').length;
  assert.ok(answered >= burst && answered <= burst + 5, `${answered} answered INVALID_ARGUMENT`);
  assert.is(codes.filter((code) => code === 'RATE_LIMITED').length, replies.length - answered);
  assert.is((await request(socket, 'wallet:get', {})).error?.code, 'RATE_LIMITED', 'the unknown events used up the allowance');
  socket.close();
});

/** A viewer with 100 coins in a room of a server whose gift rate is 1 a second, 3 at once. */
async function withLimitedViewer(run: (socket: Socket, gift: (id: string, count?: number) => Promise<AckReply>) => Promise<void>): Promise<void> {
  const limited = await startTestServer({ giftsPerSecondPerUser: 1, giftBurstPerUser: 3 });
  try {
    const roomId = await openRoom(limited, uniqueId('streamer'));
    const userId = uniqueId('viewer');
    await grant(limited, userId, 100);
    const socket = await connectAs(limited, userId);
    await request(socket, 'room:join', { roomId });
    await run(socket, (id, count = 1) => request(socket, 'gift:send', { requestId: id, roomId, giftId: 'rose', count }));
    socket.close();
  } finally {
    await limited.stop();
  }
}

hostile('sending faster than the per-user rate answers RATE_LIMITED and charges nothing for those', () => withLimitedViewer(async (socket, gift) => {
  const acks = await Promise.all(Array.from({ length: 6 }, () => gift(requestId())));
  assert.is(acks.filter((a) => a.ok).length, 3);
  assert.ok(acks.filter((a) => !a.ok).every((a) => a.error?.code === 'RATE_LIMITED'));
  assert.equal(await request(socket, 'wallet:get', {}), { ok: true, balance: 97, frozen: false });
}));

hostile('past the per-user rate a replay still gets its first ack, and a replay takes none of the rate', () => withLimitedViewer(async (socket, gift) => {
  const first = requestId();
  const firstAck = await gift(first);
  assert.ok(firstAck.ok, JSON.stringify(firstAck));
  // Retries of a gift whose ack was lost leave the rate for new gifts.
  for (let i = 0; i < 4; i += 1) assert.equal(await gift(first), firstAck);
  const more = await Promise.all([gift(requestId()), gift(requestId())]);
  assert.ok(more.every((ack) => ack.ok), JSON.stringify(more));
  assert.is((await gift(requestId())).error?.code, 'RATE_LIMITED');
  // The rate is used up: a replay is answered all the same, a reused requestId with another
  // count is still refused as such, and nothing more is charged.
  assert.equal(await gift(first), firstAck);
  assert.is((await gift(first, 2)).error?.code, 'INVALID_ARGUMENT');
  assert.equal(await request(socket, 'wallet:get', {}), { ok: true, balance: 97, frozen: false });
}));

hostile('nothing hostile moved a coin: reconcile is clean', async (ctx) => {
  const report = await flushAndReconcile(ctx.server);
  assert.ok(report.ok, JSON.stringify(report));
});

hostile('every event, each field of a good payload made hostile in turn: an ack in the contract\'s shape, and the wallet moves by exactly what the acks charged', async (ctx) => {
  const userId = uniqueId('fuzzer');
  const funded = 100_000;
  await grant(ctx.server, userId, funded);
  const socket = await connectAs(ctx.server, userId);
  assert.ok((await request(socket, 'room:join', { roomId: ctx.roomId })).ok);
  const hostileValues: unknown[] = [undefined, null, true, 0, -1, 1.5, 2 ** 53, -(2 ** 63), Number.NaN, '', ' ', '1', 'rose ', 'x'.repeat(5_000),
    "' OR 1=1 --", '💸', [], ['rose'], {}, { $gt: 0 }, { toString: 'x' }];
  const goodPayloads: Record<string, () => Record<string, unknown>> = {
    'room:join': () => ({ roomId: ctx.roomId, batch: 'columns' }),
    // A room this socket is not in: no payload here leaves the room the gifts are sent to.
    'room:leave': () => ({ roomId: 'r_fuzz_not_joined' }),
    'gift:send': () => ({ requestId: requestId(), roomId: ctx.roomId, giftId: 'rose', count: 1 }),
    'wallet:get': () => ({}),
  };
  const charged = new Map<string, number>();
  let sent = 0;
  for (const [event, good] of Object.entries(goodPayloads)) {
    const payloads: unknown[] = [good(), ...hostileValues];
    for (const field of [...Object.keys(good()), 'extra']) {
      for (const value of hostileValues) payloads.push({ ...good(), [field]: value });
    }
    for (const payload of payloads) {
      // Room and wallet requests have a per-connection allowance: wait for it rather than
      // let RATE_LIMITED answer for the validation this test is after.
      let ack = await request(socket, event, payload);
      for (let waited = 0; event !== 'gift:send' && ack.error?.code === 'RATE_LIMITED' && waited < 50; waited += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        ack = await request(socket, event, payload);
      }
      sent += 1;
      const what = `${event} ${JSON.stringify(payload)?.slice(0, 80)}`;
      assert.type(ack.ok, 'boolean', what);
      if (!ack.ok) {
        // INTERNAL is a handler that threw: bad input must be named, not crash into it.
        assert.ok(ack.error !== undefined && ack.error.code in errorRegistry && ack.error.code !== 'INTERNAL' && typeof ack.error.message === 'string',
          `${what}: ${JSON.stringify(ack)}`);
      } else if (event === 'gift:send') {
        assert.type(ack.giftEventId, 'string', what);
        charged.set(String(ack.giftEventId), Number(ack.charged));
      }
    }
  }
  assert.ok(sent > 300 && charged.size > 0, `sent ${sent}, charged ${charged.size}`);
  const spent = [...charged.values()].reduce((sum, coins) => sum + coins, 0);
  // Read in the store: this socket has spent its request allowance on the hostile ones.
  assert.equal(await ctx.server.ctx.wallets.wallet(userId), { balance: funded - spent, frozen: false });
  socket.close();
  const report = await flushAndReconcile(ctx.server);
  assert.ok(report.ok, JSON.stringify(report.mismatches));
});

hostile.run();
