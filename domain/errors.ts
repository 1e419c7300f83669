// The one registry of error codes. Every edge (socket ack, HTTP reply) maps a code to
// its wire form here; the table in docs/protocol.md is checked against it by a test.

export const errorRegistry = {
  INVALID_ARGUMENT: { httpStatus: 400, message: 'the request is malformed or out of range' },
  UNAUTHENTICATED: { httpStatus: 401, message: 'a valid token is required' },
  FORBIDDEN: { httpStatus: 403, message: 'this role may not do that' },
  NOT_FOUND: { httpStatus: 404, message: 'no such resource' },
  CONFLICT: { httpStatus: 409, message: 'the request conflicts with an earlier one' },
  PAYLOAD_TOO_LARGE: { httpStatus: 413, message: 'the request body is too large' },
  UNKNOWN_ROOM: { httpStatus: 404, message: 'no such live room' },
  UNKNOWN_GIFT: { httpStatus: 404, message: 'no such gift in the catalog' },
  NOT_IN_ROOM: { httpStatus: 409, message: 'join the room before sending to it' },
  INSUFFICIENT_FUNDS: { httpStatus: 402, message: 'the wallet balance is too low' },
  ACCOUNT_FROZEN: { httpStatus: 423, message: 'the account is frozen' },
  RATE_LIMITED: { httpStatus: 429, message: 'too many requests, slow down' },
  UNAVAILABLE: { httpStatus: 503, message: 'storage is unavailable; nothing was charged' },
  INTERNAL: { httpStatus: 500, message: 'internal error' },
} as const;

export type ErrorCode = keyof typeof errorRegistry;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorRegistry, value);
}

/** An operating error: expected, answered to the client with its code. */
export class DomainError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message?: string) {
    super(message ?? errorRegistry[code].message);
    this.code = code;
    this.name = 'DomainError';
  }
}

/** A programmer error or a broken invariant: crash loudly, never answer it away. */
export class InvariantViolation extends Error {
  constructor(message: string) {
    super(`invariant violated: ${message}`);
    this.name = 'InvariantViolation';
  }
}

/**
 * An operation its subject's state does not allow: NOT_FOUND when there is no such
 * subject, else CONFLICT saying what is allowed and the state it is in.
 */
export function refuseInState(subject: { status: string } | undefined, noun: string, allowed: string): never {
  if (subject === undefined) throw new DomainError('NOT_FOUND', `no such ${noun}`);
  throw new DomainError('CONFLICT', `${allowed}; this one is ${subject.status}`);
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantViolation(message);
}

export interface WireError {
  code: ErrorCode;
  message: string;
}

/** Maps any thrown value to a wire error; unknown failures become INTERNAL. */
export function toWireError(error: unknown): WireError {
  if (error instanceof DomainError) return { code: error.code, message: error.message };
  return { code: 'INTERNAL', message: errorRegistry.INTERNAL.message };
}
