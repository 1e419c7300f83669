import { suite } from 'uvu';
import { randomUUID } from 'node:crypto';
import * as assert from 'uvu/assert';
import type { RunningServer } from '../../server/server.js';
import { uniqueId } from '../helpers/env.js';
import { flushAndReconcile, grant, http, ledgerCaughtUp, openRoom, token } from '../helpers/harness.js';
import { startTestServer } from '../helpers/harness.js';
import { StripeStandIn } from '../helpers/stripe-stand-in.js';
import { DomainError } from '../../domain/errors.js';
import { PayoutService } from '../../server/services/payouts.js';
import { randomInt, seededRandom } from '../helpers/random.js';

// A simulated month under a fake clock: gifts to three streamers on different contracts
// and schedules, settlement runs every simulated day, then the statements are checked
// against a model the test keeps itself (its own split and its own integer-cent payable).

const dayMs = 86_400_000;
const january = Date.UTC(2025, 0, 1);
const february = Date.UTC(2025, 1, 1);
const march = Date.UTC(2025, 2, 1);

interface Statement {
  id: string; status: string; reason: string | null; period: { id: string }; coins: { carriedIn: number; earned: number; adjustments: number; total: number };
  currency: string; gross: string; tax: string; fee: string; payable: string; entryId: string | null;
  payout: { id: string; status: string; attempts: number; transferId: string | null; lastError: string | null } | null;
}

interface Ctx {
  server: RunningServer; standIn: StripeStandIn; now: number; admin: string; model: SplitModel; rooms: Record<string, string>;
  streamers: { tiered: string; daily: string; noKyc: string }; agency: string;
}

// ------------------------------------------------------------------ the test's own model
interface Share { account: string; carryKey: string; bpsAt: (month: number) => number }

class SplitModel {
  readonly carries = new Map<string, number>();
  readonly month = new Map<string, number>();
  /** Coins per payee account per UTC day index of January. */
  readonly byDay = new Map<string, number[]>();
  /** Gifts that credited a payee account anything, the same way. */
  readonly giftsByDay = new Map<string, number[]>();

  gift(streamer: string, shares: Share[], price: number, day: number): void {
    const month = this.month.get(streamer) ?? 0;
    let left = price;
    shares.forEach((share, index) => {
      const owed = (this.carries.get(share.carryKey) ?? 0) + price * share.bpsAt(month);
      const coins = Math.min(Math.floor(owed / 10_000), left);
      left -= coins;
      this.carries.set(share.carryKey, owed - coins * 10_000);
      const days = this.byDay.get(share.account) ?? Array<number>(31).fill(0);
      days[day] = (days[day] ?? 0) + coins;
      this.byDay.set(share.account, days);
      const gifts = this.giftsByDay.get(share.account) ?? Array<number>(31).fill(0);
      if (coins > 0) gifts[day] = (gifts[day] ?? 0) + 1;
      this.giftsByDay.set(share.account, gifts);
      if (index === 0) this.month.set(streamer, month + coins);
    });
  }

  /** The account's coins and gifts on each of the 30 days ending on January's day `last`; days before January hold none. */
  daily(account: string, last: number): { day: string; coins: number; gifts: number }[] {
    return Array.from({ length: 30 }, (_, i) => {
      const day = last - 29 + i;
      return { day: new Date(january + day * dayMs).toISOString().slice(0, 10), coins: day < 0 ? 0 : this.total(account, day, day),
        gifts: day < 0 ? 0 : this.giftsByDay.get(account)?.[day] ?? 0 };
    });
  }

  /** Coins to the account on January's days first to last (indexes, both included). */
  total(account: string, first = 0, last = 30): number {
    return (this.byDay.get(account) ?? []).slice(Math.max(0, first), last + 1).reduce((a, b) => a + b, 0);
  }

  gifts(account: string): number {
    return (this.giftsByDay.get(account) ?? []).reduce((a, b) => a + b, 0);
  }
}

/**
 * gross rounded down over the payee's settled statements so far (the fraction of a cent one
 * statement cannot pay, a later one does), tax and fee half-up, all in integer minor units:
 * no decimal library.
 */
function payableCents(coins: bigint, ratePerCoinTimes1e4: bigint, taxPercent: bigint, feeFixedCents: bigint, feeBasisPointsOf100: bigint,
  earlier: { coins: bigint; grossCents: bigint } = { coins: 0n, grossCents: 0n }) {
  // rate x 10^4 per coin -> cents, rounded down
  const gross = ((earlier.coins + coins) * ratePerCoinTimes1e4) / 100n - earlier.grossCents;
  const tax = (gross * taxPercent + 50n) / 100n;
  const afterTax = gross - tax;
  const percentFee = (afterTax * feeBasisPointsOf100 + 5_000n) / 10_000n;
  const fee = feeFixedCents + percentFee > afterTax ? afterTax : feeFixedCents + percentFee;
  return { gross, tax, fee, payable: afterTax - fee };
}

const cents = (value: bigint) => `${value / 100n}.${String(value % 100n).padStart(2, '0')}`;

const month = suite<Ctx>('settlement: a simulated month', {} as Ctx);

month.before(async (ctx) => {
  ctx.now = january + 1_000;
  ctx.standIn = new StripeStandIn();
  ctx.standIn.refuseTransfersTo.add('acct_refusedA');
  await ctx.standIn.start();
  ctx.server = await startTestServer({ stripeSecretKey: 'sk_test_standin', stripeWebhookSecret: 'whsec_test', stripeApiBase: ctx.standIn.url }, () => ctx.now);
  ctx.admin = await token('admin-settlement', 'admin');
  ctx.streamers = { tiered: uniqueId('tiered'), daily: uniqueId('daily'), noKyc: uniqueId('nokyc') };
  ctx.agency = uniqueId('guild').replace(/[^A-Za-z0-9_-]/g, '_');
});
month.after(async (ctx) => {
  await ctx.server.stop();
  await ctx.standIn.stop();
});

async function admin<T = Record<string, unknown>>(ctx: Ctx, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) {
  return http<T>(ctx.server, method, url, { bearer: ctx.admin, ...(body === undefined ? {} : { body }) });
}

async function run(ctx: Ctx, asOf?: string) {
  const reply = await admin<{ settled: string[]; carriedOver: string[]; payouts: { paid: number; failed: number } }>(ctx, 'POST', '/v1/admin/settlements/run', asOf === undefined ? {} : { asOf });
  assert.is(reply.status, 200, JSON.stringify(reply.body));
  return reply.body;
}

async function statements(ctx: Ctx, payee: string): Promise<Statement[]> {
  const reply = await admin<Statement[]>(ctx, 'GET', `/v1/admin/settlements?payee=${encodeURIComponent(payee)}&limit=100`);
  assert.is(reply.status, 200);
  return reply.body.reverse();
}

async function hot(ctx: Ctx, account: string): Promise<number> {
  return Number(await ctx.server.ctx.redis.hget(ctx.server.ctx.wallets.keys.balances, account) ?? 0);
}

