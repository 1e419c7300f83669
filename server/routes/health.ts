import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { journalLag } from '../flusher/journal-lag.js';
import { redisMemory } from '../redis/memory.js';
import { within } from '../within.js';

export async function healthRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get('/health', { schema: { description: 'The process is up.' } }, async () => ({ ok: true }));

  app.get('/ready', { schema: { description: 'Redis and PostgreSQL answer; the body carries the journal lag.' } }, async (_request, reply) => {
    // A store that does not answer within the request timeout is down, as a gift would find it.
    const answers = (check: Promise<unknown>) => within(check, ctx.config.storageTimeoutMs, () => new Error('no answer')).then(() => true, () => false);
    const [redisUp, postgresUp] = await Promise.all([answers(ctx.redis.ping()), answers(ctx.sql`select 1`)]);
    const lag = redisUp ? await journalLag(ctx.redis, ctx.wallets.keys).catch(() => null) : null;
    const ready = redisUp && postgresUp;
    return reply.code(ready ? 200 : 503).send({
      ok: ready, redis: redisUp, postgres: postgresUp,
      journal: lag === null ? null : { entries: lag.entries, lagSeconds: lag.oldestAgeMs / 1000 },
    });
  });

  app.get('/metrics', { schema: { description: 'Prometheus text format.' } }, async (_request, reply) => {
    const [lag, memory] = await Promise.all([
      journalLag(ctx.redis, ctx.wallets.keys).catch(() => null),
      redisMemory(ctx.redis).catch(() => null),
    ]);
    if (lag !== null) {
      ctx.metrics.journalEntries.set(lag.entries);
      ctx.metrics.journalLagSeconds.set(lag.oldestAgeMs / 1000);
    }
    if (memory !== null) {
      ctx.metrics.redisUsedMemoryBytes.set(memory.usedBytes);
      ctx.metrics.redisMaxMemoryBytes.set(memory.maxBytes);
    }
    return reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
}
