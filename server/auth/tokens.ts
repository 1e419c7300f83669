import { SignJWT, jwtVerify } from 'jose';
import { DomainError } from '../../domain/errors.js';
import { limits } from '../../domain/limits.js';

// `agency` extends the contract's four roles: an agency (guild) signs in with its agency
// id as `sub` and reads its own settlement statements.
export const roles = ['viewer', 'streamer', 'advertiser', 'admin', 'agency'] as const;
export type Role = (typeof roles)[number];

export interface Identity {
  userId: string;
  role: Role;
  /** The token's `exp` in ms; infinite for a token without one. A live socket is closed then. */
  expiresAtMs: number;
}

function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

export class TokenService {
  private readonly secret: Uint8Array<ArrayBuffer>;
  /** The HMAC key imported once: jose would import the raw secret again on every verify. */
  private verifyKey: Promise<CryptoKey> | null = null;
  private readonly verified = new Map<string, Identity>();

  /** `verifiedTokensMax`: how many verified tokens are kept; past it the oldest goes first. */
  constructor(secret: string, private readonly verifiedTokensMax = 20_000) {
    this.secret = new TextEncoder().encode(secret);
  }

  async mint(identity: Pick<Identity, 'userId' | 'role'>, ttlSeconds = 24 * 60 * 60): Promise<string> {
    return new SignJWT({ role: identity.role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(identity.userId)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
      .sign(this.secret);
  }

  /**
   * A missing, forged, expired or malformed token is UNAUTHENTICATED, whatever the reason.
   * A client sends the same token on every request and connection: once its signature and
   * claims have been checked, the identity is kept until the token's `exp` (an HMAC check
   * through WebCrypto cost ~45-80 us of CPU, a third of a `GET /v1/wallet`). Only tokens
   * that passed are kept, under their exact text, so a forged one never matches.
   */
  async verify(token: unknown, nowMs: number = Date.now()): Promise<Identity> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
      throw new DomainError('UNAUTHENTICATED');
    }
    const known = this.verified.get(token);
    if (known !== undefined) {
      if (nowMs < known.expiresAtMs) return known;
      this.verified.delete(token);
    }
    try {
      this.verifyKey ??= crypto.subtle.importKey('raw', this.secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
      const { payload } = await jwtVerify(token, await this.verifyKey, { algorithms: ['HS256'], currentDate: new Date(nowMs) });
      const userId = payload.sub;
      if (typeof userId !== 'string' || !limits.idPattern.test(userId) || !isRole(payload.role)) {
        throw new DomainError('UNAUTHENTICATED', 'the token claims are invalid');
      }
      // A token without `exp` never expires by itself; it is still dropped when the bound is reached.
      const identity: Identity = { userId, role: payload.role, expiresAtMs: typeof payload.exp === 'number' ? payload.exp * 1000 : Number.POSITIVE_INFINITY };
      this.remember(token, identity);
      return identity;
    } catch (error) {
      if (error instanceof DomainError) throw error;
      throw new DomainError('UNAUTHENTICATED');
    }
  }

  /** How many verified tokens are kept (tests). */
  get verifiedTokens(): number {
    return this.verified.size;
  }

  private remember(token: string, identity: Identity): void {
    if (this.verified.size >= this.verifiedTokensMax) {
      const oldest = this.verified.keys().next();
      if (oldest.done !== true) this.verified.delete(oldest.value);
    }
    this.verified.set(token, identity);
  }
}

export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}