month('contracts, profiles and bad input', async (ctx) => {
  const { tiered, daily, noKyc } = ctx.streamers;
  assert.is((await admin(ctx, 'PUT', `/v1/admin/agencies/${ctx.agency}`, { name: 'Guild X' })).status, 200);
  const unknownAgency = await admin<{ error: { code: string } }>(ctx, 'PUT', `/v1/admin/contracts/${tiered}`, { creatorTiers: [{ fromMonthCoins: 0, bps: 5000 }], agency: { agencyId: 'nope', bps: 100 } });
  assert.is(unknownAgency.body.error.code, 'NOT_FOUND');
  for (const bad of [
    { creatorTiers: [{ fromMonthCoins: 0, bps: 9500 }], agency: { agencyId: ctx.agency, bps: 1000 } },
    { creatorTiers: [{ fromMonthCoins: 5, bps: 5000 }] },
    { creatorTiers: [{ fromMonthCoins: 0, bps: '5000' }] },
    { creatorTiers: [] },
    { creatorTiers: [{ fromMonthCoins: 0, bps: 5000 }], extra: 1 },
  ]) {
    const reply = await admin<{ error: { code: string } }>(ctx, 'PUT', `/v1/admin/contracts/${tiered}`, bad);
    assert.is(reply.status, 400, JSON.stringify(bad));
    assert.is(reply.body.error.code, 'INVALID_ARGUMENT');
  }
  assert.is((await admin<{ isDefault: boolean }>(ctx, 'GET', `/v1/admin/contracts/${tiered}`)).body.isDefault, true);
  const set = await admin(ctx, 'PUT', `/v1/admin/contracts/${tiered}`, {
    creatorTiers: [{ fromMonthCoins: 0, bps: 5000 }, { fromMonthCoins: 2000, bps: 6000 }], agency: { agencyId: ctx.agency, bps: 1000 },
  });
  assert.is(set.status, 200, JSON.stringify(set.body));

  assert.is((await admin(ctx, 'PUT', `/v1/admin/payees/streamer/${tiered}`, { schedule: 'monthly', currency: 'USD', kycStatus: 'verified', taxProfile: 'TREATY_15', payoutMethod: 'stripe', stripeAccount: 'acct_refusedA' })).status, 200);
  assert.is((await admin(ctx, 'PUT', `/v1/admin/payees/streamer/${daily}`, { schedule: 'daily', currency: 'EUR', kycStatus: 'verified', payoutMethod: 'stripe', stripeAccount: 'acct_dailyB' })).status, 200);
  assert.is((await admin(ctx, 'PUT', `/v1/admin/payees/agency/${ctx.agency}`, { schedule: 'monthly', currency: 'USD', kycStatus: 'verified', taxProfile: 'US_W9', payoutMethod: 'manual' })).status, 200);
  const unknownTax = await admin<{ error: { code: string } }>(ctx, 'PUT', `/v1/admin/payees/streamer/${noKyc}`, { taxProfile: 'NOPE' });
  assert.is(unknownTax.body.error.code, 'INVALID_ARGUMENT');
  const badSchedule = await admin<{ error: { code: string } }>(ctx, 'PUT', `/v1/admin/payees/streamer/${noKyc}`, { schedule: 'hourly' });
  assert.is(badSchedule.status, 400);
  assert.equal((await admin<{ onFile: boolean; kycStatus: string }>(ctx, 'GET', `/v1/admin/payees/streamer/${noKyc}`)).body, {
    payeeAccount: `earnings:${noKyc}`, schedule: 'monthly', currency: 'USD', kycStatus: 'unverified', taxProfile: null, payoutMethod: 'stripe', stripeAccount: null, onFile: false,
  });
  const future = await admin<{ error: { code: string } }>(ctx, 'POST', '/v1/admin/settlements/run', { asOf: '2999-01-01T00:00:00Z' });
  assert.is(future.body.error.code, 'INVALID_ARGUMENT');
  const viewer = await http(ctx.server, 'POST', '/v1/admin/settlements/run', { bearer: await token('v', 'viewer'), body: {} });
  assert.is(viewer.status, 403);
  // A day past its month's end is refused, not rolled over into the next month.
  for (const asOf of ['yesterday', '2025-13-45T00:00:00Z', 20250101, '2025-02-30', '2025-02-29T00:00:00Z', '2025-04-31T12:00:00Z']) {
    const reply = await admin<{ error: { code: string } }>(ctx, 'POST', '/v1/admin/settlements/run', { asOf });
    assert.equal([reply.status, reply.body.error.code], [400, 'INVALID_ARGUMENT'], String(asOf));
  }
  for (const rate of ['1.5', '-0.1', 'abc', '0.1234567', 0.3]) {
    const reply = await admin<{ error: { code: string } }>(ctx, 'PUT', '/v1/admin/tax-rates/BAD_RATE', { rate });
    assert.equal([reply.status, reply.body.error.code], [400, 'INVALID_ARGUMENT'], String(rate));
  }
  assert.not.ok((await admin<{ code: string }[]>(ctx, 'GET', '/v1/admin/tax-rates')).body.some((r) => r.code === 'BAD_RATE'));
  for (const [method, url] of [['GET', '/v1/settlements/st_nope'], ['POST', '/v1/admin/payouts/po_nope/retry'], ['POST', '/v1/admin/payouts/po_nope/send']] as const) {
    const reply = await admin<{ error: { code: string } }>(ctx, method, url);
    assert.equal([reply.status, reply.body.error.code], [404, 'NOT_FOUND'], url);
  }
  const bigPage = await admin<{ error: { code: string } }>(ctx, 'GET', '/v1/admin/settlements?limit=5000');
  assert.equal([bigPage.status, bigPage.body.error.code], [400, 'INVALID_ARGUMENT']);
  // A filter that could never match is a mistake to point out, not an empty page.
  for (const url of ['/v1/admin/settlements?period=november', '/v1/admin/settlements?period=2025-1', `/v1/admin/settlements?payee=${tiered}`,
    `/v1/admin/settlements?payee=streamer:${tiered}`, `/v1/admin/payouts?payee=${tiered}`]) {
    const reply = await admin<{ error: { code: string } }>(ctx, 'GET', url);
    assert.equal([reply.status, reply.body.error.code], [400, 'INVALID_ARGUMENT'], url);
  }
  for (const url of ['/v1/admin/settlements?period=2025-01', '/v1/admin/settlements?period=2025-W05', '/v1/admin/settlements?period=2025-01-31',
    `/v1/admin/settlements?payee=earnings:${tiered}`, `/v1/admin/settlements?payee=agency:${ctx.agency}`, `/v1/admin/payouts?payee=earnings:${tiered}`]) {
    assert.is((await admin(ctx, 'GET', url)).status, 200, url);
  }
});

