import type { FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { bearerToken, type Identity, type Role, type TokenService } from '../auth/tokens.js';

/** Returns the caller's identity, or throws UNAUTHENTICATED (401) / FORBIDDEN (403). */
export async function authenticate(tokens: TokenService, request: FastifyRequest, allowed?: readonly Role[]): Promise<Identity> {
  const identity = await tokens.verify(bearerToken(request.headers.authorization));
  if (allowed !== undefined && !allowed.includes(identity.role)) {
    throw new DomainError('FORBIDDEN', `this route is for ${allowed.join(' or ')}`);
  }
  return identity;
}
