import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { DomainError, invariant } from '../../domain/errors.js';
import { bearerToken, type Identity, type Role, type TokenService } from '../auth/tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    identity: Identity | null;
  }
}

/**
 * An onRequest hook: who the caller is is settled before the body is validated, so a
 * caller without the right gets 401/403 whatever it sent.
 */
export function requireRole(tokens: TokenService, allowed?: readonly Role[]): onRequestAsyncHookHandler {
  return async (request) => {
    const identity = await tokens.verify(bearerToken(request.headers.authorization));
    if (allowed !== undefined && !allowed.includes(identity.role)) {
      throw new DomainError('FORBIDDEN', `this route is for ${allowed.join(' or ')}`);
    }
    request.identity = identity;
  };
}

export function identityOf(request: FastifyRequest): Identity {
  invariant(request.identity !== null, 'route reached without its requireRole hook');
  return request.identity;
}
