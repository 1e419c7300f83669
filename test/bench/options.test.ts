import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { atTargetSizes, BenchUsageError, fullSizes, parseBenchOptions, quickSizes, scenarioNames } from '../../bench/options.js';
import { projectRoot } from '../../server/paths.js';

const options = suite('bench options');

const refused = (argv: string[], message: string) => {
  assert.throws(() => parseBenchOptions(argv), (error: unknown) => error instanceof BenchUsageError && error.message.includes(message),
    `${argv.join(' ')} should be refused with "${message}"`);
};

options('no options: every scenario once, full size, durable, columns', () => {
  const parsed = parseBenchOptions([]);
  assert.equal({ ...parsed }, { help: false, quick: false, rounds: 1, only: null, json: undefined, durability: 'durable', delivery: 'columns',
    profile: undefined, url: undefined, sizes: fullSizes, compare: undefined, maxRegressionPercent: null });
  assert.equal(fullSizes, { viewers: 1_000, rooms: 100, receivers: 2_000, durationMs: 10_000, warmupMs: 2_000, fanoutRate: 1_000, httpSeconds: 6, generators: 2,
    inFlight: 1, httpConnections: 50 }, 'the sizes the issue and the README set');
  assert.ok(atTargetSizes(parsed.sizes));
  assert.equal(parseBenchOptions(['--quick']).sizes, quickSizes);
  assert.not.ok(atTargetSizes(quickSizes));
});

options('the sizes are set one by one, over --quick\'s or the full run\'s', () => {
  const sized = parseBenchOptions(['--viewers', '4000', '--rooms', '400', '--receivers', '5000', '--fanout-rate', '2500', '--in-flight', '2',
    '--generators', '4', '--connections', '200', '--duration', '30', '--warmup', '5']).sizes;
  assert.equal(sized, { viewers: 4_000, rooms: 400, receivers: 5_000, durationMs: 30_000, warmupMs: 5_000, fanoutRate: 2_500, httpSeconds: 30, generators: 4,
    inFlight: 2, httpConnections: 200 });
  assert.not.ok(atTargetSizes(sized));
  // --quick's preset stays where nothing overrides it; a fractional duration is taken to the ms.
  assert.equal(parseBenchOptions(['--quick', '--viewers', '50', '--duration', '1.25']).sizes, { ...quickSizes, viewers: 50, durationMs: 1_250, httpSeconds: 1.25 });
  assert.is(parseBenchOptions(['--warmup', '0']).sizes.warmupMs, 0, 'no warm-up at all');
  // The defaults given explicitly are the default run: its targets are judged.
  assert.not.ok(atTargetSizes(parseBenchOptions(['--viewers', '1000', '--duration', '10', '--generators', '2']).sizes), 'HTTP runs 10 s, not 6');
  assert.ok(atTargetSizes(parseBenchOptions(['--viewers', '1000', '--rooms', '100', '--generators', '2']).sizes));
});

options('a size out of its range, not whole, or that leaves a room or a load generator empty is refused', () => {
  for (const [option, value, message] of [
    ['--viewers', '0', '--viewers must be a whole number from 1 to 20000, not "0"'],
    ['--viewers', '20001', 'from 1 to 20000'],
    ['--viewers', '1e3', 'not "1e3"'],
    ['--viewers', '-5', 'not "-5"'],
    ['--viewers', '10.5', 'not "10.5"'],
    ['--rooms', '10001', '--rooms must be a whole number from 1 to 10000'],
    ['--receivers', '0', '--receivers must be a whole number from 1 to 20000'],
    ['--fanout-rate', '100001', '--fanout-rate must be a whole number from 1 to 100000'],
    ['--in-flight', '101', '--in-flight must be a whole number from 1 to 100'],
    ['--generators', '33', '--generators must be a whole number from 1 to 32'],
    ['--connections', '0', '--connections must be a whole number from 1 to 1000'],
    ['--duration', '0.4', '--duration must be 0.5 to 600 seconds, not "0.4"'],
    ['--duration', '601', '--duration must be 0.5 to 600 seconds'],
    ['--duration', '10s', 'not "10s"'],
    ['--duration', 'NaN', 'not "NaN"'],
    ['--duration', '', 'not ""'],
    ['--warmup', '61', '--warmup must be 0 to 60 seconds, not "61"'],
    ['--warmup', '-1', '--warmup must be 0 to 60 seconds'],
  ] as const) refused([`${option}=${value}`], message);
  refused(['--max-regression', '10'], '--max-regression needs --compare FILE');
  for (const value of ['101', '-1', '5%', 'x']) refused(['--compare', 'a.json', `--max-regression=${value}`], '--max-regression must be 0 to 100 percent');
  refused(['--compare', ''], '--compare needs a value');
  assert.equal([parseBenchOptions(['--compare', 'a.json', '--max-regression', '12.5']).maxRegressionPercent, parseBenchOptions(['--compare', 'a.json']).maxRegressionPercent],
    [12.5, null]);
  refused(['--viewers', '50', '--rooms', '51'], '--rooms (51) may not exceed --viewers (50): a room needs a viewer');
  refused(['--quick', '--generators', '8', '--receivers', '5', '--rooms', '1'], '--generators (8) may not exceed --viewers or --receivers (5)');
});

