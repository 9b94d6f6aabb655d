/**
 * The `beckon` command of the installed package (`npx beckon`; the executable
 * is beckon.ts). Beckon is configured by environment variables only
 * (docs/configuration.md), so the command takes no options beyond asking for
 * help or the version: anything else is a mistake worth stopping on (exit 2)
 * rather than a setting silently ignored.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENVIRONMENT_VARIABLES } from './config.js';

/** What the arguments ask for; `usage` carries the message for a mistake. */
export type Command = { run: 'start' } | { run: 'help' } | { run: 'version' } | { run: 'usage'; message: string };

/** Reads the arguments after `beckon`. */
export function parseArguments(args: readonly string[]): Command {
  if (args.length === 0) return { run: 'start' };
  const [first, ...rest] = args;
  const command: Command | null =
    first === 'start'
      ? { run: 'start' }
      : first === '--help' || first === '-h' || first === 'help'
        ? { run: 'help' }
        : first === '--version' || first === '-v'
          ? { run: 'version' }
          : null;
  if (command === null) {
    const what = first!.startsWith('-') ? `unknown option "${first}"` : `unknown command "${first}"`;
    return {
      run: 'usage',
      message: `beckon: ${what}. Settings are environment variables (PORT=9090 beckon); see beckon --help.`,
    };
  }
  if (rest.length > 0) {
    return {
      run: 'usage',
      message: `beckon: "${first}" takes nothing after it (got "${rest.join(' ')}"). Settings are environment variables; see beckon --help.`,
    };
  }
  return command;
}

/** The package's version, from the nearest package.json above this file (dist/server/ or src/). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    if (dirname(dir) === dir) throw new Error('cannot find the package.json of Beckon');
    dir = dirname(dir);
  }
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** `beckon --help`: usage, then every environment variable with its default. */
export function helpText(): string {
  const width = Math.max(...ENVIRONMENT_VARIABLES.map((v) => v.name.length));
  const variables = ENVIRONMENT_VARIABLES.map(
    (v) => `  ${v.name.padEnd(width)}  ${v.meaning}\n  ${' '.repeat(width)}  default: ${v.default}`,
  ).join('\n');
  return `Beckon ${packageVersion()}: self-hosted proactive web engagement.

Usage:
  beckon [start]     start Beckon (one process: REST API, sockets, widget, demo shop, console)
  beckon --help      show this help
  beckon --version   print the version

Beckon is configured by environment variables, e.g. PORT=9090 beckon.
Data is written under the current directory (./data) unless BECKON_DB or REDIS_URL says otherwise.

Environment variables:
${variables}
`;
}

/** Runs `beckon` with the given arguments; sets the exit code of a mistake (2). */
export async function runCommand(args: readonly string[]): Promise<void> {
  const command = parseArguments(args);
  switch (command.run) {
    case 'help':
      process.stdout.write(helpText());
      return;
    case 'version':
      process.stdout.write(`${packageVersion()}\n`);
      return;
    case 'usage':
      process.stderr.write(`${command.message}\n`);
      process.exitCode = 2;
      return;
    case 'start':
      // main.ts starts Beckon when it is loaded, exactly as `npm start` runs it.
      await import('./main.js');
  }
}
