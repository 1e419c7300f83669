import { readFileSync } from 'node:fs';
import { markdownTable } from './table.js';

// npm run bench -- --compare FILE: this run beside an earlier one's JSON, scenario by
// scenario, and with --max-regression P a gate for CI: a scenario whose rate fell more
// than P percent fails the run. The earlier file is read and checked before anything
// starts, so a mistyped path costs nothing.

/** What a comparison reads of a scenario, in this run's JSON and in the earlier one's. */
export interface ComparableScenario {
  giftsPerSec: number;
  requestsPerSec?: number;
  ackMs: { p99: number };
  deliveryMs?: { p99: number };
}

export interface ComparableRun {
  startedAt: string;
  durability: string;
  sizes: Record<string, number>;
  machine: { cores: number; cpu?: string };
  scenarios: Record<string, ComparableScenario>;
}

export interface ScenarioComparison {
  scenario: string;
  /** gifts/s, or req/s for the HTTP scenarios. */
  rate: { before: number; after: number; changePercent: number | null };
  ackP99Ms: { before: number; after: number };
  deliveryP99Ms?: { before: number; after: number };
  /** The rate fell by more than --max-regression allows. */
  regressed: boolean;
}

export interface Comparison {
  against: string;
  againstStartedAt: string;
  /** Why the two runs are not like for like (other sizes, durability or machine); empty when they are. */
  unlike: string[];
  maxRegressionPercent: number | null;
  scenarios: ScenarioComparison[];
  /** Scenarios of this run the earlier one did not have (or the other way round): not compared. */
  notCompared: string[];
}

/** A file the bench cannot compare with: the message says which and why. */
export class ComparisonFileError extends Error {}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0;

/** Reads an earlier run's JSON, refusing anything that is not one. */
export function readEarlierRun(file: string): ComparableRun {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const why = error instanceof SyntaxError ? 'it is not JSON' : (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ComparisonFileError(`--compare ${file}: cannot be read (${why})`);
  }
  const notABenchRun = (what: string) => new ComparisonFileError(`--compare ${file}: not the JSON of a bench run (${what})`);
  if (!isRecord(parsed) || !isRecord(parsed.scenarios)) throw notABenchRun('no scenarios');
  const scenarios: Record<string, ComparableScenario> = {};
  for (const [name, scenario] of Object.entries(parsed.scenarios)) {
    if (!isRecord(scenario) || !isCount(scenario.giftsPerSec) || !isRecord(scenario.ackMs) || !isCount(scenario.ackMs.p99)) {
      throw notABenchRun(`scenario ${JSON.stringify(name)} has no giftsPerSec and ackMs.p99`);
    }
    const requests = scenario.requestsPerSec;
    const delivery = isRecord(scenario.deliveryMs) && isCount(scenario.deliveryMs.p99) ? { p99: scenario.deliveryMs.p99 } : undefined;
    scenarios[name] = { giftsPerSec: scenario.giftsPerSec, ackMs: { p99: scenario.ackMs.p99 },
      ...(isCount(requests) ? { requestsPerSec: requests } : {}), ...(delivery === undefined ? {} : { deliveryMs: delivery }) };
  }
  const sizes = isRecord(parsed.sizes) ? Object.fromEntries(Object.entries(parsed.sizes).filter((entry): entry is [string, number] => isCount(entry[1]))) : {};
  const machine = isRecord(parsed.machine) ? parsed.machine : {};
  return {
    startedAt: typeof parsed.startedAt === 'string' ? parsed.startedAt : 'an unknown time',
    durability: typeof parsed.durability === 'string' ? parsed.durability : 'unknown',
    sizes, machine: { cores: isCount(machine.cores) ? machine.cores : 0, ...(typeof machine.cpu === 'string' ? { cpu: machine.cpu } : {}) },
    scenarios,
  };
}

const rateOf = (scenario: ComparableScenario) => scenario.requestsPerSec ?? scenario.giftsPerSec;

/** Percent change from before to after, to one decimal; null when there was nothing before. */
function change(before: number, after: number): number | null {
  return before === 0 ? null : Math.round(((after - before) / before) * 1000) / 10;
}

