import type { FastifyInstance } from 'fastify';
import secureJsonParse from 'secure-json-parse';
import { DomainError } from '../../domain/errors.js';

const parserMessageChars = 200;

/**
 * JSON bodies are parsed as fastify's own parser does (secure-json-parse, so a body cannot
 * reach an object's prototype), but a refusal says why: fastify answers every failure,
 * a forbidden `__proto__` key included, with "Body is not valid JSON", which sends a client
 * looking for a syntax error in a well-formed document.
 */
export function parseJsonBodies(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.length === 0) {
      done(new DomainError('INVALID_ARGUMENT', 'the body is empty: send a JSON document, or no content-type'), undefined);
      return;
    }
    try {
      done(null, secureJsonParse.parse(text, null, { protoAction: 'error', constructorAction: 'error' }));
    } catch (error) {
      done(new DomainError('INVALID_ARGUMENT', refusalOf(error)), undefined);
    }
  });
}

function refusalOf(error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  // secure-json-parse says the same for both keys it refuses.
  if (reason === 'Object contains forbidden prototype property') {
    return 'the body has a "__proto__" key, or a "constructor" key holding "prototype": no field accepts them';
  }
  return `the body is not valid JSON: ${reason.slice(0, parserMessageChars)}`;
}