options('every option is read', () => {
  const parsed = parseBenchOptions(['--quick', '--rounds', '3', '--only', 'spread, fanout', '--json', 'out.json', '--durability', 'fast',
    '--delivery', 'rows', '--profile', 'prof', '--url', 'http://127.0.0.1:3000', '--viewers', '300', '--rooms', '30', '--receivers', '400',
    '--fanout-rate', '200', '--in-flight', '3', '--generators', '3', '--connections', '20', '--duration', '4']);
  assert.equal(parsed.sizes, { viewers: 300, rooms: 30, receivers: 400, durationMs: 4_000, warmupMs: 500, fanoutRate: 200, httpSeconds: 4, generators: 3, inFlight: 3,
    httpConnections: 20 });
  assert.equal([...parsed.only ?? []], ['spread', 'fanout']);
  assert.equal([parsed.quick, parsed.rounds, parsed.json, parsed.durability, parsed.delivery, parsed.profile, parsed.url],
    [true, 3, 'out.json', 'fast', 'rows', 'prof', 'http://127.0.0.1:3000']);
  assert.is(parseBenchOptions(['-h']).help, true);
});

options('--only takes every scenario by name, http for both autocannon runs, and hot-room with hot-room-half', () => {
  for (const name of scenarioNames) assert.ok(parseBenchOptions(['--only', name]).only?.has(name), name);
  assert.equal([...parseBenchOptions(['--only', 'http']).only ?? []], ['http-wallet', 'http-gifts']);
  // hot-room-half is paced at half the rate hot-room just reached: alone it could not run.
  assert.equal([...parseBenchOptions(['--only', 'hot-room-half']).only ?? []].sort(), ['hot-room', 'hot-room-half']);
});

options('a mistyped option, scenario or value is refused, never quietly replaced by a default', () => {
  refused(['--bogus'], "Unknown option '--bogus'");
  refused(['spread'], 'Unexpected argument');
  refused(['--only', 'spred'], '--only: no scenario "spred"');
  refused(['--only', ','], '--only needs at least one scenario');
  refused(['--durability', 'fsync'], '--durability must be durable or fast, not "fsync"');
  refused(['--delivery', 'row'], '--delivery must be columns or rows, not "row"');
  for (const rounds of ['0', '10', '2x', '1.5', '-1', '']) refused([`--rounds=${rounds}`], '--rounds must be 1 to 9');
  refused(['--json', ''], '--json needs a value');
  refused(['--quick=yes'], "--quick' does not take an argument");
  refused(['--rounds'], "--rounds <value>' argument missing");
});

options('the command answers a bad line with its usage and exit code 2, before starting anything', () => {
  const run = (argv: string[]) => spawnSync(process.execPath, [path.join(projectRoot, 'dist', 'bench', 'run.js'), ...argv], { encoding: 'utf8', timeout: 30_000 });
  const bad = run(['--only', 'spred']);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, 'bench: --only: no scenario "spred"');
  assert.match(bad.stderr, 'usage: npm run bench');
  assert.not.match(bad.stderr, /\n\s+at /, 'no stack trace');
  const help = run(['--help']);
  assert.is(help.status, 0);
  assert.match(help.stdout, '--only a,b');
});

options.run();
