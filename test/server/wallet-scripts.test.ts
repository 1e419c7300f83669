import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { platformRevenueAccount, walletAccount } from '../../domain/accounts.js';
import { defaultContract, payeesOf, splitGift, type TieredPayee } from '../../domain/split-contracts.js';
import { DomainError, InvariantViolation } from '../../domain/errors.js';
import { connectRedis } from '../../server/redis/commands.js';
import { WalletStore, type GiftCharge } from '../../server/redis/wallet-store.js';
import { randomBytes } from 'node:crypto';
import { testStorage, uniqueId } from '../helpers/env.js';
import { randomContract, randomInt, seededRandom } from '../helpers/random.js';
import { rejects } from '../helpers/assert.js';
import { limits } from '../../domain/limits.js';

// A namespace of its own: these tests poke at the scripts directly and leave no ledger behind.
interface Context { redis: Redis; store: WalletStore }
const scripts = suite<Context>('wallet scripts', {} as Context);

scripts.before(async (ctx) => {
  ctx.redis = connectRedis(testStorage.redisUrl(), { name: 'test-scripts', offlineQueue: true });
  ctx.store = new WalletStore(ctx.redis, `scripts-${randomBytes(3).toString("hex")}`, 100_000);
});
scripts.after(async (ctx) => {
  const keys = await ctx.redis.keys(`{${ctx.store.keys.balances.slice(1, ctx.store.keys.balances.indexOf('}'))}}:*`);
  if (keys.length > 0) await ctx.redis.del(...keys);
  ctx.redis.disconnect();
});

async function fund(store: WalletStore, userId: string, coins: number) {
  await store.postEntry({
    entryId: randomUUID(), kind: 'grant', nowMs: Date.now(), meta: {},
    postings: [{ accountId: 'system:grants', amount: -coins }, { accountId: walletAccount(userId), amount: coins }],
    flooredAccounts: new Set(),
  });
}

function charge(senderId: string, overrides: Partial<GiftCharge> = {}): GiftCharge {
  const streamerId = overrides.streamerId ?? 'streamer-1';
  return {
    entryId: randomUUID(), senderId, streamerId, roomId: 'room-1', giftId: 'rose', count: 1, requestId: `req-${randomUUID()}`,
    priceCoins: 1, fingerprint: 'room-1|rose|1', platformAccount: platformRevenueAccount,
    payees: payeesOf(streamerId, defaultContract),
    nowMs: Date.now(), rate: { perSec: 1_000_000, burst: 1_000_000 }, ...overrides,
  };
}

const code = (expected: string) => (error: unknown) => error instanceof DomainError && error.code === expected;

scripts('OK: debits the sender, credits creator and platform, records a balanced journal entry', async ({ store, redis }) => {
  const sender = uniqueId('v');
  await fund(store, sender, 100);
  const streamerId = uniqueId('s');
  const roomId = uniqueId('room');
  const receipt = await store.chargeGift(charge(sender, { priceCoins: 10, streamerId, roomId }));
  assert.is(receipt.replay, false);
  assert.is(receipt.balance, 90);
  assert.equal(receipt.credit, { earnedTotal: 7, balance: 7, month: 7, room: 7, platformCoins: 3, payeeCoins: [7] });
  assert.equal(await redis.zrange(store.keys.roomBoard(roomId), 0, -1, 'WITHSCORES'), [sender, '10']);
  assert.equal(await redis.hgetall(store.keys.roomTotals(roomId)), { gross: '10', earned: '7' });
  assert.is(await redis.hget(store.keys.balances, `earnings:${streamerId}`), '7');
  const [last] = await redis.xrevrange(store.keys.journal, '+', '-', 'COUNT', 1);
  const fields = last?.[1] ?? [];
  assert.is(fields[fields.indexOf('p') + 1], `${walletAccount(sender)}=-10;${`earnings:${streamerId}`}=7;${platformRevenueAccount}=3`);
});

scripts('REPLAY: the same requestId returns the first result and charges nothing more', async ({ store }) => {
  const sender = uniqueId('v');
  await fund(store, sender, 100);
  const first = charge(sender, { priceCoins: 5, fingerprint: 'f' });
  const a = await store.chargeGift(first);
  const b = await store.chargeGift({ ...first, entryId: randomUUID() });
  assert.is(b.replay, true);
  assert.equal([b.giftEventId, b.charged, b.balance, b.combo, b.atMs], [a.giftEventId, a.charged, a.balance, a.combo, a.atMs]);
  assert.equal(await store.wallet(sender), { balance: 95, frozen: false });
});

