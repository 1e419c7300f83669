import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../domain/errors.js';

/**
 * PostgreSQL text cannot hold U+0000, so a name, title or filter carrying one made the
 * query fail and the request answer 500. No field of this API takes it: a request with
 * one anywhere in its body, query or path is refused as INVALID_ARGUMENT before any
 * handler runs, for every route, present and future.
 */
export function refuseNulCharacters(app: FastifyInstance): void {
  // A callback hook, not an async one: no promise on every request of the HTTP hot paths.
  app.addHook('preValidation', (request, _reply, done) => {
    const part = holdsNul(request.body) ? 'body' : holdsNul(request.query) ? 'query' : holdsNul(request.params) ? 'path' : null;
    done(part === null ? undefined : new DomainError('INVALID_ARGUMENT', `the ${part} holds the character U+0000, which no field accepts`));
  });
}

/** Walks with a list, not recursion: a 64 KiB body can nest thousands of levels deep. */
function holdsNul(root: unknown): boolean {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return true;
      continue;
    }
    // A raw body (the Stripe webhook's, kept for its signature) is left to its route.
    if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) continue;
    for (const [key, item] of Object.entries(value)) {
      if (key.includes('\u0000')) return true;
      pending.push(item);
    }
  }
  return false;
}
