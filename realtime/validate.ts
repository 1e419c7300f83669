import { DomainError } from '../domain/errors.js';
import { isGiftCount } from '../domain/gifts.js';
import { limits } from '../domain/limits.js';

// Narrow untrusted payloads. Only own properties are read, so a `__proto__` or
// `constructor` key in the JSON changes nothing; unknown fields are ignored.

type Fields = Record<string, unknown>;

function objectPayload(payload: unknown): Fields {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new DomainError('INVALID_ARGUMENT', 'the payload must be an object');
  }
  return payload as Fields;
}

function own(fields: Fields, name: string): unknown {
  return Object.hasOwn(fields, name) ? fields[name] : undefined;
}

function idField(fields: Fields, name: string, pattern: RegExp): string {
  const value = own(fields, name);
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new DomainError('INVALID_ARGUMENT', `${name} must be a string matching ${pattern.source}`);
  }
  return value;
}

export const giftIdPattern = /^[a-z0-9_-]{1,32}$/;

/** `batch`: absent or false, one `gift` per gift; true, `gifts` rows per tick; 'columns', `giftColumns` per tick. */
export function parseRoomJoin(payload: unknown): { roomId: string; delivery: 'single' | 'rows' | 'columns' } {
  const fields = objectPayload(payload);
  const batch = own(fields, 'batch');
  if (batch !== undefined && typeof batch !== 'boolean' && batch !== 'columns') {
    throw new DomainError('INVALID_ARGUMENT', "batch must be true, false or 'columns'");
  }
  const delivery = batch === true ? 'rows' : batch === 'columns' ? 'columns' : 'single';
  return { roomId: idField(fields, 'roomId', limits.idPattern), delivery };
}

export function parseRoomLeave(payload: unknown): { roomId: string } {
  return { roomId: idField(objectPayload(payload), 'roomId', limits.idPattern) };
}

export interface GiftSendPayload { requestId: string; roomId: string; giftId: string; count: number }

export function parseGiftSend(payload: unknown): GiftSendPayload {
  const fields = objectPayload(payload);
  const count = own(fields, 'count');
  if (!isGiftCount(count)) {
    throw new DomainError('INVALID_ARGUMENT', `count must be an integer from ${limits.giftCountMin} to ${limits.giftCountMax}`);
  }
  return {
    requestId: idField(fields, 'requestId', limits.requestIdPattern),
    roomId: idField(fields, 'roomId', limits.idPattern),
    giftId: idField(fields, 'giftId', giftIdPattern),
    count,
  };
}

export function parseEmpty(payload: unknown): void {
  if (payload !== undefined) objectPayload(payload);
}