scripts('INVALID_ARGUMENT: the same requestId for another gift is refused', async ({ store }) => {
  const sender = uniqueId('v');
  await fund(store, sender, 100);
  const first = charge(sender, { fingerprint: 'room|rose|1' });
  await store.chargeGift(first);
  await rejects(store.chargeGift({ ...first, fingerprint: 'room|rose|2', priceCoins: 2 }), code('INVALID_ARGUMENT'));
  assert.equal(await store.wallet(sender), { balance: 99, frozen: false });
});

scripts("RATE_LIMITED: a sender's rate is one bucket in Redis, whichever connection (node) charges; a refusal changes nothing", async ({ store, redis }) => {
  const sender = uniqueId('v');
  await fund(store, sender, 100);
  // A second connection stands for a second gateway node on the same Redis.
  const otherRedis = connectRedis(testStorage.redisUrl(), { name: 'test-scripts-other-node', offlineQueue: true });
  const otherNode = new WalletStore(otherRedis, store.keys.balances.slice(1, store.keys.balances.indexOf('}')), 100_000);
  try {
    const rate = { perSec: 2, burst: 3 };
    // A streamer of its own: month totals of the shared one pick tiers in other tests.
    const streamerId = uniqueId('s');
    const payees = payeesOf(streamerId, defaultContract);
    const t0 = Date.now();
    const first = charge(sender, { rate, streamerId, payees, nowMs: t0 });
    await store.chargeGift(first);
    await otherNode.chargeGift(charge(sender, { rate, streamerId, payees, nowMs: t0 }));
    await store.chargeGift(charge(sender, { rate, streamerId, payees, nowMs: t0 }));
    const journal = await redis.xlen(store.keys.journal);
    await rejects(otherNode.chargeGift(charge(sender, { rate, streamerId, payees, nowMs: t0 })), code('RATE_LIMITED'));
    await rejects(store.chargeGift(charge(sender, { rate, streamerId, payees, nowMs: t0 + 499 })), code('RATE_LIMITED'));
    assert.equal(await store.wallet(sender), { balance: 97, frozen: false }, 'the refusals charged nothing');
    assert.is(await redis.xlen(store.keys.journal), journal, 'and journaled nothing');
    // A replay is answered whatever the rate, and takes no token.
    assert.is((await otherNode.chargeGift({ ...first, nowMs: t0 })).replay, true);
    // Half a second at two a second is one gift more; a clock behind the last refill adds nothing.
    await otherNode.chargeGift(charge(sender, { rate, streamerId, payees, nowMs: t0 + 500 }));
    await rejects(store.chargeGift(charge(sender, { rate, streamerId, payees, nowMs: t0 + 400 })), code('RATE_LIMITED'));
    await rejects(store.chargeGift(charge(sender, { rate, streamerId, payees, nowMs: t0 + 500 })), code('RATE_LIMITED'));
    // The bucket refills up to the burst, never past it.
    for (let i = 0; i < 3; i += 1) await store.chargeGift(charge(sender, { rate, streamerId, payees, nowMs: t0 + 60_000 }));
    await rejects(store.chargeGift(charge(sender, { rate, streamerId, payees, nowMs: t0 + 60_000 })), code('RATE_LIMITED'));
    assert.equal(await store.wallet(sender), { balance: 93, frozen: false });
    // Once it would be full again, the bucket is gone from Redis.
    const ttl = await redis.pttl(store.keys.giftRate(sender));
    assert.ok(ttl > 0 && ttl <= 2_500, `bucket ttl ${ttl} ms`);
  } finally {
    otherRedis.disconnect();
  }
});

scripts('ACCOUNT_FROZEN, INSUFFICIENT_FUNDS and UNAVAILABLE (journal full) change nothing', async ({ store, redis }) => {
  const sender = uniqueId('v');
  await fund(store, sender, 10);
  await rejects(store.chargeGift(charge(sender, { priceCoins: 11 })), code('INSUFFICIENT_FUNDS'));
  await store.setFrozen(sender, 'chargeback');
  await rejects(store.chargeGift(charge(sender)), code('ACCOUNT_FROZEN'));
  assert.equal(await store.wallet(sender), { balance: 10, frozen: true });
  await store.setFrozen(sender, null);
  const length = await redis.xlen(store.keys.journal);
  const full = new WalletStore(redis, store.keys.balances.slice(1, store.keys.balances.indexOf('}')), length);
  await rejects(full.chargeGift(charge(sender)), code('UNAVAILABLE'));
  assert.is(await redis.xlen(store.keys.journal), length);
  assert.equal(await store.wallet(sender), { balance: 10, frozen: false });
});