month('a month of gifts settles to the coin and the cent; re-runs change nothing; KYC carries over', async (ctx) => {
  const { tiered, daily, noKyc } = ctx.streamers;
  const model = new SplitModel();
  ctx.model = model;
  const shares: Record<string, Share[]> = {
    [tiered]: [
      { account: `earnings:${tiered}`, carryKey: 'c', bpsAt: (m) => (m >= 2000 ? 6000 : 5000) },
      { account: `agency:${ctx.agency}`, carryKey: 'a', bpsAt: () => 1000 },
    ],
    [daily]: [{ account: `earnings:${daily}`, carryKey: 'd', bpsAt: () => 7000 }],
    [noKyc]: [{ account: `earnings:${noKyc}`, carryKey: 'n', bpsAt: () => 7000 }],
  };
  const rooms: Record<string, string> = {};
  for (const streamer of [tiered, daily, noKyc]) rooms[streamer] = await openRoom(ctx.server, streamer);
  ctx.rooms = rooms;
  const viewers = Array.from({ length: 4 }, () => uniqueId('fan'));
  for (const viewer of viewers) await grant(ctx.server, viewer, 50_000_000);
  const gifts = [['rose', 1], ['heart', 5], ['lollipop', 10], ['bubbles', 50], ['crown', 100], ['rocket', 500]] as const;
  const random = seededRandom(2025);

  for (let day = 0; day < 31; day += 1) {
    ctx.now = january + day * dayMs + 5_000;
    if (day > 0) await run(ctx);
    const count = randomInt(random, 20, 60);
    for (let i = 0; i < count; i += 1) {
      ctx.now += randomInt(random, 1, 60_000);
      const streamer = [tiered, daily, noKyc][randomInt(random, 0, 2)] ?? tiered;
      const [giftId, coins] = gifts[randomInt(random, 0, gifts.length - 1)] ?? gifts[0];
      const giftCount = randomInt(random, 1, 5);
      // Some days the daily streamer earns too little to be paid: those coins carry over.
      if (streamer === daily && day % 4 === 1) continue;
      await ctx.server.ctx.gifts.send({
        senderId: viewers[i % viewers.length] ?? '', requestId: uniqueId('req'), roomId: rooms[streamer] ?? '', streamerId: streamer, giftId, count: giftCount,
      });
      model.gift(streamer, shares[streamer] ?? [], coins * giftCount, day);
    }
  }
  ctx.now = february + 30_000;
  const final = await run(ctx);
  assert.ok(final.settled.length >= 3, JSON.stringify(final));

  // The daily streamer: one statement per day with earnings, T+1; under 10.00 EUR carries over.
  const dailyStatements = await statements(ctx, `earnings:${daily}`);
  let carried = 0n;
  let expectedRows = 0;
  let paidCoins = 0n;
  let paidGrossCents = 0n;
  const dailyDays = model.byDay.get(`earnings:${daily}`) ?? [];
  for (let day = 0; day < 31; day += 1) {
    const earned = BigInt(dailyDays[day] ?? 0);
    const total = carried + earned;
    if (total === 0n) continue;
    const statement = dailyStatements[expectedRows];
    expectedRows += 1;
    assert.ok(statement !== undefined, `no statement for day ${day}`);
    assert.is(statement.period.id, new Date(january + day * dayMs).toISOString().slice(0, 10));
    assert.equal(statement.coins, { carriedIn: Number(carried), earned: Number(earned), adjustments: 0, total: Number(total) });
    // EUR 0.0092 per coin, 30 % without a tax profile, 0.25 + 0.25 %
    const expected = payableCents(total, 92n, 30n, 25n, 25n, { coins: paidCoins, grossCents: paidGrossCents });
    assert.equal([statement.gross, statement.tax, statement.fee, statement.payable], [expected.gross, expected.tax, expected.fee, expected.payable].map(cents), `day ${day}`);
    if (expected.payable < 1000n) {
      assert.equal([statement.status, statement.reason], ['carried_over', 'below_minimum'], `day ${day}`);
      carried = total;
    } else {
      assert.is(statement.status, 'settled', `day ${day}`);
      assert.is(statement.payout?.status, 'paid', `day ${day}: ${JSON.stringify(statement.payout)}`);
      paidCoins += total;
      paidGrossCents += expected.gross;
      carried = 0n;
    }
  }
  assert.is(dailyStatements.length, expectedRows);
  assert.ok(dailyStatements.some((s) => s.status === 'carried_over') && dailyStatements.some((s) => s.status === 'settled'));
  assert.is(BigInt(await hot(ctx, `earnings:${daily}`)), carried, 'what did not settle is still unsettled');
  const dailyTransfers = ctx.standIn.transfers.filter((t) => t.destination === 'acct_dailyB');
  assert.is(dailyTransfers.reduce((sum, t) => sum + BigInt(t.amount), 0n),
    dailyStatements.filter((s) => s.status === 'settled').reduce((sum, s) => sum + BigInt(s.payable.replace('.', '')), 0n));
  assert.ok(dailyTransfers.every((t) => t.currency === 'eur' && t.idempotencyKey?.startsWith('payout:po_')));

  // The tiered streamer: the month in one statement, at the treaty rate; its Stripe account refuses the transfer.
  const [tieredJan] = await statements(ctx, `earnings:${tiered}`);
  const tieredCoins = BigInt(model.total(`earnings:${tiered}`));
  assert.ok((model.month.get(tiered) ?? 0) > 2000, 'the month crossed the tier');
  assert.equal(tieredJan?.coins, { carriedIn: 0, earned: Number(tieredCoins), adjustments: 0, total: Number(tieredCoins) });
  const tieredExpected = payableCents(tieredCoins, 100n, 15n, 25n, 25n);
  assert.equal([tieredJan?.gross, tieredJan?.tax, tieredJan?.fee, tieredJan?.payable], [tieredExpected.gross, tieredExpected.tax, tieredExpected.fee, tieredExpected.payable].map(cents));
  assert.is(tieredJan?.payout?.status, 'failed');
  assert.match(tieredJan?.payout?.lastError ?? '', 'not allowed');
  assert.is(await hot(ctx, `earnings:${tiered}`), Number(tieredCoins), 'a failed payout returns the coins to the payee');
  assert.is(await hot(ctx, `settling:earnings:${tiered}`), 0);

  // The agency: its cut of every gift, paid by hand from a CSV.
  const [agencyJan] = await statements(ctx, `agency:${ctx.agency}`);
  const agencyCoins = BigInt(model.total(`agency:${ctx.agency}`));
  assert.is(agencyJan?.coins.total, Number(agencyCoins));
  const agencyExpected = payableCents(agencyCoins, 100n, 0n, 500n, 0n);
  assert.equal([agencyJan?.tax, agencyJan?.fee, agencyJan?.payable], [agencyExpected.tax, agencyExpected.fee, agencyExpected.payable].map(cents));
  assert.is(agencyJan?.payout?.status, 'pending');

  // No KYC: the whole month carries over, with the reason on the statement.
  const [noKycJan] = await statements(ctx, `earnings:${noKyc}`);
  const noKycCoins = model.total(`earnings:${noKyc}`);
  assert.equal([noKycJan?.status, noKycJan?.reason, noKycJan?.coins.total, noKycJan?.payout], ['carried_over', 'kyc_unverified', noKycCoins, null]);
  assert.is(await hot(ctx, `earnings:${noKyc}`), noKycCoins);

  // Settlement entries balance and move exactly the statement's coins into settling.
  await ledgerCaughtUp(ctx.server);
  const entries = await ctx.server.ctx.sql<{ settlement_id: string; account_id: string; amount: string }[]>`
    select e.meta ->> 'settlementId' as settlement_id, p.account_id, p.amount::text
      from journal_entries e join postings p on p.entry_id = e.id
     where e.kind = 'settlement' and e.meta ->> 'payee' = any(${[`earnings:${daily}`, `earnings:${tiered}`, `agency:${ctx.agency}`]})`;
  const settledRows = [...dailyStatements, tieredJan, agencyJan].filter((s): s is Statement => s?.status === 'settled');
  assert.is(entries.length, settledRows.length * 2);
  for (const row of settledRows) {
    const legs = entries.filter((e) => e.settlement_id === row.id).map((e) => [e.account_id.startsWith('settling:') ? 'settling' : 'payee', Number(e.amount)]);
    assert.equal(legs.sort(), [['payee', -row.coins.total], ['settling', row.coins.total]].sort());
  }

  // A re-run, even of every day again, changes nothing.
  const before = await ctx.server.ctx.sql`select count(*)::int as n from settlements`;
  for (const asOf of [undefined, '2025-01-15T12:00:00Z', '2025-02-01T00:00:00Z']) {
    const again = await run(ctx, asOf);
    assert.equal([again.settled.filter((id) => dailyStatements.some((s) => s.id === id)), again.carriedOver.length], [[], 0]);
  }
  assert.equal(await ctx.server.ctx.sql`select count(*)::int as n from settlements`, before);
  assert.is(await hot(ctx, `earnings:${tiered}`), Number(tieredCoins));
  const report = await flushAndReconcile(ctx.server);
  assert.ok(report.ok, JSON.stringify(report.mismatches));

  // Next month, KYC done: the carried coins settle with February's (none).
  assert.is((await admin(ctx, 'PUT', `/v1/admin/payees/streamer/${noKyc}`, { kycStatus: 'verified', payoutMethod: 'manual' })).status, 200);
  ctx.now = march + 1_000;
  await run(ctx);
  const [, noKycFeb] = await statements(ctx, `earnings:${noKyc}`);
  assert.equal([noKycFeb?.period.id, noKycFeb?.status, noKycFeb?.coins.carriedIn, noKycFeb?.coins.earned, noKycFeb?.coins.total], ['2025-02', 'settled', noKycCoins, 0, noKycCoins]);
  assert.is(await hot(ctx, `earnings:${noKyc}`), 0);
  assert.is(await hot(ctx, `settling:earnings:${noKyc}`), noKycCoins);
});

