import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { isStorableText } from '../../domain/text.js';

/**
 * Text PostgreSQL cannot store as sent (U+0000, half of a surrogate pair: see
 * domain/text.ts) made a query fail and the request answer 500, or, in a grant's reason,
 * became a journal entry the ledger refused, which stopped every flush behind it. No field
 * of this API takes such text: a request with it anywhere in its body, query or path is
 * refused as INVALID_ARGUMENT before any handler runs, for every route, present and future.
 */
export function refuseUnstorableText(app: FastifyInstance): void {
  // A callback hook, not an async one: no promise on every request of the HTTP hot paths.
  app.addHook('preValidation', (request, _reply, done) => {
    const part = holdsUnstorable(request.body) ? 'body' : holdsUnstorable(request.query) ? 'query' : holdsUnstorable(request.params) ? 'path' : null;
    done(part === null ? undefined : new DomainError('INVALID_ARGUMENT',
      `the ${part} holds U+0000 or half of a surrogate pair, which no field accepts`));
  });
}

/** Walks with a list, not recursion: a 64 KiB body can nest thousands of levels deep. */
function holdsUnstorable(root: unknown): boolean {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (!isStorableText(value)) return true;
      continue;
    }
    // A raw body (the Stripe webhook's, kept for its signature) is left to its route.
    if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) continue;
    for (const [key, item] of Object.entries(value)) {
      if (!isStorableText(key)) return true;
      pending.push(item);
    }
  }
  return false;
}