scripts('ASSERT: a non-positive price, shares over 100 % or a missing tier are invariant violations and change nothing', async ({ store, redis }) => {
  const sender = uniqueId('v');
  await fund(store, sender, 10);
  const broken = (e: unknown) => e instanceof InvariantViolation;
  const journalLength = await redis.xlen(store.keys.journal);
  await rejects(store.chargeGift(charge(sender, { priceCoins: 0 })), broken);
  const overShare: TieredPayee[] = [
    { accountId: 'earnings:a', tiers: [{ fromMonthCoins: 0, bps: 6_000 }], carryKey: 'a' },
    { accountId: 'agency:b', tiers: [{ fromMonthCoins: 0, bps: 5_000 }], carryKey: 'b' }];
  await rejects(store.chargeGift(charge(sender, { priceCoins: 2, payees: overShare })), broken);
  const noTier: TieredPayee[] = [{ accountId: 'earnings:a', tiers: [{ fromMonthCoins: 5, bps: 6_000 }], carryKey: 'a' }];
  await rejects(store.chargeGift(charge(sender, { priceCoins: 2, payees: noTier })), broken);
  assert.equal(await store.wallet(sender), { balance: 10, frozen: false });
  assert.is(await redis.xlen(store.keys.journal), journalLength);
});

scripts('post-entry: refuses unbalanced postings in code, overdrafts with INSUFFICIENT_FUNDS, replays by key', async ({ store }) => {
  const user = uniqueId('v');
  await rejects(store.postEntry({ entryId: randomUUID(), kind: 'grant', nowMs: 0, meta: {}, flooredAccounts: new Set(),
    postings: [{ accountId: 'system:grants', amount: -5 }, { accountId: walletAccount(user), amount: 4 }] }), (e: unknown) => e instanceof InvariantViolation);
  await rejects(store.postEntry({ entryId: randomUUID(), kind: 'refund', nowMs: 0, meta: {}, flooredAccounts: new Set([walletAccount(user)]),
    postings: [{ accountId: walletAccount(user), amount: -5 }, { accountId: 'system:grants', amount: 5 }] }), code('INSUFFICIENT_FUNDS'));
  const request = { entryId: randomUUID(), kind: 'grant', nowMs: 0, meta: {}, flooredAccounts: new Set<string>(), idempotencyKey: uniqueId('k'), fingerprint: 'a',
    postings: [{ accountId: 'system:grants', amount: -5 }, { accountId: walletAccount(user), amount: 5 }] };
  const first = await store.postEntry(request);
  const again = await store.postEntry({ ...request, entryId: randomUUID() });
  assert.equal(again, { ...first, replay: true });
  await rejects(store.postEntry({ ...request, fingerprint: 'b' }), code('INVALID_ARGUMENT'));
  assert.equal(await store.wallet(user), { balance: 5, frozen: false });
});

scripts('post-entry: meta holding U+0000, which the ledger could never store, is an invariant violation and journals nothing', async ({ store, redis }) => {
  const user = uniqueId('v');
  const entry = (meta: Record<string, unknown>) => ({ entryId: randomUUID(), kind: 'grant', nowMs: 0, meta, flooredAccounts: new Set<string>(),
    postings: [{ accountId: 'system:grants', amount: -5 }, { accountId: walletAccount(user), amount: 5 }] });
  const journalLength = await redis.xlen(store.keys.journal);
  const broken = (e: unknown) => e instanceof InvariantViolation;
  await rejects(store.postEntry(entry({ reason: 'a\u0000b' })), broken);
  await rejects(store.postEntry(entry({ nested: [{ ['k\u0000']: 1 }] })), broken);
  // Half a surrogate pair: jsonb refuses its escape just as it refuses U+0000.
  await rejects(store.postEntry(entry({ reason: 'a\ud800' })), broken);
  await rejects(store.postEntry(entry({ ['\udc00']: 'b' })), broken);
  assert.is(await redis.xlen(store.keys.journal), journalLength);
  assert.equal(await store.wallet(user), { balance: 0, frozen: false });
  // A backslash and the letters u0000 are ordinary text.
  assert.is((await store.postEntry(entry({ reason: 'C:\\u0000' }))).replay, false);
  assert.is((await store.postEntry(entry({ reason: 'a whole pair \ud83d\ude00' }))).replay, false);
});

