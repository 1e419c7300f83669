import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { errorRegistry } from '../../domain/errors.js';
import type { RunningServer } from '../../server/server.js';
import { uniqueId } from '../helpers/env.js';
import { flushAndReconcile, grant, http, startTestServer, token } from '../helpers/harness.js';

interface Context { server: RunningServer; bearers: [string, string | undefined][]; viewerBearer: string }
const fuzz = suite<Context>('hostile HTTP input on every route', {} as Context);

const fundedCoins = 1_000;

fuzz.before(async (ctx) => {
  ctx.server = await startTestServer();
  const viewer = uniqueId('v-fuzz');
  await grant(ctx.server, viewer, fundedCoins);
  ctx.viewerBearer = await token(viewer, 'viewer');
  ctx.bearers = [['no token', undefined], ['viewer', ctx.viewerBearer]];
  for (const role of ['streamer', 'advertiser', 'admin'] as const) ctx.bearers.push([role, await token(uniqueId(`${role}-fuzz`), role)]);
  // A paid order with a refund asked for, so the routes that act on them get past "not found".
  const buyer = await token(uniqueId('buyer-fuzz'), 'viewer');
  ctx.bearers.push(['buyer', buyer]);
  const order = await http<{ id: string }>(ctx.server, 'POST', '/v1/orders', { bearer: buyer, body: { packageId: 'usd-1000' },
    headers: { 'idempotency-key': uniqueId('fuzz-order') } });
  const paid = await http<{ status: string }>(ctx.server, 'POST', `/v1/orders/${order.body.id}/sandbox-pay`, { bearer: buyer });
  const refund = await http<{ id: string }>(ctx.server, 'POST', `/v1/orders/${order.body.id}/refund`, { bearer: buyer, body: { coins: 10 } });
  if (paid.body.status !== 'fulfilled' || refund.status !== 201) throw new Error(`seeding failed: ${JSON.stringify([paid.body, refund.body])}`);
  patternCandidates.unshift(order.body.id, refund.body.id);
});
fuzz.after(async (ctx) => { await ctx.server.stop(); });

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
interface Schema {
  type?: string; enum?: string[]; pattern?: string; minLength?: number; minimum?: number;
  properties?: Record<string, Schema>; required?: string[]; items?: Schema;
}
interface Parameter { in: 'path' | 'query' | 'header'; name: string; schema: Schema }
interface Operation { path: string; method: Method; parameters: Parameter[]; body: Schema | null }

async function operations(server: RunningServer): Promise<Operation[]> {
  const { body } = await http<{ paths: Record<string, Record<string, {
    parameters?: Parameter[]; requestBody?: { content?: Record<string, { schema?: Schema }> } }>> }>(server, 'GET', '/docs/json');
  const found: Operation[] = [];
  for (const [path, methods] of Object.entries(body.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const upper = method.toUpperCase();
      if (upper !== 'GET' && upper !== 'POST' && upper !== 'PUT' && upper !== 'DELETE') continue;
      found.push({ path, method: upper, parameters: operation.parameters ?? [],
        body: operation.requestBody?.content?.['application/json']?.schema ?? null });
    }
  }
  return found;
}

// Strings that pass the routes' patterns, most meaningful first, so a request built from
// them gets past the schema and into the handler, where the hostile value then lands.
const patternCandidates = ['usd-1000', 'USD', 'ord_fuzz1', 'rf_fuzz1', 'earnings:fuzz1', '2026-11', '50', 'fuzz-key-0001', 'FUZZ_1'];

/** A value the schema accepts: the request it completes is well-formed but for what the test breaks. */
function validValue(schema: Schema): unknown {
  if (schema.enum !== undefined) return schema.enum[0];
  switch (schema.type) {
    case 'integer': return Math.max(schema.minimum ?? 1, 1);
    case 'array': return schema.items === undefined ? [] : [validValue(schema.items)];
    case 'object': return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([name, field]) => [name, validValue(field)]));
    case 'string': {
      if (schema.pattern === undefined) return 'x'.repeat(Math.max(schema.minLength ?? 1, 1));
      const pattern = new RegExp(schema.pattern);
      const match = patternCandidates.find((candidate) => pattern.test(candidate));
      if (match === undefined) throw new Error(`no candidate string matches ${schema.pattern}: add one`);
      return match;
    }
    default: return 'x';
  }
}

