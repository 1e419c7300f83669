import { parseArgs } from 'node:util';

interface OptionSpec { type: 'string' | 'boolean'; default?: string | boolean }
type Values<T extends Record<string, OptionSpec>> = {
  [K in keyof T]: T[K] extends { type: 'boolean' } ? boolean : T[K] extends { default: string } ? string : string | undefined;
};

/**
 * An operations command's options. `--help` (or `-h`) prints the usage and exits 0; an
 * option it does not know, a missing value or a stray argument prints the usage and exits
 * 2, before the command touches anything: a mistyped flag never runs the command as if
 * it had not been given.
 */
export function commandLine<T extends Record<string, OptionSpec>>(usage: string, options: T): Values<T> {
  let parsed: { values: Record<string, string | boolean | undefined> };
  try {
    parsed = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\nusage: ${usage}\n`);
    process.exit(2);
  }
  if (parsed.values.help === true) {
    process.stdout.write(`usage: ${usage}\n`);
    process.exit(0);
  }
  return parsed.values as Values<T>;
}
