import * as assert from 'uvu/assert';

/** Awaits a promise that must reject with an error the predicate accepts. */
export async function rejects(promise: Promise<unknown>, accepts: (error: unknown) => boolean, message?: string): Promise<void> {
  let outcome: { error: unknown } | null = null;
  try {
    await promise;
  } catch (error) {
    outcome = { error };
  }
  if (outcome === null) assert.unreachable(message ?? 'expected a rejection, got a result');
  else assert.ok(accepts(outcome.error), `${message ?? 'unexpected rejection'}: ${String(outcome.error)}`);
}
