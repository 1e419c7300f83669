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
}

function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

export class TokenService {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  async mint(identity: Identity, ttlSeconds = 24 * 60 * 60): Promise<string> {
    return new SignJWT({ role: identity.role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(identity.userId)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
      .sign(this.key);
  }

  /** A missing, forged, expired or malformed token is UNAUTHENTICATED, whatever the reason. */
  async verify(token: unknown): Promise<Identity> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
      throw new DomainError('UNAUTHENTICATED');
    }
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
      const userId = payload.sub;
      if (typeof userId !== 'string' || !limits.idPattern.test(userId) || !isRole(payload.role)) {
        throw new DomainError('UNAUTHENTICATED', 'the token claims are invalid');
      }
      return { userId, role: payload.role };
    } catch (error) {
      if (error instanceof DomainError) throw error;
      throw new DomainError('UNAUTHENTICATED');
    }
  }
}

export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}
