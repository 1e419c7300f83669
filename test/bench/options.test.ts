import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { BenchUsageError, parseBenchOptions, scenarioNames } from '../../bench/options.js';
import { projectRoot } from '../../server/paths.js';

const options = suite('bench options');

const refused = (argv: string[], message: string) => {
  assert.throws(() => parseBenchOptions(argv), (error: unknown) => error instanceof BenchUsageError && error.message.includes(message),
    `${argv.join(' ')} should be refused with "${message}"`);
};

options('no options: every scenario once, full size, durable, columns', () => {
  const parsed = parseBenchOptions([]);
  assert.equal({ ...parsed }, { help: false, quick: false, rounds: 1, only: null, json: undefined, durability: 'durable', delivery: 'columns',
    profile: undefined, url: undefined });
});

options('every option is read', () => {
  const parsed = parseBenchOptions(['--quick', '--rounds', '3', '--only', 'spread, fanout', '--json', 'out.json', '--durability', 'fast',
    '--delivery', 'rows', '--profile', 'prof', '--url', 'http://127.0.0.1:3000']);
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