scripts('post-entry: a key is refused with UNAVAILABLE while an unflushed entry is older than its record lives', async ({ redis }) => {
  const store = new WalletStore(redis, `scripts-lag-${randomBytes(3).toString('hex')}`, 100_000);
  const user = uniqueId('v');
  const grant = (idempotencyKey?: string) => store.postEntry({
    entryId: randomUUID(), kind: 'grant', nowMs: Date.now(), meta: {}, flooredAccounts: new Set<string>(),
    postings: [{ accountId: 'system:grants', amount: -5 }, { accountId: walletAccount(user), amount: 5 }],
    ...(idempotencyKey === undefined ? {} : { idempotencyKey, fingerprint: 'f' }),
  });
  // The journal holds only unflushed entries, so one with an old id is a ledger that far behind.
  const journalFrom = async (ageMs: number) => {
    await redis.del(store.keys.journal);
    await redis.xadd(store.keys.journal, `${Date.now() - ageMs}-0`, 'id', randomUUID(), 'k', 'grant');
  };
  const hour = 60 * 60 * 1000;
  try {
    const posted = uniqueId('k');
    const first = await grant(posted);

    await journalFrom(limits.idempotentPostingLagMaxMs + 1_000);
    const fresh = uniqueId('k');
    await rejects(grant(fresh), code('UNAVAILABLE'));
    assert.is(await redis.exists(store.keys.operationIdempotency(fresh)), 0, 'a refusal keeps no record');
    assert.is(await redis.xlen(store.keys.journal), 1, 'a refusal journals nothing');
    assert.equal(await store.wallet(user), { balance: 5, frozen: false });
    // A key whose record is still here is answered as before; an entry without a key has nothing to check.
    assert.equal(await grant(posted), { ...first, replay: true });
    assert.is((await grant()).replay, false);

    await redis.xdel(store.keys.journal, (await redis.xrange(store.keys.journal, '-', '+', 'COUNT', 1))[0]?.[0] ?? '');
    assert.is((await grant(fresh)).replay, false, 'flushed: the key can be checked again');

    assert.ok(limits.idempotentPostingLagMaxMs <= limits.idempotencyWindowSec * 1000 - hour, 'an hour of margin below the record ttl');
    await journalFrom(limits.idempotentPostingLagMaxMs - hour);
    assert.is((await grant(uniqueId('k'))).replay, false, 'behind by less than the limit');
    assert.equal(await store.wallet(user), { balance: 20, frozen: false });
  } finally {
    const keys = await redis.keys(`{${store.keys.balances.slice(1, store.keys.balances.indexOf('}'))}}:*`);
    if (keys.length > 0) await redis.del(...keys);
  }
});

scripts('the script splits exactly as domain/split-contracts.ts over random contracts, tiers and gift streams', async ({ store }) => {
  for (let seed = 1; seed <= 12; seed += 1) {
    const random = seededRandom(seed);
    const sender = uniqueId('v');
    const streamerId = uniqueId('s');
    await fund(store, sender, 10_000_000_000);
    const contract = randomContract(random);
    const payees = payeesOf(streamerId, contract);
    let carries = payees.map(() => 0);
    let monthCoins = 0;
    for (let gift = 0; gift < 40; gift += 1) {
      const price = random() < 0.8 ? randomInt(random, 1, 30) : randomInt(random, 1, 99_990_000);
      const expected = splitGift(price, payees, carries, monthCoins);
      carries = expected.carries;
      monthCoins += expected.payeeCoins[0] ?? 0;
      const receipt = await store.chargeGift(charge(sender, { priceCoins: price, streamerId, payees }));
      assert.equal(receipt.credit?.payeeCoins, expected.payeeCoins, `seed ${seed} gift ${gift}`);
      assert.is(receipt.credit?.platformCoins, expected.platformCoins, `seed ${seed} gift ${gift}`);
      assert.is(receipt.credit?.month, monthCoins, `seed ${seed} gift ${gift}`);
    }
  }
});

scripts.run();
