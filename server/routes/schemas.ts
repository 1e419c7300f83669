import { DomainError } from '../../domain/errors.js';
import { limits } from '../../domain/limits.js';

// JSON schemas shared by routes; they also make the OpenAPI document at /docs.

export const errorReply = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      required: ['code', 'message'],
    },
  },
} as const;

export const bearerSecurity = [{ bearerAuth: [] }];

export const coins = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
export const signedCoins = { type: 'integer', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER } as const;
export const userIdSchema = { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$' } as const;

/** The `limit` query parameter of a paginated route; read it with pageLimit. */
export const limitParam = { type: 'string', pattern: '^[0-9]{1,4}$', default: String(limits.pageSizeDefault) } as const;

/** A `limit` query parameter (a digit string, since query strings are not coerced), checked against the page bounds. */
export function pageLimit(text: string): number {
  const limit = Number(text);
  if (limit < 1 || limit > limits.pageSizeMax) throw new DomainError('INVALID_ARGUMENT', `limit must be 1 to ${limits.pageSizeMax}`);
  return limit;
}

/** The admin's bulk routes walk every account or payee: never less time than any other route. */
export function bulkAdminTimeout(config: { httpTimeoutMs: number }): number {
  return Math.max(limits.bulkAdminTimeoutMs, config.httpTimeoutMs);
}
