import { DomainError } from './errors.js';
import { limits } from './limits.js';

export interface Gift {
  id: string;
  name: string;
  coins: number;
}

export function chargeFor(gift: Gift, count: number): number {
  const charged = gift.coins * count;
  if (!Number.isSafeInteger(charged)) throw new DomainError('INVALID_ARGUMENT', 'the charge is out of range');
  return charged;
}

/** A retry of a requestId must carry the same gift: this is what is compared. */
export function giftFingerprint(roomId: string, giftId: string, count: number): string {
  return `${roomId}|${giftId}|${count}`;
}

export function isGiftCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value)
    && value >= limits.giftCountMin && value <= limits.giftCountMax;
}