// Values of the wrong type, out of range, too long, or shaped to confuse a parser or a query.
const hostileValues: unknown[] = [
  null, true, -1, 0, 1.5, 2 ** 53, -(2 ** 63), 1e308, '1e400', 'NaN', 'Infinity', '', ' ', '-0', '0.1e1', '9'.repeat(40),
  '9'.repeat(9), 'x'.repeat(5_000), "' OR 1=1 --", '../../etc/passwd', '💸🎁', '2026-13-40', '2026-02-30T25:00:00Z', '-2026-11-01',
  [], [1, 2], [{}], {}, { $gt: 0 },
];
const hostileSegments = ['x', '0', '-1', '9'.repeat(30), '%20', "'", 'a'.repeat(100), '..%2F..', '%F0%9F%92%B8', 'ord_', 'rf_%00', 'earnings:x'];
const hostileQueryValues = ['', '-1', '0', '1e400', 'abc', '100000', '%FF%FE', 'z'.repeat(500), 'agency:', '2026-W99', 'nope', '9'.repeat(18)];

type Bearer = string | undefined;

function pathWith(operation: Operation, segment: (parameter: Parameter) => string): string {
  return operation.path.replace(/\{([^}]+)\}/g, (_whole, name: string) => {
    const parameter = operation.parameters.find((p) => p.in === 'path' && p.name === name);
    if (parameter === undefined) throw new Error(`${operation.path}: no schema for {${name}}`);
    return segment(parameter);
  });
}

function bodiesFor(schema: Schema | null): unknown[] {
  if (schema === null) return [undefined];
  const valid = validValue({ ...schema, type: 'object' }) as Record<string, unknown>;
  const bodies: unknown[] = [valid, null, [], 'text', 42, {}, { ...valid, unexpected: 1 }];
  for (const field of Object.keys(valid)) {
    const { [field]: _dropped, ...without } = valid;
    bodies.push(without);
    for (const value of hostileValues) bodies.push({ ...valid, [field]: value });
  }
  return bodies;
}

function assertContractAnswer(reply: { status: number; body: unknown }, what: string): void {
  assert.ok(reply.status < 500, `${what} answered ${reply.status} ${JSON.stringify(reply.body).slice(0, 300)}`);
  if (reply.status < 400) return;
  const error = (reply.body as { error?: { code?: unknown; message?: unknown } }).error;
  assert.ok(error !== undefined && typeof error.code === 'string' && error.code in errorRegistry,
    `${what} answered ${reply.status} outside the contract's error shape: ${JSON.stringify(reply.body).slice(0, 300)}`);
  assert.type(error.message, 'string', what);
}

fuzz('no route answers 5xx or leaves the contract\'s error shape, whoever calls with whatever; the money stays whole', async ({ server, bearers, viewerBearer }) => {
  const found = await operations(server);
  assert.ok(found.length >= 35, `the OpenAPI document lists ${found.length} operations`);
  let sent = 0;
  const send = async (role: string, bearer: Bearer, method: Method, url: string, body: unknown) => {
    const headers: Record<string, string> = { 'idempotency-key': uniqueId('fuzz-key') };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const reply = await http(server, method, url, { ...(bearer === undefined ? {} : { bearer }), headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    sent += 1;
    assertContractAnswer(reply, `${role} ${method} ${url} ${JSON.stringify(body)?.slice(0, 100)}`);
  };
  for (const operation of found) {
    // The Stripe webhook takes raw bytes under a signature: its refusals are tested in payments.
    if (operation.path === '/v1/webhooks/stripe') continue;
    const validPath = pathWith(operation, (parameter) => String(validValue(parameter.schema)));
    const query = operation.parameters.filter((p) => p.in === 'query');
    const validQuery = query.map((p) => `${p.name}=${encodeURIComponent(String(validValue(p.schema)))}`);
    const bodies = bodiesFor(operation.body);
    for (const [role, bearer] of bearers) {
      // Each part hostile in turn, the others well-formed.
      for (const body of bodies) await send(role, bearer, operation.method, validPath, body);
      for (const parameter of operation.parameters.filter((p) => p.in === 'path')) {
        for (const segment of hostileSegments) {
          const url = pathWith(operation, (p) => p === parameter ? segment : String(validValue(p.schema)));
          await send(role, bearer, operation.method, url, bodies[0]);
        }
      }
      for (const [index, parameter] of query.entries()) {
        for (const value of hostileQueryValues) {
          const parts = [...validQuery];
          parts[index] = `${parameter.name}=${value}`;
          await send(role, bearer, operation.method, `${validPath}?${parts.join('&')}`, undefined);
        }
        await send(role, bearer, operation.method, `${validPath}?${validQuery.join('&')}&${parameter.name}=1`, undefined);
      }
    }
  }
  assert.ok(sent > 5_000, `sent ${sent}`);
  const wallet = await http<{ balance: number }>(server, 'GET', '/v1/wallet', { bearer: viewerBearer });
  assert.is(wallet.body.balance, fundedCoins, 'the funded viewer\'s coins');
  const report = await flushAndReconcile(server);
  assert.ok(report.ok, JSON.stringify(report.mismatches));
});

fuzz.run();