month('a payee\'s earnings view: its day, 7 and 30 days, each of 30 days, settlement period, total and rooms, to the coin, whatever the ledger holds after', async (ctx) => {
  const { tiered, daily } = ctx.streamers;
  const keptNow = ctx.now;
  try {
    for (const [streamer, schedule] of [[tiered, 'monthly'], [daily, 'daily']] as const) {
      const account = `earnings:${streamer}`;
      const bearer = await token(streamer, 'streamer');
      // Days 0 and 3: windows cut by the month's start; 20: the 30 days hold days after it, which are not counted.
      for (const day of [0, 3, 20, 30]) {
        ctx.now = january + day * dayMs + 23 * 3_600_000;
        const reply = await http<{ today: number; last7Days: number; last30Days: number; ledgerTotal: number; currentPeriod: { id: string; coins: number };
          perRoom: { roomId: string; coins: number; gifts: number }[]; daily: { day: string; coins: number; gifts: number }[] }>(ctx.server, 'GET', '/v1/streamers/me/earnings', { bearer });
        assert.is(reply.status, 200);
        const { today, last7Days, last30Days, ledgerTotal, currentPeriod, perRoom } = reply.body;
        assert.equal(reply.body.daily, ctx.model.daily(account, day), `${schedule}, the 30 days to day ${day}`);
        assert.equal([today, last7Days, last30Days], [ctx.model.total(account, day, day), ctx.model.total(account, day - 6, day), ctx.model.total(account, day - 29, day)], `${schedule}, day ${day}`);
        assert.is(ledgerTotal, ctx.model.total(account), 'all the gifts, settled or not');
        const periodFirstDay = schedule === 'monthly' ? 0 : day;
        assert.equal([currentPeriod.id, currentPeriod.coins], [schedule === 'monthly' ? '2025-01' : new Date(ctx.now).toISOString().slice(0, 10), ctx.model.total(account, periodFirstDay, day)]);
        assert.equal(perRoom.map((r) => [r.roomId, r.coins, r.gifts]), [[ctx.rooms[streamer], ctx.model.total(account), ctx.model.gifts(account)]]);
      }
    }
    // The agency: its cut, the same way, beside its live balances.
    const agencyAccount = `agency:${ctx.agency}`;
    const agencyBearer = await token(ctx.agency, 'agency');
    for (const day of [2, 30]) {
      ctx.now = january + day * dayMs + 3_600_000;
      const reply = await http<{ agencyId: string; unsettled: number; awaitingPayout: number; today: number; last7Days: number; last30Days: number; ledgerTotal: number;
        currentPeriod: { id: string; coins: number }; daily: { day: string; coins: number; gifts: number }[] }>(ctx.server, 'GET', '/v1/agencies/me/earnings', { bearer: agencyBearer });
      assert.is(reply.status, 200, JSON.stringify(reply.body));
      const { body } = reply;
      assert.equal([body.agencyId, body.unsettled, body.awaitingPayout], [ctx.agency, await hot(ctx, agencyAccount), await hot(ctx, `settling:${agencyAccount}`)]);
      assert.equal([body.today, body.last7Days, body.last30Days, body.ledgerTotal, body.currentPeriod.id, body.currentPeriod.coins],
        [ctx.model.total(agencyAccount, day, day), ctx.model.total(agencyAccount, day - 6, day), ctx.model.total(agencyAccount, day - 29, day),
          ctx.model.total(agencyAccount), '2025-01', ctx.model.total(agencyAccount, 0, day)], `agency, day ${day}`);
      assert.equal(body.daily, ctx.model.daily(agencyAccount, day));
    }
    assert.is((await http(ctx.server, 'GET', '/v1/agencies/me/earnings', { bearer: await token(tiered, 'streamer') })).status, 403);
    assert.is((await http(ctx.server, 'GET', '/v1/streamers/me/earnings', { bearer: agencyBearer })).status, 403);
  } finally {
    ctx.now = keptNow;
  }
});

month('an agency sees its cut per streamer: the latest gifts first, and only what it took while it held the contract', async (ctx) => {
  const [crew, rival] = [uniqueId('crew'), uniqueId('rival')].map((id) => id.replace(/[^A-Za-z0-9_-]/g, '_')) as [string, string];
  for (const agency of [crew, rival]) assert.is((await admin(ctx, 'PUT', `/v1/admin/agencies/${agency}`, { name: agency })).status, 200);
  const [alpha, beta] = [uniqueId('alpha'), uniqueId('beta')];
  const sign = async (streamer: string, agencyId: string) => assert.is((await admin(ctx, 'PUT', `/v1/admin/contracts/${streamer}`,
    { creatorTiers: [{ fromMonthCoins: 0, bps: 7000 }], agency: { agencyId, bps: 1000 } })).status, 200);
  await sign(alpha, crew);
  await sign(beta, crew);
  const fan = uniqueId('fan');
  await grant(ctx.server, fan, 10_000);
  const rooms = { [alpha]: await openRoom(ctx.server, alpha), [beta]: await openRoom(ctx.server, beta) };
  const send = async (streamer: string, giftId: string, count: number) => {
    ctx.now += 60_000;
    await ctx.server.ctx.gifts.send({ senderId: fan, requestId: uniqueId('req'), roomId: rooms[streamer] ?? '', streamerId: streamer, giftId, count });
  };
  await send(alpha, 'rocket', 1);
  await send(alpha, 'rocket', 2);
  await send(beta, 'crown', 1);
  // Beta leaves for the rival; its gifts from then on pay the rival.
  await sign(beta, rival);
  await send(beta, 'crown', 3);
  await ledgerCaughtUp(ctx.server);
  const cut = async (agency: string) => {
    const reply = await http<{ perStreamer: { streamerId: string; coins: number; gifts: number; lastGiftAt: string }[] }>(
      ctx.server, 'GET', '/v1/agencies/me/earnings', { bearer: await token(agency, 'agency') });
    assert.is(reply.status, 200, JSON.stringify(reply.body));
    return reply.body.perStreamer.map((row) => [row.streamerId, row.coins, row.gifts, row.lastGiftAt]);
  };
  // 10 % of 500 + 1,000 coins from alpha, of 100 from beta, then of 300 to the rival; the latest gift first, not the most coins.
  assert.equal(await cut(crew), [[beta, 10, 1, new Date(ctx.now - 60_000).toISOString()], [alpha, 150, 2, new Date(ctx.now - 120_000).toISOString()]]);
  assert.equal(await cut(rival), [[beta, 30, 1, new Date(ctx.now).toISOString()]]);
});

month('a failed payout is retried while its period is open, and refused once it closed', async (ctx) => {
  const { tiered } = ctx.streamers;
  const [jan] = await statements(ctx, `earnings:${tiered}`);
  const payoutId = jan?.payout?.id ?? '';
  const coins = jan?.coins.total ?? 0;
  // The coins returned on Feb 1 (fake clock); it is March now: February's period has closed.
  const late = await admin<{ error: { code: string; message: string } }>(ctx, 'POST', `/v1/admin/payouts/${payoutId}/retry`);
  assert.is(late.status, 409);
  assert.match(late.body.error.message, '2025-02');
  // March's run already took the returned coins into February's statement, as adjustments.
  const [, feb] = await statements(ctx, `earnings:${tiered}`);
  assert.equal([feb?.period.id, feb?.coins.adjustments, feb?.coins.total], ['2025-02', coins, coins]);
  assert.is(feb?.payout?.status, 'failed', 'the same refused account refuses again');

  // Fix the account and retry February's payout inside March: the coins go out once.
  ctx.standIn.refuseTransfersTo.delete('acct_refusedA');
  assert.is((await admin(ctx, 'PUT', `/v1/admin/payees/streamer/${tiered}`, { stripeAccount: 'acct_fixedA' })).status, 200);
  ctx.standIn.refuseTransfersTo.add('acct_refusedA');
  const retried = await admin<{ status: string; attempts: number; transferId: string }>(ctx, 'POST', `/v1/admin/payouts/${feb?.payout?.id ?? ''}/retry`);
  assert.is(retried.status, 200, JSON.stringify(retried.body));
  assert.equal([retried.body.status, retried.body.attempts], ['paid', 2]);
  const transfer = ctx.standIn.transfers.find((t) => t.id === retried.body.transferId);
  assert.equal([transfer?.destination, transfer?.idempotencyKey, String(transfer?.amount)], ['acct_fixedA', `payout:${feb?.payout?.id ?? ''}:2`, feb?.payable.replace('.', '')]);
  const twice = await admin<{ error: { code: string } }>(ctx, 'POST', `/v1/admin/payouts/${feb?.payout?.id ?? ''}/retry`);
  assert.is(twice.body.error.code, 'CONFLICT');
  assert.is(await hot(ctx, `earnings:${tiered}`), 0);
  assert.is(await hot(ctx, `settling:earnings:${tiered}`), 0);
  const report = await flushAndReconcile(ctx.server);
  assert.ok(report.ok, JSON.stringify(report.mismatches));
});

