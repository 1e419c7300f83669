import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { DomainError, InvariantViolation, errorRegistry } from '../domain/errors.js';
import { limits } from '../domain/limits.js';
import type { AppContext } from './context.js';
import { adminRoutes } from './routes/admin.js';
import { settlementRoutes } from './routes/settlements.js';
import { catalogRoutes } from './routes/catalog.js';
import { healthRoutes } from './routes/health.js';
import { walletRoutes } from './routes/wallet.js';
import { orderRoutes } from './routes/orders.js';
import { stripeWebhookRoutes } from './routes/stripe-webhook.js';
import { refundRoutes } from './routes/refunds.js';
import { freezeRoutes } from './routes/freezes.js';
import { earningsRoutes } from './routes/earnings.js';
import { parseJsonBodies } from './plugins/json-body.js';
import { refuseUnstorableText } from './plugins/text-guard.js';

function errorBody(code: keyof typeof errorRegistry, message?: string) {
  return { error: { code, message: message ?? errorRegistry[code].message } };
}

/** Builds the HTTP app without listening, so tests can use app.inject. */
export async function buildApp(ctx: AppContext, options: { logger?: boolean } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger === true ? { level: ctx.config.logLevel } : false,
    bodyLimit: limits.httpBodyBytesMax,
    handlerTimeout: ctx.config.httpTimeoutMs,
    // No type coercion: a coin amount sent as a string is refused, never converted.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
    // The router's own refusals (a path that does not decode, a path segment over 100
    // characters) answer in the contract's error shape too, not in fastify's.
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      const status = error.statusCode ?? 400;
      void reply.code(status).send(status >= 500 ? errorBody('INTERNAL') : errorBody('INVALID_ARGUMENT', error.message));
    },
  });

  app.setErrorHandler((error: FastifyError | DomainError | InvariantViolation, request, reply) => {
    if (error instanceof DomainError) {
      return reply.code(errorRegistry[error.code].httpStatus).send(errorBody(error.code, error.message));
    }
    if ('validation' in error && error.validation !== undefined) {
      return reply.code(400).send(errorBody('INVALID_ARGUMENT', error.message));
    }
    if ('statusCode' in error && error.statusCode === 413) return reply.code(413).send(errorBody('PAYLOAD_TOO_LARGE'));
    if ('code' in error && error.code === 'FST_ERR_HANDLER_TIMEOUT') {
      return reply.code(503).send(errorBody('UNAVAILABLE', 'the request did not finish in time; it may still take effect: retry it with the same Idempotency-Key'));
    }
    if ('statusCode' in error && typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send(errorBody('INVALID_ARGUMENT', error.message));
    }
    request.log.error({ err: error }, error instanceof InvariantViolation ? 'INVARIANT VIOLATED' : 'unhandled error');
    return reply.code(500).send(errorBody('INTERNAL'));
  });
  app.decorateRequest('identity', null);
  parseJsonBodies(app);
  refuseUnstorableText(app);
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(errorBody('NOT_FOUND')));

  await app.register(swagger, {
    openapi: {
      info: { title: 'Live gifting and wallet API', version: '1.0.0', description: 'See docs/protocol.md for the realtime protocol.' },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await healthRoutes(app, ctx);
  await catalogRoutes(app, ctx);
  await walletRoutes(app, ctx);
  await earningsRoutes(app, ctx);
  await adminRoutes(app, ctx);
  await settlementRoutes(app, ctx);
  await orderRoutes(app, ctx);
  await stripeWebhookRoutes(app, ctx);
  await refundRoutes(app, ctx);
  await freezeRoutes(app, ctx);
  return app;
}
