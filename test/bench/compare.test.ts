import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compareRuns, comparisonText, ComparisonFileError, readEarlierRun, type ComparableRun } from '../../bench/compare.js';

const compare = suite('bench --compare');

const sizes = { viewers: 1_000, rooms: 100, durationMs: 10_000 };
const machine = { cores: 2, cpu: 'AMD EPYC' };
const run = (scenarios: ComparableRun['scenarios'], overrides: Partial<ComparableRun> = {}): ComparableRun =>
  ({ startedAt: '2026-12-01T00:00:00.000Z', durability: 'durable', sizes, machine, scenarios, ...overrides });

compare('each scenario in both runs: its rate then and now, the change, the p99s; HTTP by requests', () => {
  const earlier = run({
    spread: { giftsPerSec: 3_000, ackMs: { p99: 400 }, deliveryMs: { p99: 900 } },
    'http-gifts': { giftsPerSec: 0, requestsPerSec: 20_000, ackMs: { p99: 7 } },
    evalsha: { giftsPerSec: 7_000, ackMs: { p99: 60 } },
  });
  const current = run({
    spread: { giftsPerSec: 3_300, ackMs: { p99: 350 }, deliveryMs: { p99: 1_000 } },
    'http-gifts': { giftsPerSec: 0, requestsPerSec: 15_000, ackMs: { p99: 9 } },
    fanout: { giftsPerSec: 1_000, ackMs: { p99: 100 } },
  });
  const comparison = compareRuns(earlier, current, 'old.json', null);
  assert.equal(comparison.scenarios, [
    { scenario: 'spread', rate: { before: 3_000, after: 3_300, changePercent: 10 }, ackP99Ms: { before: 400, after: 350 },
      deliveryP99Ms: { before: 900, after: 1_000 }, regressed: false },
    { scenario: 'http-gifts', rate: { before: 20_000, after: 15_000, changePercent: -25 }, ackP99Ms: { before: 7, after: 9 }, regressed: false },
  ]);
  assert.equal(comparison.notCompared, ['fanout', 'evalsha']);
  assert.equal(comparison.unlike, []);
  const text = comparisonText(comparison);
  assert.match(text, 'compared with old.json (run at 2026-12-01T00:00:00.000Z):');
  assert.match(text, /\| spread +\| 3000 -> 3300 +\| \+10% +\| 400 -> 350 +\| 900 -> 1000 +\|/);
  assert.match(text, /\| http-gifts +\| 20000 -> 15000 +\| -25% +\|/);
  assert.match(text, 'not in both runs, not compared: fanout, evalsha');
  assert.not.match(text, 'REGRESSION');
});

compare('--max-regression fails a scenario whose rate fell past it, and not one at it or with nothing before', () => {
  const earlier = run({ a: { giftsPerSec: 1_000, ackMs: { p99: 1 } }, b: { giftsPerSec: 1_000, ackMs: { p99: 1 } }, c: { giftsPerSec: 0, ackMs: { p99: 1 } } });
  const current = run({ a: { giftsPerSec: 800, ackMs: { p99: 1 } }, b: { giftsPerSec: 799, ackMs: { p99: 1 } }, c: { giftsPerSec: 5, ackMs: { p99: 1 } } });
  const comparison = compareRuns(earlier, current, 'old.json', 20);
  assert.equal(comparison.scenarios.map((s) => [s.scenario, s.rate.changePercent, s.regressed]), [['a', -20, false], ['b', -20.1, true], ['c', null, false]]);
  assert.match(comparisonText(comparison), 'REGRESSION: b fell more than 20 %');
  assert.match(comparisonText(comparison), /\| b +\| 1000 -> 799 +\| -20.1% +\| 1 -> 1 +\| - +\| REGRESSED +\|/);
  assert.match(comparisonText(comparison), /\| a +\| .* \| ok +\|/);
  const fine = compareRuns(earlier, earlier, 'old.json', 0);
  assert.ok(fine.scenarios.every((s) => !s.regressed));
  assert.match(comparisonText(fine), "no scenario's rate fell more than 0 %");
});

compare('runs that are not like for like say so: sizes, durability, machine', () => {
  const earlier = run({}, { sizes: { viewers: 1_000, rooms: 100 }, durability: 'fast', machine: { cores: 8, cpu: 'Intel Xeon' } });
  const current = run({}, { sizes: { viewers: 4_000, rooms: 100, generators: 4 } });
  assert.equal(compareRuns(earlier, current, 'x', null).unlike, [
    'sizes differ: viewers 1000 then, 4000 now; generators not recorded then, 4 now',
    'durability fast then, durable now',
    'another machine: 8 cores Intel Xeon then, 2 cores AMD EPYC now',
  ]);
});

compare('a file that is missing, not JSON, or not a bench run is refused naming the file and why', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-compare-'));
  try {
    const file = (name: string, text: string) => { const at = path.join(dir, name); writeFileSync(at, text); return at; };
    const refused = (at: string, message: string) => assert.throws(() => readEarlierRun(at),
      (error: unknown) => error instanceof ComparisonFileError && error.message.includes(message), `${at}: ${message}`);
    refused(path.join(dir, 'missing.json'), 'missing.json: cannot be read (ENOENT)');
    refused(file('text.json', 'spread 3000'), 'text.json: cannot be read (it is not JSON)');
    refused(file('array.json', '[1,2]'), 'not the JSON of a bench run (no scenarios)');
    refused(file('shape.json', '{"scenarios":{"spread":{"giftsPerSec":"3000","ackMs":{"p99":1}}}}'), 'scenario "spread" has no giftsPerSec and ackMs.p99');
    refused(file('negative.json', '{"scenarios":{"spread":{"giftsPerSec":-1,"ackMs":{"p99":1}}}}'), 'scenario "spread"');
    // A bench run's JSON, extra fields and all, is read; what it lacks outside the scenarios is named as unknown.
    const earlier = readEarlierRun(file('run.json', JSON.stringify({ scenarios: { spread: { giftsPerSec: 3_000, ackMs: { p50: 1, p99: 400 }, extra: true,
      deliveryMs: { p99: 900 } } } })));
    assert.equal(earlier, { startedAt: 'an unknown time', durability: 'unknown', sizes: {}, machine: { cores: 0 },
      scenarios: { spread: { giftsPerSec: 3_000, ackMs: { p99: 400 }, deliveryMs: { p99: 900 } } } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

compare.run();
