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