month('a payout resumed after Stripe and Redis forgot its keys pays once: one transfer, one ledger entry', async (ctx) => {
  const { daily } = ctx.streamers;
  const room = await openRoom(ctx.server, daily);
  const fan = uniqueId('fan');
  await grant(ctx.server, fan, 10_000);
  ctx.now = march + 60_000;
  for (let i = 0; i < 2; i += 1) {
    await ctx.server.ctx.gifts.send({ senderId: fan, requestId: uniqueId('req'), roomId: room, streamerId: daily, giftId: 'rocket', count: 5 });
  }
  // March 1 settles on March 2; the transfer is made, but its answer never arrives.
  ctx.standIn.loseTransferAnswers = true;
  ctx.now = march + dayMs + 5_000;
  await run(ctx);
  ctx.standIn.loseTransferAnswers = false;
  const marchFirst = (await statements(ctx, `earnings:${daily}`)).find((s) => s.period.id === '2025-03-01');
  const payoutId = marchFirst?.payout?.id ?? '';
  assert.is(marchFirst?.payout?.status, 'sending', JSON.stringify(marchFirst));
  const transfersOf = () => ctx.standIn.transfers.filter((t) => t.metadata.payout_id === payoutId);
  assert.is(transfersOf().length, 1, 'the transfer went out although its answer was lost');

  // Two days later Stripe no longer knows the key: the sweep finds the transfer instead of making another.
  ctx.standIn.forgetIdempotencyKeys();
  ctx.now += 2 * dayMs;
  // While Stripe cannot list, nothing is sent and nothing refused: the payout waits.
  ctx.standIn.failLists = true;
  const waiting = await admin<{ error: { code: string } }>(ctx, 'POST', `/v1/admin/payouts/${payoutId}/send`);
  ctx.standIn.failLists = false;
  assert.equal([waiting.status, waiting.body.error.code], [503, 'UNAVAILABLE']);
  assert.is(transfersOf().length, 1);
  assert.is((await statements(ctx, `earnings:${daily}`)).find((s) => s.id === marchFirst?.id)?.payout?.status, 'sending');
  const resumed = await admin<{ status: string; transferId: string }>(ctx, 'POST', `/v1/admin/payouts/${payoutId}/send`);
  assert.equal([resumed.status, resumed.body.status, resumed.body.transferId], [200, 'paid', transfersOf()[0]?.id]);
  assert.is(transfersOf().length, 1);

  // A crash after the ledger entry and before the payout row, found a day later: Redis has
  // forgotten the entry's key as well, and the ledger answers for it.
  await ledgerCaughtUp(ctx.server);
  const paidEntries = () => ctx.server.ctx.sql<{ id: string }[]>`
    select id::text from journal_entries where kind = 'payout' and meta ->> 'payoutId' = ${payoutId}`;
  const [paidEntry] = await paidEntries();
  const settling = await hot(ctx, `settling:earnings:${daily}`);
  await ctx.server.ctx.sql`update payouts set status = 'sending', transfer_id = null, paid_entry_id = null where id = ${payoutId}`;
  await ctx.server.ctx.redis.del(ctx.server.ctx.wallets.keys.operationIdempotency(`payout-paid:${payoutId}`));
  ctx.standIn.forgetIdempotencyKeys();
  ctx.now += dayMs;
  const again = await admin<{ status: string; transferId: string }>(ctx, 'POST', `/v1/admin/payouts/${payoutId}/send`);
  assert.equal([again.status, again.body.status, again.body.transferId], [200, 'paid', transfersOf()[0]?.id]);
  assert.is(transfersOf().length, 1);
  assert.equal((await paidEntries()).map((e) => e.id), [paidEntry?.id], 'one payout entry in the ledger');
  const [row] = await ctx.server.ctx.sql<{ paid_entry_id: string }[]>`select paid_entry_id::text from payouts where id = ${payoutId}`;
  assert.is(row?.paid_entry_id, paidEntry?.id);
  assert.is(await hot(ctx, `settling:earnings:${daily}`), settling, 'the coins left settling once');
  const report = await flushAndReconcile(ctx.server);
  assert.ok(report.ok, JSON.stringify(report.mismatches));
});

