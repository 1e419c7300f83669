import { parseArgs } from 'node:util';
import { fanoutTargetRatePerSec, fanoutTargetReceivers } from './targets.js';

// What `npm run bench -- ...` accepts. A load tester who mistypes an option or a scenario
// name is told so before anything starts: a run that quietly measured nothing, or measured
// the defaults instead of what was asked, would be worse than no run.

export const scenarioNames = ['ack-only', 'evalsha', 'spread', 'hot-room', 'hot-room-half', 'fanout', 'http-wallet', 'http-gifts',
  'baseline-postgres-spread', 'baseline-postgres-hot-room'] as const;
export type ScenarioName = (typeof scenarioNames)[number];

/** How big a run is. The defaults are sized for a 2-core machine (about 2 minutes in all); a bigger one takes bigger numbers. */
export interface BenchSizes {
  /** Viewers in spread, hot-room and ack-only: each one socket, with inFlight gifts in flight. */
  viewers: number;
  /** spread's rooms; viewers are dealt round robin over them. */
  rooms: number;
  /** fanout's receivers, all in one room. */
  receivers: number;
  /** Each scenario's measured window. */
  durationMs: number;
  /**
   * The same load before each window opens, not measured: every scenario starts new
   * load-generator processes, and their first seconds are slow (README "Benchmarks").
   */
  warmupMs: number;
  /** fanout's fixed sending rate, gifts a second. */
  fanoutRate: number;
  httpSeconds: number;
  /** Load-generator processes the viewers (and fanout's receivers) are split over. */
  generators: number;
  /** Gifts (or bench acks) each viewer keeps in flight. */
  inFlight: number;
  /** autocannon's connections in the http scenarios. */
  httpConnections: number;
}

/** The run the targets are set for (README "Benchmarks"). */
export const fullSizes: Readonly<BenchSizes> = { viewers: 1_000, rooms: 100, receivers: fanoutTargetReceivers, durationMs: 10_000, warmupMs: 2_000,
  fanoutRate: fanoutTargetRatePerSec, httpSeconds: 6, generators: 2, inFlight: 1, httpConnections: 50 };
/** --quick: a few seconds each, small, to show that everything still runs. */
export const quickSizes: Readonly<BenchSizes> = { viewers: 200, rooms: 20, receivers: 300, durationMs: 2_500, warmupMs: 500,
  fanoutRate: 300, httpSeconds: 2, generators: 2, inFlight: 1, httpConnections: 50 };

/** Names --only takes beside the scenarios' own: `http` is both autocannon scenarios. */
const scenarioGroups: Record<string, readonly ScenarioName[]> = { http: ['http-wallet', 'http-gifts'] };

export const benchUsage = `usage: npm run bench [-- options]

  --quick                    each scenario for a few seconds, at a smaller size (a smoke run)
  --rounds N                 every scenario N times (1 to 9), round after round; each reports its median round
  --only a,b                 only these scenarios (comma-separated): ${scenarioNames.join(', ')}, http
                             (hot-room-half is paced at half of hot-room's rate, so hot-room runs with it)
  --json FILE                write the results there (default: bench-results/<time>.json)
  --durability durable|fast  the server's durability mode (default durable)
  --delivery columns|rows    how receivers take a room's gifts: giftColumns or gifts rows (default columns)
  --profile DIR              V8 CPU profiles: the server's threads in DIR, the baseline server's in DIR/baseline, each load generator's in DIR/load-generators
  --duration S               each scenario's measured window in seconds, 0.5 to 600 (default 10, HTTP 6; --quick 2.5, HTTP 2)
  --warmup S                 the same load, unmeasured, before each scenario's window, 0 to 60 s (default 2; --quick 0.5)
  --viewers N                viewers gifting in spread, hot-room and ack-only, 1 to 20000 (default 1000; --quick 200)
  --rooms N                  spread's rooms, 1 to 10000 and at most --viewers (default 100; --quick 20)
  --receivers N              fanout's receivers in its one room, 1 to 20000 (default 2000; --quick 300)
  --fanout-rate N            fanout's gifts a second, 1 to 100000 (default 1000; --quick 300)
  --in-flight N              gifts each viewer keeps in flight, 1 to 100 (default 1)
  --generators N             load-generator processes the viewers and receivers are split over, 1 to 32 (default 2)
  --connections N            autocannon connections in the HTTP scenarios, 1 to 1000 (default 50)
                             (the targets are judged at the default sizes; other sizes are measured and not judged)
  --compare FILE             beside this run, an earlier run's JSON: each scenario's rate and p99 then and now
  --max-regression P         with --compare: exit 4 when a scenario's rate fell more than P percent (0 to 100)
  --url URL                  measure a server already running on this machine (needs its AUTH_SECRET, REDIS_URL,
                             DATABASE_URL in the environment)
  --help                     this text
`;

export interface BenchOptions {
  help: boolean;
  quick: boolean;
  rounds: number;
  /** null: every scenario. */
  only: ReadonlySet<ScenarioName> | null;
  json: string | undefined;
  durability: 'durable' | 'fast';
  delivery: 'columns' | 'rows';
  profile: string | undefined;
  url: string | undefined;
  /** --quick's or the full run's, with what the command line set on top. */
  sizes: BenchSizes;
  /** --compare: an earlier run's JSON to set this one beside. */
  compare: string | undefined;
  /** --max-regression: with compare, the rate drop in percent past which the run fails. */
  maxRegressionPercent: number | null;
}

/** A command line the bench cannot run: the message says which part and what it takes. */
export class BenchUsageError extends Error {}

