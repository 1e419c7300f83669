import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { journalLag } from '../flusher/journal-lag.js';
import { redisMemory } from '../redis/memory.js';
import { within } from '../within.js';

export async function healthRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const inTime = <T>(check: Promise<T>) => within(check, ctx.config.storageTimeoutMs, () => new Error('no answer in time'));
  app.get('/health', { schema: { description: 'The process is up.' } }, async () => ({ ok: true }));

  app.get('/ready', { schema: { description: 'Redis and PostgreSQL answer; the body carries the journal lag.' } }, async (_request, reply) => {
    // A store that does not answer within the request timeout is down, as a gift would find it.
    const answers = (check: Promise<unknown>) => inTime(check).then(() => true, () => false);
    const [redisUp, postgresUp] = await Promise.all([answers(ctx.redis.ping()), answers(ctx.sql`select 1`)]);
    const lag = redisUp ? await inTime(journalLag(ctx.redis, ctx.wallets.keys)).catch(() => null) : null;
    const ready = redisUp && postgresUp;
    return reply.code(ready ? 200 : 503).send({
      ok: ready, redis: redisUp, postgres: postgresUp,
      journal: lag === null ? null : { entries: lag.entries, lagSeconds: lag.oldestAgeMs / 1000 },
    });
  });

  app.get('/metrics', { schema: { description: 'Prometheus text format.' } }, async (_request, reply) => {
    // In an outage the process's own figures matter most: a Redis that does not answer in
    // time leaves its gauges as they were, and the scrape still succeeds.
    const [lag, memory] = await Promise.all([
      inTime(journalLag(ctx.redis, ctx.wallets.keys)).catch(() => null),
      inTime(redisMemory(ctx.redis)).catch(() => null),
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