export function compareRuns(earlier: ComparableRun, current: ComparableRun, against: string, maxRegressionPercent: number | null): Comparison {
  const unlike: string[] = [];
  const sizeKeys = new Set([...Object.keys(earlier.sizes), ...Object.keys(current.sizes)]);
  const differentSizes = [...sizeKeys].filter((key) => earlier.sizes[key] !== current.sizes[key]);
  if (differentSizes.length > 0) {
    const was = (key: string) => (earlier.sizes[key] === undefined ? 'not recorded' : String(earlier.sizes[key]));
    unlike.push(`sizes differ: ${differentSizes.map((key) => `${key} ${was(key)} then, ${current.sizes[key] ?? 'not recorded'} now`).join('; ')}`);
  }
  if (earlier.durability !== current.durability) unlike.push(`durability ${earlier.durability} then, ${current.durability} now`);
  if (earlier.machine.cores !== current.machine.cores || earlier.machine.cpu !== current.machine.cpu) {
    unlike.push(`another machine: ${earlier.machine.cores} cores ${earlier.machine.cpu ?? ''} then, ${current.machine.cores} cores ${current.machine.cpu ?? ''} now`);
  }
  const scenarios: ScenarioComparison[] = [];
  const notCompared: string[] = [];
  for (const name of new Set([...Object.keys(current.scenarios), ...Object.keys(earlier.scenarios)])) {
    const [before, after] = [earlier.scenarios[name], current.scenarios[name]];
    if (before === undefined || after === undefined) {
      notCompared.push(name);
      continue;
    }
    const rate = { before: rateOf(before), after: rateOf(after), changePercent: change(rateOf(before), rateOf(after)) };
    scenarios.push({
      scenario: name, rate, ackP99Ms: { before: before.ackMs.p99, after: after.ackMs.p99 },
      ...(before.deliveryMs !== undefined && after.deliveryMs !== undefined ? { deliveryP99Ms: { before: before.deliveryMs.p99, after: after.deliveryMs.p99 } } : {}),
      regressed: maxRegressionPercent !== null && rate.changePercent !== null && rate.changePercent < -maxRegressionPercent,
    });
  }
  return { against, againstStartedAt: earlier.startedAt, unlike, maxRegressionPercent, scenarios, notCompared };
}

/** The comparison as the bench prints it: a table, then what makes the runs unlike, then the verdict. */
export function comparisonText(comparison: Comparison): string {
  const signed = (n: number | null) => (n === null ? '-' : `${n > 0 ? '+' : ''}${n}%`);
  const gated = comparison.maxRegressionPercent !== null;
  const rows = comparison.scenarios.map((s) => [
    s.scenario, `${s.rate.before} -> ${s.rate.after}`, signed(s.rate.changePercent), `${s.ackP99Ms.before} -> ${s.ackP99Ms.after}`,
    s.deliveryP99Ms === undefined ? '-' : `${s.deliveryP99Ms.before} -> ${s.deliveryP99Ms.after}`,
    ...(gated ? [s.regressed ? 'REGRESSED' : 'ok'] : []),
  ]);
  const header = ['scenario', 'rate then -> now', 'change', 'ack p99 ms', 'delivery p99 ms', ...(gated ? [`within ${comparison.maxRegressionPercent} %`] : [])];
  const lines = [`compared with ${comparison.against} (run at ${comparison.againstStartedAt}):`, markdownTable(header, rows)];
  for (const reason of comparison.unlike) lines.push(`not like for like: ${reason}`);
  if (comparison.notCompared.length > 0) lines.push(`not in both runs, not compared: ${comparison.notCompared.join(', ')}`);
  if (comparison.maxRegressionPercent !== null) {
    const regressed = comparison.scenarios.filter((s) => s.regressed).map((s) => s.scenario);
    lines.push(regressed.length === 0
      ? `no scenario's rate fell more than ${comparison.maxRegressionPercent} %`
      : `REGRESSION: ${regressed.join(', ')} fell more than ${comparison.maxRegressionPercent} %`);
  }
  return `${lines.join('\n')}\n`;
}
