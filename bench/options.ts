import { parseArgs } from 'node:util';

// What `npm run bench -- ...` accepts. A load tester who mistypes an option or a scenario
// name is told so before anything starts: a run that quietly measured nothing, or measured
// the defaults instead of what was asked, would be worse than no run.

export const scenarioNames = ['ack-only', 'evalsha', 'spread', 'hot-room', 'hot-room-half', 'fanout', 'http-wallet', 'http-gifts',
  'baseline-postgres-spread', 'baseline-postgres-hot-room'] as const;
export type ScenarioName = (typeof scenarioNames)[number];

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
  --profile DIR              V8 CPU profiles: the server's threads in DIR, each load generator's in DIR/load-generators
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
  for (const [name, value] of [['--json', values.json], ['--profile', values.profile], ['--url', values.url]] as const) {
    if (value !== undefined && value.trim() === '') throw new BenchUsageError(`${name} needs a value`);
  }
  return {
    help: values.help, quick: values.quick, rounds, only: values.only === undefined ? null : selection(values.only),
    json: values.json, durability, delivery, profile: values.profile, url: values.url,
  };
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
