import type { FastifyInstance, FastifyRequest } from 'fastify';
import { agencyAccount, earningsAccount } from '../../domain/accounts.js';
import { DomainError } from '../../domain/errors.js';
import { kycStatuses, parseRate, payoutMethods } from '../../domain/settlement.js';
import { parseInstant, schedules } from '../../domain/settlement-periods.js';
import { isAgencyId, validateContract, type SplitContract } from '../../domain/split-contracts.js';
import type { AppContext } from '../context.js';
import type { Identity } from '../auth/tokens.js';
import { identityOf, requireRole } from '../plugins/auth.js';
import { payeeAccountOf, type PayeeKind } from '../services/payees.js';
import type { PayoutRow, PayoutStatus } from '../services/payouts.js';
import { statementCsv, toStatement } from '../services/statements.js';
import { bearerSecurity, bulkAdminTimeout, errorReply, limitParam, pageLimit } from './schemas.js';

const idParam = (name: string) => ({
  type: 'object', properties: { [name]: { type: 'string', pattern: '^[A-Za-z0-9_.:@-]{1,128}$' } }, required: [name],
}) as const;
const payeeParams = {
  type: 'object',
  properties: { kind: { type: 'string', enum: ['streamer', 'agency'] }, id: { type: 'string', pattern: '^[A-Za-z0-9_.:@-]{1,128}$' } },
  required: ['kind', 'id'],
} as const;
/** A `payee` filter: the account a payee's statements are drawn on, `earnings:<streamer>` or `agency:<agency>`. */
const payeeAccountSchema = { type: 'string', pattern: '^(earnings|agency):[A-Za-z0-9_.:@-]{1,128}$' } as const;
const listQuery = {
  type: 'object',
  properties: { limit: limitParam },
} as const;
const adminErrors = { 400: errorReply, 401: errorReply, 403: errorReply, 404: errorReply, 409: errorReply, 503: errorReply };

function publicPayout(row: PayoutRow): Record<string, unknown> {
  return {
    id: row.id, settlementId: row.settlement_id, payee: row.payee_account, method: row.method, destination: row.destination,
    currency: row.currency, amount: row.amount, coins: Number(row.coins), status: row.status, attempts: row.attempts,
    transferId: row.transfer_id, lastError: row.last_error, returnedAt: row.returned_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
  };
}

/** The payee account a streamer's or an agency's own statements are drawn on. */
function ownPayeeAccount(identity: Identity): string {
  return identity.role === 'agency' ? agencyAccount(identity.userId) : earningsAccount(identity.userId);
}