month('manual payouts: a CSV export, then the bank\'s outcome; statements as JSON and CSV, for their owner only', async (ctx) => {
  const [agencyJan] = await statements(ctx, `agency:${ctx.agency}`);
  // Sending is for Stripe payouts: a manual one is refused for what it is, whether Stripe
  // is configured or not, and stays as it was.
  const manualId = agencyJan?.payout?.id ?? '';
  const sentWithStripe = await admin<{ error: { code: string; message: string } }>(ctx, 'POST', `/v1/admin/payouts/${manualId}/send`);
  assert.equal([sentWithStripe.status, sentWithStripe.body.error.code], [409, 'CONFLICT']);
  const { sql: storage, wallets, payees } = ctx.server.ctx;
  const withoutStripe = new PayoutService(storage, wallets, payees, null, () => ctx.now);
  const refusal = await withoutStripe.send(manualId).then(() => null, (error: unknown) => error);
  assert.ok(refusal instanceof DomainError, String(refusal));
  assert.equal([refusal.code, refusal.message], ['CONFLICT', sentWithStripe.body.error.message]);
  assert.equal([(await withoutStripe.get(manualId))?.status, (await withoutStripe.get(manualId))?.attempts], ['pending', agencyJan?.payout?.attempts]);
  const csv = await admin<string>(ctx, 'POST', '/v1/admin/payouts/export');
  assert.is(csv.status, 200);
  assert.ok(csv.body.startsWith('payout_id,settlement_id,payee,currency,amount,coins\n'));
  assert.ok(csv.body.includes(`${agencyJan?.payout?.id ?? ''},${agencyJan?.id ?? ''},agency:${ctx.agency},USD,`), csv.body);
  const again = await admin<string>(ctx, 'POST', '/v1/admin/payouts/export');
  assert.not.ok(again.body.includes(agencyJan?.payout?.id ?? '-'), 'an exported payout is not exported twice');
  const noReference = await admin<{ error: { code: string } }>(ctx, 'POST', `/v1/admin/payouts/${agencyJan?.payout?.id ?? ''}/mark`, { outcome: 'paid' });
  assert.is(noReference.status, 400);
  // Two admins report opposite outcomes at once. Other coins sit in the same settling
  // account (as other exported payouts of this payee would), so the account's floor cannot
  // be what stops the second: the first report must.
  const payoutId = agencyJan?.payout?.id ?? '';
  const settling = `settling:agency:${ctx.agency}`;
  const extra = (coins: number) => ctx.server.ctx.wallets.postEntry({ entryId: randomUUID(), kind: 'grant', nowMs: Date.now(), meta: { test: 'other payouts' },
    postings: [{ accountId: 'system:grants', amount: -coins }, { accountId: settling, amount: coins }], flooredAccounts: new Set([settling]) });
  await extra(10_000_000);
  // A mark a crash interrupted after its claim: only its own outcome may finish it.
  const sql = ctx.server.ctx.sql;
  await sql`update payouts set status = 'sending' where id = ${payoutId}`;
  await sql`insert into payout_attempts (payout_id, attempt, idempotency_key, outcome, detail)
            select id, attempts, 'payout:' || id || ':' || attempts, 'started', 'paid: WIRE-2025-0001' from payouts where id = ${payoutId}`;
  const otherOutcome = await admin<{ error: { code: string; message: string } }>(ctx, 'POST', `/v1/admin/payouts/${payoutId}/mark`, { outcome: 'failed', reason: 'bounced' });
  assert.equal([otherOutcome.status, otherOutcome.body.error.code], [409, 'CONFLICT']);
  assert.match(otherOutcome.body.error.message, /being marked paid/);
  await sql`delete from payout_attempts where payout_id = ${payoutId} and outcome = 'started'`;
  await sql`update payouts set status = 'exported' where id = ${payoutId}`;
  const agencyBefore = await hot(ctx, `agency:${ctx.agency}`);
  const settlingBefore = await hot(ctx, settling);
  const [paid, bounced] = await ctx.server.ctx.sql.begin(async (tx) => {
    // Both reports queue on the payout's row, in this order, until the lock is let go.
    await tx`select 1 from payouts where id = ${payoutId} for update`;
    const first = admin<{ status: string; coins: string }>(ctx, 'POST', `/v1/admin/payouts/${payoutId}/mark`, { outcome: 'paid', reference: 'WIRE-2025-0001' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const second = admin<{ error: { code: string; message: string } }>(ctx, 'POST', `/v1/admin/payouts/${payoutId}/mark`, { outcome: 'failed', reason: 'bounced' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    return [first, second];
  });
  assert.is((await paid).body.status, 'paid');
  const refusedBounce = await bounced;
  assert.equal([refusedBounce.status, refusedBounce.body.error.code], [409, 'CONFLICT'], JSON.stringify(refusedBounce.body));
  assert.match(refusedBounce.body.error.message, /being marked paid/);
  assert.is(await hot(ctx, `agency:${ctx.agency}`), agencyBefore, 'the refused report returned nothing to the payee');
  assert.is(await hot(ctx, settling), settlingBefore - Number((await paid).body.coins), 'the coins left settling once');
  await extra(-10_000_000);
  for (const url of [`/v1/admin/payouts/${agencyJan?.payout?.id ?? ''}/retry`, `/v1/admin/payouts/${agencyJan?.payout?.id ?? ''}/send`]) {
    assert.is((await admin<{ error: { code: string } }>(ctx, 'POST', url)).body.error.code, 'CONFLICT', url);
  }
  const markedTwice = await admin<{ error: { code: string } }>(ctx, 'POST', `/v1/admin/payouts/${agencyJan?.payout?.id ?? ''}/mark`, { outcome: 'failed', reason: 'late bounce' });
  assert.is(markedTwice.body.error.code, 'CONFLICT');
  assert.is(await hot(ctx, `settling:agency:${ctx.agency}`), 0);

  const { daily, tiered } = ctx.streamers;
  const [first] = await statements(ctx, `earnings:${daily}`);
  const own = await http<Statement>(ctx.server, 'GET', `/v1/settlements/${first?.id ?? ''}`, { bearer: await token(daily, 'streamer') });
  assert.equal(own.body, first);
  const asCsv = await http<string>(ctx.server, 'GET', `/v1/settlements/${first?.id ?? ''}?format=csv`, { bearer: await token(daily, 'streamer') });
  assert.ok(asCsv.body.split('\n')[0]?.startsWith('statement,payee,period,status,line,coins,amount,currency,note'));
  assert.ok(asCsv.body.includes(`,payable,,${first?.payable ?? ''},EUR,`), asCsv.body);
  const other = await http<{ error: { code: string } }>(ctx.server, 'GET', `/v1/settlements/${first?.id ?? ''}`, { bearer: await token(tiered, 'streamer') });
  assert.is(other.status, 404);
  const mine = await http<Statement[]>(ctx.server, 'GET', '/v1/streamers/me/settlements', { bearer: await token(daily, 'streamer') });
  assert.is(mine.body.length, (await statements(ctx, `earnings:${daily}`)).length);
});

month('an agency reads its own statements, and only its own', async (ctx) => {
  const agencyStatements = await statements(ctx, `agency:${ctx.agency}`);
  const [agencyJan] = agencyStatements;
  const agencyBearer = await token(ctx.agency, 'agency');
  const list = await http<Statement[]>(ctx.server, 'GET', '/v1/agencies/me/settlements', { bearer: agencyBearer });
  assert.is(list.status, 200);
  assert.equal(list.body.map((s) => s.id).sort(), agencyStatements.map((s) => s.id).sort());
  const one = await http<Statement>(ctx.server, 'GET', `/v1/settlements/${agencyJan?.id ?? ''}`, { bearer: agencyBearer });
  assert.equal([one.status, one.body.id, one.body.payout?.status], [200, agencyJan?.id, 'paid']);
  const asCsv = await http<string>(ctx.server, 'GET', `/v1/settlements/${agencyJan?.id ?? ''}?format=csv`, { bearer: agencyBearer });
  assert.ok(asCsv.body.includes(`,payable,,${agencyJan?.payable ?? ''},USD,`), asCsv.body);

  // A streamer's statement is not the agency's, nor the agency's a streamer's; other roles have no such list.
  const [streamerStatement] = await statements(ctx, `earnings:${ctx.streamers.daily}`);
  assert.is((await http(ctx.server, 'GET', `/v1/settlements/${streamerStatement?.id ?? ''}`, { bearer: agencyBearer })).status, 404);
  assert.is((await http(ctx.server, 'GET', `/v1/settlements/${agencyJan?.id ?? ''}`, { bearer: await token(ctx.streamers.tiered, 'streamer') })).status, 404);
  assert.is((await http(ctx.server, 'GET', `/v1/settlements/${agencyJan?.id ?? ''}`, { bearer: await token(ctx.agency, 'viewer') })).status, 403);
  for (const role of ['viewer', 'streamer', 'admin'] as const) {
    assert.is((await http(ctx.server, 'GET', '/v1/agencies/me/settlements', { bearer: await token(ctx.agency, role) })).status, 403, role);
  }
  const stranger = await http<Statement[]>(ctx.server, 'GET', '/v1/agencies/me/settlements', { bearer: await token('no-such-agency', 'agency') });
  assert.equal([stranger.status, stranger.body], [200, []]);
});

month('a manual payout bounced, retried and bounced again returns its coins each time; retries at once move them once; a paid mark a crash cut short finishes once', async (ctx) => {
  const { noKyc } = ctx.streamers;
  const [, feb] = await statements(ctx, `earnings:${noKyc}`);
  const payoutId = feb?.payout?.id ?? '';
  const coins = feb?.coins.total ?? 0;
  assert.ok(coins > 0);
  const payee = `earnings:${noKyc}`;
  const settling = `settling:${payee}`;
  const where = async () => [await hot(ctx, payee), await hot(ctx, settling)];
  const mark = (body: object) => admin<{ status: string; attempts: number; error?: { code: string } }>(ctx, 'POST', `/v1/admin/payouts/${payoutId}/mark`, body);
  const retry = () => admin<{ status: string; attempts: number; error?: { code: string; message: string } }>(ctx, 'POST', `/v1/admin/payouts/${payoutId}/retry`);
  assert.equal(await where(), [0, coins]);

  for (const round of [1, 2, 3]) {
    const bounced = await mark({ outcome: 'failed', reason: `bounced ${round}` });
    assert.equal([bounced.status, bounced.body.status], [200, 'failed'], JSON.stringify(bounced.body));
    assert.equal(await where(), [coins, 0], `bounce ${round} returned the coins to the payee`);
    // Two admins retry at once; both queue on the payout's row until the lock is let go.
    const [first, second] = await ctx.server.ctx.sql.begin(async (tx) => {
      await tx`select 1 from payouts where id = ${payoutId} for update`;
      const both = [retry(), retry()];
      await new Promise((resolve) => setTimeout(resolve, 150));
      return both;
    });
    const outcomes = [await first, await second].map((reply) => reply.body.status ?? reply.body.error?.code).sort();
    assert.equal(outcomes, ['CONFLICT', 'pending'], `round ${round}`);
    assert.equal(await where(), [0, coins], `retry ${round} moved the coins into settling once`);
  }
  // The paid report crashes after its claim and its ledger entry, before the payout's row
  // says paid. The same report again finishes it: the entry replays, the coins move once.
  const sql = ctx.server.ctx.sql;
  await sql`update payouts set status = 'sending' where id = ${payoutId}`;
  await sql`insert into payout_attempts (payout_id, attempt, idempotency_key, outcome, detail)
            select id, attempts, 'payout:' || id || ':' || attempts, 'started', 'paid: WIRE-2025-0300' from payouts where id = ${payoutId}`;
  await ctx.server.ctx.wallets.postEntry({ entryId: randomUUID(), kind: 'payout', nowMs: ctx.now, meta: { payoutId, test: 'crashed mark' },
    postings: [{ accountId: settling, amount: -coins }, { accountId: 'system:payouts', amount: coins }], flooredAccounts: new Set([settling]),
    idempotencyKey: `payout-paid:${payoutId}`, fingerprint: String(coins) });
  assert.equal(await where(), [0, 0], 'the crashed mark moved the coins');
  const paid = await mark({ outcome: 'paid', reference: 'WIRE-2025-0300' });
  assert.equal([paid.status, paid.body.status], [200, 'paid'], JSON.stringify(paid.body));
  assert.equal(await where(), [0, 0], 'and finishing it moved nothing more');
  await ledgerCaughtUp(ctx.server);
  const [paidEntries] = await sql<{ n: number }[]>`
    select count(*)::int as n from journal_entries where kind = 'payout' and meta->>'idempotencyKey' = ${`payout-paid:${payoutId}`}`;
  assert.is(paidEntries?.n, 1, 'one payout entry in the ledger');
  const attempts = await ctx.server.ctx.sql<{ attempt: number; outcome: string }[]>`
    select attempt, outcome from payout_attempts where payout_id = ${payoutId} and outcome <> 'started' order by attempt`;
  assert.equal(attempts.map((a) => `${a.attempt}:${a.outcome}`), ['0:failed', '1:failed', '2:failed', '3:paid'], 'each bounce is an attempt of its own');
  const report = await flushAndReconcile(ctx.server);
  assert.ok(report.ok, JSON.stringify(report.mismatches));
});

/** A new verified streamer who earns 3,500 coins this month (ten 500-coin gifts, 70 %); returns its payee account. */
async function streamerEarnedThisMonth(ctx: Ctx, name: string, profile: Record<string, string>): Promise<string> {
  const streamer = uniqueId(name);
  assert.is((await admin(ctx, 'PUT', `/v1/admin/payees/streamer/${streamer}`, { kycStatus: 'verified', ...profile })).status, 200);
  const room = await openRoom(ctx.server, streamer);
  const fan = uniqueId('fan');
  await grant(ctx.server, fan, 100_000);
  for (let i = 0; i < 10; i += 1) {
    await ctx.server.ctx.gifts.send({ senderId: fan, requestId: uniqueId('req'), roomId: room, streamerId: streamer, giftId: 'rocket', count: 1 });
  }
  const payee = `earnings:${streamer}`;
  assert.is(await hot(ctx, payee), 3_500, 'the default split: 70 % of 5,000 coins');
  return payee;
}

/** 1 s into the next calendar month (UTC) after `ms`: the month of `ms` has closed. */
function nextMonthStart(ms: number): number {
  const at = new Date(ms);
  return Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1) + 1_000;
}

/** What a crash between a statement's ledger entry and its payout leaves behind: the statement still posting, no payout. */
async function cutShortAfterEntry(ctx: Ctx, statementId: string): Promise<void> {
  await ctx.server.ctx.sql`delete from payouts where settlement_id = ${statementId}`;
  await ctx.server.ctx.sql`update settlements set status = 'posting', settled_at = null where id = ${statementId}`;
}

/** A new streamer's month settled by a run, then left as a crash after its ledger entry would leave it. */
async function settledThenCutShort(ctx: Ctx, name: string): Promise<{ payee: string; earned: number; statement: Statement }> {
  const payee = await streamerEarnedThisMonth(ctx, name, { payoutMethod: 'manual' });
  const earned = await hot(ctx, payee);
  ctx.now = nextMonthStart(ctx.now);
  await run(ctx);
  const [statement] = await statements(ctx, payee);
  if (statement === undefined) throw new Error('no statement');
  await cutShortAfterEntry(ctx, statement.id);
  return { payee, earned, statement };
}

month('settlement runs at once settle each payee\'s period once: one statement, one ledger entry, one payout', async (ctx) => {
  const payee = await streamerEarnedThisMonth(ctx, 'racer', { payoutMethod: 'manual' });
  const earned = await hot(ctx, payee);
  ctx.now = nextMonthStart(ctx.now);

  const runs = await Promise.all(Array.from({ length: 4 }, () => admin<{ settled: string[] }>(ctx, 'POST', '/v1/admin/settlements/run', {})));
  assert.ok(runs.every((reply) => reply.status === 200), JSON.stringify(runs.map((r) => r.body)));
  const [statement, ...more] = await statements(ctx, payee);
  assert.is(more.length, 0, 'one statement for the period');
  assert.equal([statement?.status, statement?.coins.total, statement?.payout?.status], ['settled', earned, 'pending']);
  assert.is(runs.filter((reply) => reply.body.settled.includes(statement?.id ?? '')).length, 1, 'one run settled it; the others found it done');
  assert.equal([await hot(ctx, payee), await hot(ctx, `settling:${payee}`)], [0, earned], 'the coins moved into settling once');
  await ledgerCaughtUp(ctx.server);
  const sql = ctx.server.ctx.sql;
  const [entries] = await sql<{ n: number }[]>`select count(*)::int as n from journal_entries where kind = 'settlement' and meta->>'payee' = ${payee}`;
  const [payouts] = await sql<{ n: number }[]>`select count(*)::int as n from payouts where payee_account = ${payee}`;
  assert.equal([entries?.n, payouts?.n], [1, 1]);
  // Every payee the runs raced on, not only this one: one settlement entry per statement that moved coins.
  const [unmatched] = await sql<{ n: number }[]>`
    select count(*)::int as n from settlements s
     where s.status = 'settled' and (select count(*) from journal_entries e where e.kind = 'settlement' and e.meta->>'settlementId' = s.id) <> 1`;
  assert.is(unmatched?.n, 0);
  const report = await flushAndReconcile(ctx.server);
  assert.ok(report.ok, JSON.stringify(report.mismatches));
});

month('a run cut short after a statement\'s ledger entry is finished by the next: one entry, one payout, the coins moved once', async (ctx) => {
  const { payee, earned, statement } = await settledThenCutShort(ctx, 'resumed');
  const sql = ctx.server.ctx.sql;
  const resumed = await run(ctx);
  assert.ok(resumed.settled.includes(statement.id), JSON.stringify(resumed));
  const [after, ...more] = await statements(ctx, payee);
  assert.equal([more.length, after?.id, after?.status, after?.coins.total, after?.payout?.status], [0, statement.id, 'settled', earned, 'pending']);
  assert.equal([await hot(ctx, payee), await hot(ctx, `settling:${payee}`)], [0, earned], 'the coins moved into settling once');
  await ledgerCaughtUp(ctx.server);
  const [entries] = await sql<{ n: number }[]>`select count(*)::int as n from journal_entries where kind = 'settlement' and meta->>'payee' = ${payee}`;
  const [payouts] = await sql<{ n: number }[]>`select count(*)::int as n from payouts where payee_account = ${payee}`;
  assert.equal([entries?.n, payouts?.n], [1, 1]);
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

month('a run asks only the payees it has work for: owed coins or a statement cut short; not those settled, carried over or paid up', async (ctx) => {
  const owed = await streamerEarnedThisMonth(ctx, 'owed', { payoutMethod: 'manual' });
  const quiet = await streamerEarnedThisMonth(ctx, 'quiet', { payoutMethod: 'manual' });
  const pending = await streamerEarnedThisMonth(ctx, 'pending', { payoutMethod: 'manual', kycStatus: 'pending' });
  // No profile on file: monthly, and carried over until KYC.
  const unknown = uniqueId('unknown');
  const unknownFan = uniqueId('fan');
  await grant(ctx.server, unknownFan, 500);
  await ctx.server.ctx.gifts.send({ senderId: unknownFan, requestId: uniqueId('req'), roomId: await openRoom(ctx.server, unknown), streamerId: unknown, giftId: 'rocket', count: 1 });
  const ours = [owed, quiet, pending, `earnings:${unknown}`].sort();
  const due = async () => {
    await ledgerCaughtUp(ctx.server);
    const all = new Set(await ctx.server.ctx.settlements.duePayees(ctx.now));
    return ours.filter((payee) => all.has(payee));
  };
  assert.equal(await due(), [], 'nobody is due before the month closes');
  ctx.now = nextMonthStart(ctx.now);
  assert.equal(await due(), ours, 'every one is owed the month it earned');
  await run(ctx);
  const statuses = await Promise.all([owed, quiet, pending, `earnings:${unknown}`].map(async (payee) => (await statements(ctx, payee)).map((statement) => statement.status)));
  assert.equal(statuses, [['settled'], ['settled'], ['carried_over'], ['carried_over']]);
  assert.equal(await due(), [], 'each has its statement for the period');

  // Coins earned after the period's end wait for the next period to close.
  const streamer = owed.slice('earnings:'.length);
  const fan = uniqueId('fan');
  await grant(ctx.server, fan, 500);
  await ctx.server.ctx.gifts.send({ senderId: fan, requestId: uniqueId('req'), roomId: await openRoom(ctx.server, streamer), streamerId: streamer, giftId: 'rocket', count: 1 });
  assert.equal(await due(), []);

  const [statement] = await statements(ctx, owed);
  if (statement === undefined) throw new Error('no statement');
  await cutShortAfterEntry(ctx, statement.id);
  assert.equal(await due(), [owed], 'a statement cut short while posting');
  assert.ok((await run(ctx)).settled.includes(statement.id));
  assert.equal(await due(), []);

  ctx.now = nextMonthStart(ctx.now);
  assert.equal(await due(), [owed, pending, `earnings:${unknown}`].sort(), 'the new gift and the coins carried over; the paid-up payee has nothing new');
  await run(ctx);
  assert.equal((await statements(ctx, owed)).map((s) => [s.status, s.coins.total]), [['settled', 3_500], ['carried_over', 350]], 'the new 350 under the minimum payout');
  assert.equal((await statements(ctx, pending)).map((s) => [s.status, s.coins.total]), [['carried_over', 3_500], ['carried_over', 3_500]]);
  assert.equal(await due(), []);
});

month('a statement a crash left posting is finished by a run after its period is no longer the newest: paid once, nothing counted twice', async (ctx) => {
  // The server then stayed down until the next month had closed too.
  const { payee, earned, statement } = await settledThenCutShort(ctx, 'stranded');
  ctx.now = nextMonthStart(ctx.now);
  const resumed = await run(ctx);
  assert.ok(resumed.settled.includes(statement.id), JSON.stringify(resumed));
  const after = await statements(ctx, payee);
  assert.equal(after.map((s) => [s.id, s.status, s.coins.total, s.payout?.status]), [[statement.id, 'settled', earned, 'pending']],
    'the stranded statement settled, and no statement for the month after: its coins were moved');
  assert.equal([await hot(ctx, payee), await hot(ctx, `settling:${payee}`)], [0, earned]);
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

month('a payee who changes currency is paid the new coins\' worth in the new one: earlier statements count only at their own currency and rate', async (ctx) => {
  const payee = await streamerEarnedThisMonth(ctx, 'switcher', { payoutMethod: 'manual', currency: 'USD' });
  ctx.now = nextMonthStart(ctx.now);
  await run(ctx);
  const streamer = payee.slice('earnings:'.length);
  assert.is((await admin(ctx, 'PUT', `/v1/admin/payees/streamer/${streamer}`, { kycStatus: 'verified', payoutMethod: 'manual', currency: 'EUR' })).status, 200);
  const fan = uniqueId('fan');
  await grant(ctx.server, fan, 5_000);
  const room = await openRoom(ctx.server, streamer);
  await ctx.server.ctx.gifts.send({ senderId: fan, requestId: uniqueId('req'), roomId: room, streamerId: streamer, giftId: 'rocket', count: 10 });
  ctx.now = nextMonthStart(ctx.now);
  await run(ctx);
  const figures = (await statements(ctx, payee)).map((statement) => [statement.status, statement.coins.total, statement.currency, statement.gross]);
  // 3,500 coins at 0.01 USD, then 3,500 at 0.0092 EUR.
  assert.equal(figures, [['settled', 3_500, 'USD', '35.00'], ['settled', 3_500, 'EUR', '32.20']]);
});

month('a transfer answered 409 (its key held by a request in progress) is not a refusal: the payout waits, then pays once', async (ctx) => {
  const payee = await streamerEarnedThisMonth(ctx, 'conflicted', { payoutMethod: 'stripe', stripeAccount: 'acct_conflictC' });
  const coins = await hot(ctx, payee);
  ctx.now = nextMonthStart(ctx.now);
  ctx.standIn.answerTransfersInProgress = true;
  try {
    // The run's sweep sends the transfer; Stripe makes it and answers 409.
    await run(ctx);
    const [statement] = await statements(ctx, payee);
    const payoutId = statement?.payout?.id ?? '';
    assert.equal([statement?.status, statement?.payout?.status], ['settled', 'sending'], JSON.stringify(statement?.payout));
    assert.equal([await hot(ctx, payee), await hot(ctx, `settling:${payee}`)], [0, coins], 'the coins wait in settling, not back with the payee');
    const transfers = () => ctx.standIn.transfers.filter((t) => t.metadata.payout_id === payoutId);
    assert.is(transfers().length, 1);
    // The next send asks Stripe what went out first: it finds that transfer and makes none.
    const resumed = await admin<{ status: string; transferId: string }>(ctx, 'POST', `/v1/admin/payouts/${payoutId}/send`);
    assert.equal([resumed.status, resumed.body.status, resumed.body.transferId], [200, 'paid', transfers()[0]?.id]);
    assert.is(transfers().length, 1, 'one transfer');
  } finally {
    ctx.standIn.answerTransfersInProgress = false;
  }
  assert.equal([await hot(ctx, payee), await hot(ctx, `settling:${payee}`)], [0, 0], 'the coins left settling once');
  const report = await flushAndReconcile(ctx.server);
  assert.ok(report.ok, JSON.stringify(report.mismatches));
});

month('payout sweeps at once send an interrupted payout once, and only the sweep that paid it reports it', async (ctx) => {
  const payee = await streamerEarnedThisMonth(ctx, 'swept', { payoutMethod: 'stripe', stripeAccount: 'acct_sweptS' });
  ctx.now = nextMonthStart(ctx.now);
  // Stripe answers the run's transfer 409 (in progress): the payout is left `sending`.
  ctx.standIn.answerTransfersInProgress = true;
  try {
    await run(ctx);
  } finally {
    ctx.standIn.answerTransfersInProgress = false;
  }
  const payoutId = (await statements(ctx, payee))[0]?.payout?.id ?? '';
  const sql = ctx.server.ctx.sql;
  const paid = async () => new Set((await sql<{ id: string }[]>`select id from payouts where status = 'paid'`).map((row) => row.id));
  const paidBefore = await paid();
  assert.not.ok(paidBefore.has(payoutId));
  const sweeps = await Promise.all(Array.from({ length: 4 }, () => ctx.server.ctx.payouts.sendDue()));
  const paidBySweeps = [...await paid()].filter((id) => !paidBefore.has(id));
  assert.ok(paidBySweeps.includes(payoutId), JSON.stringify(sweeps));
  assert.is(sweeps.reduce((sum, sweep) => sum + sweep.paid, 0), paidBySweeps.length, `each payout paid is reported once: ${JSON.stringify(sweeps)}`);
  assert.is(sweeps.reduce((sum, sweep) => sum + sweep.waiting + sweep.failed, 0), 0, 'none waits for Stripe, none failed');
  assert.is(ctx.standIn.transfers.filter((t) => t.metadata.payout_id === payoutId).length, 1, 'one transfer');
  const report = await flushAndReconcile(ctx.server);
  assert.ok(report.ok, JSON.stringify(report.mismatches));
});

month('a payout that keeps waiting on Stripe does not hold the next one out of the sweep: the least recently tried goes first', async (ctx) => {
  const accounts = ['acct_waitingA', 'acct_waitingB'];
  const payees = [];
  for (const [index, stripeAccount] of accounts.entries()) payees.push(await streamerEarnedThisMonth(ctx, `waiting${index}`, { payoutMethod: 'stripe', stripeAccount }));
  ctx.now = nextMonthStart(ctx.now);
  for (const account of accounts) ctx.standIn.stallTransfersTo.add(account);
  try {
    await run(ctx);
    // The one that keeps waiting sorts first by id too: an order by id alone would pick it every time.
    const payouts = await Promise.all(payees.map(async (payee, index) => ({ id: (await statements(ctx, payee))[0]?.payout?.id ?? '', account: accounts[index] ?? '' })));
    const [stuck, behind] = payouts.sort((a, b) => (a.id < b.id ? -1 : 1));
    assert.ok(stuck !== undefined && behind !== undefined);
    const sql = ctx.server.ctx.sql;
    await sql`update payouts set updated_at = '2000-01-01' where id = ${stuck.id}`;
    await sql`update payouts set updated_at = '2000-01-02' where id = ${behind.id}`;
    ctx.standIn.stallTransfersTo.delete(behind.account);
    assert.equal(await ctx.server.ctx.payouts.sendDue(1), { paid: 0, failed: 0, waiting: 1 }, 'the least recently tried waits again');
    assert.equal(await ctx.server.ctx.payouts.sendDue(1), { paid: 1, failed: 0, waiting: 0 }, 'then the one behind it goes');
    const statuses = new Map((await sql<{ id: string; status: string }[]>`select id, status from payouts where id = any(${[stuck.id, behind.id]})`).map((row) => [row.id, row.status]));
    assert.equal([statuses.get(stuck.id), statuses.get(behind.id)], ['sending', 'paid']);
  } finally {
    ctx.standIn.stallTransfersTo.clear();
  }
  assert.equal(await ctx.server.ctx.payouts.sendDue(1), { paid: 1, failed: 0, waiting: 0 }, 'Stripe answers again: the waiting one pays');
  assert.ok((await flushAndReconcile(ctx.server)).ok);
});

month.run();