export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h', default: false },
        quick: { type: 'boolean', default: false },
        rounds: { type: 'string', default: '1' },
        only: { type: 'string' },
        json: { type: 'string' },
        durability: { type: 'string', default: 'durable' },
        delivery: { type: 'string', default: 'columns' },
        profile: { type: 'string' },
        url: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        viewers: { type: 'string' },
        rooms: { type: 'string' },
        receivers: { type: 'string' },
        'fanout-rate': { type: 'string' },
        'in-flight': { type: 'string' },
        generators: { type: 'string' },
        connections: { type: 'string' },
        compare: { type: 'string' },
        'max-regression': { type: 'string' },
      },
    }));
  } catch (error) {
    // parseArgs's own messages name the option; its stack trace helps nobody.
    throw new BenchUsageError(error instanceof Error ? error.message.split('\n')[0] ?? error.message : String(error));
  }
  const rounds = /^\d+$/.test(values.rounds) ? Number(values.rounds) : Number.NaN;
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 9) throw new BenchUsageError(`--rounds must be 1 to 9, not ${values.rounds}`);
  const durability = oneOf('--durability', values.durability, ['durable', 'fast'] as const);
  const delivery = oneOf('--delivery', values.delivery, ['columns', 'rows'] as const);
  for (const [name, value] of [['--json', values.json], ['--profile', values.profile], ['--url', values.url], ['--compare', values.compare]] as const) {
    if (value !== undefined && value.trim() === '') throw new BenchUsageError(`${name} needs a value`);
  }
  return {
    help: values.help, quick: values.quick, rounds, only: values.only === undefined ? null : selection(values.only),
    json: values.json, durability, delivery, profile: values.profile, url: values.url, sizes: sizesOf(values),
    compare: values.compare, maxRegressionPercent: maxRegression(values['max-regression'], values.compare),
  };
}

/** A plain decimal (no sign, exponent or unit) within [min, max]; `what` names the range in the refusal. */
function decimal(option: string, text: string, min: number, max: number, what: string): number {
  const n = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= min && n <= max)) throw new BenchUsageError(`${option} must be ${what}, not ${JSON.stringify(text)}`);
  return n;
}

function maxRegression(text: string | undefined, compare: string | undefined): number | null {
  if (text === undefined) return null;
  if (compare === undefined) throw new BenchUsageError('--max-regression needs --compare FILE: a run to regress from');
  return decimal('--max-regression', text, 0, 100, '0 to 100 percent');
}

type SizeOptions = Partial<Record<'duration' | 'warmup' | 'viewers' | 'rooms' | 'receivers' | 'fanout-rate' | 'in-flight' | 'generators' | 'connections', string>>;

function sizesOf(values: SizeOptions & { quick: boolean }): BenchSizes {
  const preset = values.quick ? quickSizes : fullSizes;
  const whole = (option: keyof SizeOptions, min: number, max: number, preset: number): number => {
    const text = values[option];
    if (text === undefined) return preset;
    const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new BenchUsageError(`--${option} must be a whole number from ${min} to ${max}, not ${JSON.stringify(text)}`);
    return n;
  };
  const ms = (option: 'duration' | 'warmup', min: number, max: number, preset: number): number => {
    const text = values[option];
    return text === undefined ? preset : Math.round(decimal(`--${option}`, text, min, max, `${min} to ${max} seconds`) * 1000);
  };
  const durationMs = ms('duration', 0.5, 600, preset.durationMs);
  // A window set on the command line is every scenario's, the HTTP ones' too.
  const httpSeconds = values.duration === undefined ? preset.httpSeconds : durationMs / 1000;
  const warmupMs = ms('warmup', 0, 60, preset.warmupMs);
  const sizes: BenchSizes = {
    viewers: whole('viewers', 1, 20_000, preset.viewers),
    rooms: whole('rooms', 1, 10_000, preset.rooms),
    receivers: whole('receivers', 1, 20_000, preset.receivers),
    durationMs,
    warmupMs,
    fanoutRate: whole('fanout-rate', 1, 100_000, preset.fanoutRate),
    httpSeconds,
    generators: whole('generators', 1, 32, preset.generators),
    inFlight: whole('in-flight', 1, 100, preset.inFlight),
    httpConnections: whole('connections', 1, 1_000, preset.httpConnections),
  };
  // Every room and every load generator needs somebody in it.
  if (sizes.rooms > sizes.viewers) throw new BenchUsageError(`--rooms (${sizes.rooms}) may not exceed --viewers (${sizes.viewers}): a room needs a viewer`);
  const fewest = Math.min(sizes.viewers, sizes.receivers);
  if (sizes.generators > fewest) {
    throw new BenchUsageError(`--generators (${sizes.generators}) may not exceed --viewers or --receivers (${fewest}): each load generator needs a client`);
  }
  return sizes;
}

/** Whether a run is the size its targets are set for. */
export function atTargetSizes(sizes: BenchSizes): boolean {
  return (Object.keys(fullSizes) as (keyof BenchSizes)[]).every((key) => sizes[key] === fullSizes[key]);
}

function oneOf<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined) throw new BenchUsageError(`${option} must be ${allowed.join(' or ')}, not ${JSON.stringify(value)}`);
  return found;
}

function selection(list: string): ReadonlySet<ScenarioName> {
  const names = list.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) throw new BenchUsageError('--only needs at least one scenario');
  const chosen = new Set<ScenarioName>();
  for (const name of names) {
    const group = scenarioGroups[name] ?? scenarioNames.filter((known) => known === name);
    if (group.length === 0) throw new BenchUsageError(`--only: no scenario ${JSON.stringify(name)}; there are ${scenarioNames.join(', ')}, http`);
    for (const member of group) chosen.add(member);
  }
  if (chosen.has('hot-room-half')) chosen.add('hot-room');
  return chosen;
}