export async function settlementRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const admin = requireRole(ctx.tokens, ['admin']);

  app.put('/v1/admin/agencies/:id', {
    onRequest: admin,
    schema: {
      description: 'Create or rename an agency (guild). Its cut of its streamers\' gifts goes to `agency:<id>`.',
      security: bearerSecurity, params: idParam('id'),
      body: { type: 'object', properties: { name: { type: 'string', minLength: 1, maxLength: 200 } }, required: ['name'], additionalProperties: false },
      response: adminErrors,
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    if (!isAgencyId(id)) throw new DomainError('INVALID_ARGUMENT', 'an agency id is 1 to 64 characters of [A-Za-z0-9_-]');
    await ctx.payees.saveAgency(id, (request.body as { name: string }).name);
    return { id, name: (request.body as { name: string }).name, account: `agency:${id}` };
  });

  app.put('/v1/admin/contracts/:streamerId', {
    onRequest: admin,
    schema: {
      description: 'Set a streamer\'s split contract: creator tiers by the month\'s earnings, and optionally an agency\'s share. Shares are basis points of each gift; the platform receives the rest.',
      security: bearerSecurity, params: idParam('streamerId'),
      body: {
        type: 'object',
        properties: {
          creatorTiers: {
            type: 'array', minItems: 1, maxItems: 10,
            items: {
              type: 'object',
              properties: { fromMonthCoins: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }, bps: { type: 'integer', minimum: 0, maximum: 10_000 } },
              required: ['fromMonthCoins', 'bps'], additionalProperties: false,
            },
          },
          agency: {
            type: ['object', 'null'],
            properties: { agencyId: { type: 'string', maxLength: 64 }, bps: { type: 'integer', minimum: 1, maximum: 10_000 } },
            required: ['agencyId', 'bps'], additionalProperties: false,
          },
        },
        required: ['creatorTiers'], additionalProperties: false,
      },
      response: adminErrors,
    },
  }, async (request) => {
    const { streamerId } = request.params as { streamerId: string };
    const body = request.body as { creatorTiers: SplitContract['creatorTiers']; agency?: SplitContract['agency'] };
    const contract: SplitContract = { creatorTiers: body.creatorTiers, agency: body.agency ?? null };
    validateContract(contract);
    if (contract.agency !== null && !await ctx.payees.agencyExists(contract.agency.agencyId)) {
      throw new DomainError('NOT_FOUND', `no agency ${contract.agency.agencyId}`);
    }
    await ctx.splitRules.setContract(streamerId, contract);
    return { streamerId, ...contract, isDefault: false };
  });

  app.get('/v1/admin/contracts/:streamerId', {
    onRequest: admin,
    schema: { description: 'A streamer\'s split contract; `isDefault` when none is on file.', security: bearerSecurity, params: idParam('streamerId'), response: adminErrors },
  }, async (request) => {
    const { streamerId } = request.params as { streamerId: string };
    const { contract, isDefault } = await ctx.splitRules.contractOf(streamerId);
    return { streamerId, ...contract, isDefault };
  });

  app.delete('/v1/admin/contracts/:streamerId', {
    onRequest: admin,
    schema: { description: 'Put a streamer back on the default contract. Carried fractions are kept.', security: bearerSecurity, params: idParam('streamerId'), response: adminErrors },
  }, async (request) => {
    const { streamerId } = request.params as { streamerId: string };
    await ctx.splitRules.removeContract(streamerId);
    return { streamerId, isDefault: true };
  });

  app.put('/v1/admin/payees/:kind/:id', {
    onRequest: admin,
    schema: {
      description: 'Set how a payee is paid. Fields left out keep their value.',
      security: bearerSecurity, params: payeeParams,
      body: {
        type: 'object',
        properties: {
          schedule: { type: 'string', enum: [...schedules] },
          currency: { type: 'string', pattern: '^[A-Z]{3}$' },
          kycStatus: { type: 'string', enum: [...kycStatuses] },
          taxProfile: { type: ['string', 'null'], maxLength: 40 },
          payoutMethod: { type: 'string', enum: [...payoutMethods] },
          stripeAccount: { type: ['string', 'null'], maxLength: 70 },
        },
        additionalProperties: false,
      },
      response: adminErrors,
    },
  }, async (request) => {
    const { kind, id } = request.params as { kind: PayeeKind; id: string };
    return ctx.payees.saveProfile(payeeAccountOf(kind, id), request.body as Record<string, unknown>);
  });

  app.get('/v1/admin/payees/:kind/:id', {
    onRequest: admin,
    schema: { description: 'A payee\'s profile (`onFile: false`: the defaults apply).', security: bearerSecurity, params: payeeParams, response: adminErrors },
  }, async (request) => {
    const { kind, id } = request.params as { kind: PayeeKind; id: string };
    return ctx.payees.profile(payeeAccountOf(kind, id));
  });

  app.get('/v1/admin/tax-rates', {
    onRequest: admin,
    schema: { description: 'Withholding rates by tax profile. A payee with none on file is withheld at 30 %.', security: bearerSecurity, response: adminErrors },
  }, async () => ctx.payees.taxRates());

  app.put('/v1/admin/tax-rates/:code', {
    onRequest: admin,
    schema: {
      description: 'Set a withholding rate: a decimal string from "0" to "1".',
      security: bearerSecurity,
      params: { type: 'object', properties: { code: { type: 'string', pattern: '^[A-Z0-9_]{1,40}$' } }, required: ['code'] },
      body: {
        type: 'object', properties: { rate: { type: 'string', maxLength: 10 }, description: { type: 'string', maxLength: 200 } },
        required: ['rate'], additionalProperties: false,
      },
      response: adminErrors,
    },
  }, async (request) => {
    const { code } = request.params as { code: string };
    const body = request.body as { rate: string; description?: string };
    await ctx.payees.setTaxRate(code, parseRate(body.rate, 'rate'), body.description ?? '');
    return { code, rate: body.rate, description: body.description ?? '' };
  });

  app.post('/v1/admin/settlements/run', {
    handlerTimeout: bulkAdminTimeout(ctx.config),
    onRequest: admin,
    schema: {
      description: 'Settle every payee\'s newest closed period as of `asOf` (default now), then send due Stripe payouts. Idempotent: a re-run changes nothing.',
      security: bearerSecurity,
      body: { type: ['object', 'null'], properties: { asOf: { type: 'string', maxLength: 40 } }, additionalProperties: false },
      response: adminErrors,
    },
  }, async (request) => {
    const body = request.body as { asOf?: string } | null | undefined;
    const asOfMs = body?.asOf === undefined ? ctx.clock() : parseInstant(body.asOf);
    const report = await ctx.settlements.run(asOfMs);
    const payouts = await ctx.payouts.sendDue();
    return { ...report, payouts };
  });

  app.get('/v1/admin/settlements', {
    onRequest: admin,
    schema: {
      description: 'Settlements, newest period first; filter by `payee` (account id) and `period`.',
      security: bearerSecurity,
      querystring: {
        type: 'object',
        properties: { ...listQuery.properties, payee: payeeAccountSchema, period: { type: 'string', pattern: '^[0-9]{4}-([0-9]{2}(-[0-9]{2})?|W[0-9]{2})$' } },
        additionalProperties: false,
      },
      response: adminErrors,
    },
  }, async (request) => {
    const query = request.query as { limit: string; payee?: string; period?: string };
    const rows = await ctx.settlements.list({ limit: pageLimit(query.limit), ...(query.payee === undefined ? {} : { payeeAccount: query.payee }), ...(query.period === undefined ? {} : { periodId: query.period }) });
    return Promise.all(rows.map(async (row) => toStatement(row, await ctx.payouts.forSettlement(row.id))));
  });

  app.get('/v1/settlements/:id', {
    onRequest: requireRole(ctx.tokens, ['streamer', 'agency', 'admin']),
    schema: {
      description: 'A settlement statement, for its payee (the streamer or the agency) or an admin. JSON, or CSV with `?format=csv` or `Accept: text/csv`.',
      security: bearerSecurity, params: idParam('id'),
      querystring: { type: 'object', properties: { format: { type: 'string', enum: ['json', 'csv'] } }, additionalProperties: false },
      response: { 401: errorReply, 403: errorReply, 404: errorReply },
    },
  }, async (request, reply) => {
    const identity = identityOf(request);
    const { id } = request.params as { id: string };
    const row = await ctx.settlements.get(id);
    // Another payee's statement is answered as missing: its existence is not disclosed.
    if (row === undefined || (identity.role !== 'admin' && row.payee_account !== ownPayeeAccount(identity))) {
      throw new DomainError('NOT_FOUND', 'no such settlement');
    }
    const statement = toStatement(row, await ctx.payouts.forSettlement(row.id));
    const { format } = request.query as { format?: string };
    if (format === 'csv' || (format === undefined && (request.headers.accept ?? '').includes('text/csv'))) {
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${row.id}.csv"`).send(statementCsv(statement));
    }
    return statement;
  });

  const ownStatements = async (request: FastifyRequest) => {
    const rows = await ctx.settlements.list({ payeeAccount: ownPayeeAccount(identityOf(request)), limit: pageLimit((request.query as { limit: string }).limit) });
    return Promise.all(rows.map(async (row) => toStatement(row, await ctx.payouts.forSettlement(row.id))));
  };
  app.get('/v1/streamers/me/settlements', {
    onRequest: requireRole(ctx.tokens, ['streamer']),
    schema: { description: 'The calling streamer\'s statements, newest period first.', security: bearerSecurity, querystring: { ...listQuery, additionalProperties: false }, response: { 401: errorReply, 403: errorReply } },
  }, ownStatements);
  app.get('/v1/agencies/me/settlements', {
    onRequest: requireRole(ctx.tokens, ['agency']),
    schema: { description: 'The calling agency\'s statements (its cut of its streamers\' gifts), newest period first.', security: bearerSecurity, querystring: { ...listQuery, additionalProperties: false }, response: { 401: errorReply, 403: errorReply } },
  }, ownStatements);

  app.get('/v1/admin/payouts', {
    onRequest: admin,
    schema: {
      description: 'Payouts, newest first; filter by `status` and `payee`.',
      security: bearerSecurity,
      querystring: {
        type: 'object',
        properties: { ...listQuery.properties, status: { type: 'string', enum: ['pending', 'sending', 'exported', 'paid', 'failed'] }, payee: payeeAccountSchema },
        additionalProperties: false,
      },
      response: adminErrors,
    },
  }, async (request) => {
    const query = request.query as { limit: string; status?: PayoutStatus; payee?: string };
    const rows = await ctx.payouts.list({ limit: pageLimit(query.limit), ...(query.status === undefined ? {} : { status: query.status }), ...(query.payee === undefined ? {} : { payeeAccount: query.payee }) });
    return rows.map(publicPayout);
  });

  app.post('/v1/admin/payouts/:id/send', {
    onRequest: admin,
    schema: { description: 'Send a pending (or interrupted) Stripe payout now.', security: bearerSecurity, params: idParam('id'), response: adminErrors },
  }, async (request) => publicPayout(await ctx.payouts.send((request.params as { id: string }).id)));

  app.post('/v1/admin/payouts/:id/retry', {
    onRequest: admin,
    schema: {
      description: 'Retry a failed payout while the period its coins returned in is open: the coins go back into settling and out again. After that period closes, the next settlement pays them (409).',
      security: bearerSecurity, params: idParam('id'), response: adminErrors,
    },
  }, async (request) => publicPayout(await ctx.payouts.retry((request.params as { id: string }).id)));

  app.post('/v1/admin/payouts/export', {
    handlerTimeout: bulkAdminTimeout(ctx.config),
    onRequest: admin,
    schema: { description: 'A CSV of the pending manual payouts, which are marked exported. Report each outcome with /mark.', security: bearerSecurity, response: adminErrors },
  }, async (_request, reply) => reply.type('text/csv; charset=utf-8').send(await ctx.payouts.exportManual()));

  app.post('/v1/admin/payouts/:id/mark', {
    onRequest: admin,
    schema: {
      description: 'Report a manual payout: `{ outcome: "paid", reference }` or `{ outcome: "failed", reason }` (the coins return to the payee).',
      security: bearerSecurity, params: idParam('id'),
      body: {
        type: 'object',
        properties: { outcome: { type: 'string', enum: ['paid', 'failed'] }, reference: { type: 'string', minLength: 1, maxLength: 200 }, reason: { type: 'string', minLength: 1, maxLength: 200 } },
        required: ['outcome'], additionalProperties: false,
      },
      response: adminErrors,
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const body = request.body as { outcome: 'paid' | 'failed'; reference?: string; reason?: string };
    if (body.outcome === 'paid' && body.reference === undefined) throw new DomainError('INVALID_ARGUMENT', 'a paid payout names its bank reference');
    if (body.outcome === 'failed' && body.reason === undefined) throw new DomainError('INVALID_ARGUMENT', 'a failed payout names its reason');
    return publicPayout(await ctx.payouts.settleManual(id, body.outcome === 'paid'
      ? { paid: true, reference: body.reference ?? '' } : { paid: false, reason: body.reason ?? '' }));
  });
}
