/**
 * Reads the Redis store's Lua scripts from their files and makes each one
 * text that Redis can run.
 *
 * A script is `<name>.lua` in one folder; shared fragments live beside it
 * (in `includes/`) and are pulled in with a line of their own:
 *
 *     --- @include "includes/events"
 *
 * The path is relative to the scripts' folder, wherever the including file
 * is, and `.lua` is implied. Each fragment goes into a script once, where it
 * is first included (after the fragments it includes itself); a later
 * include of it adds nothing. A missing fragment, or one that includes
 * itself through others, fails the load with the chain of files that led to
 * it, so that a broken build stops at start rather than at the first call.
 *
 * The script's own file names its KEYS and ARGV as locals at the top
 * (`local visitKey = KEYS[3]`, numbered from 1 without a gap); the loader
 * reads those names so that callers pass keys and arguments by name
 * (`layout`, `orderedArguments`).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, normalize, sep } from 'node:path';

/** A script that could not be made: a file or include is missing, includes go round, or its locals are misnumbered. */
export class ScriptLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScriptLoadError';
  }
}

/** The names a script gives its KEYS and ARGV, in their order (KEYS[1] first). */
export interface ScriptLayout {
  keys: readonly string[];
  args: readonly string[];
}

export interface LoadedScript {
  name: string;
  /** The text Redis runs: the script with every include in place. */
  source: string;
  layout: ScriptLayout;
}

const INCLUDE = /^--- @include "([^"]*)"\s*$/;
const NAMED = /^local (\w+) = (KEYS|ARGV)\[(\d+)\]\s*$/;

/** Reads a file of the scripts' folder; null when there is none. */
export type ReadScriptFile = (path: string) => string | null;

/** Reads from a folder on disk. */
export function readFromFolder(folder: string): ReadScriptFile {
  return (path) => {
    try {
      return readFileSync(join(folder, path), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  };
}

/** `name` as a path inside the folder (`.lua` added); refuses one that leaves the folder. */
function scriptPath(name: string, from: string): string {
  const path = normalize(`${name}.lua`);
  if (name === '' || isAbsolute(path) || path.startsWith(`..${sep}`) || path === '..') {
    throw new ScriptLoadError(`${from}: include "${name}" is not a path inside the scripts' folder`);
  }
  return path;
}

/** The script `name` with its includes in place, each once. */
export function resolveIncludes(name: string, read: ReadScriptFile): string {
  const emitted = new Set<string>();
  const cache = new Map<string, string | null>();
  const readOnce = (path: string) => {
    if (!cache.has(path)) cache.set(path, read(path));
    return cache.get(path)!;
  };

  const expand = (path: string, chain: readonly string[]): string => {
    const text = readOnce(path);
    if (text === null) {
      if (chain.length === 0) throw new ScriptLoadError(`There is no script ${path}.`);
      const from = chain[chain.length - 1]!;
      throw new ScriptLoadError(`${from}: the include ${path} does not exist (${[...chain, path].join(' → ')})`);
    }
    const lines = text.split('\n').map((line, index) => {
      const match = INCLUDE.exec(line);
      if (!match) return line;
      const target = scriptPath(match[1]!, `${path}:${index + 1}`);
      if (target === path || chain.includes(target)) {
        throw new ScriptLoadError(`${path}:${index + 1}: includes go round: ${[...chain, path, target].join(' → ')}`);
      }
      if (emitted.has(target)) return `-- (${target}: included above)`;
      const body = expand(target, [...chain, path]);
      emitted.add(target);
      return body.trimEnd();
    });
    return lines.join('\n');
  };

  return expand(scriptPath(name, 'the caller'), []);
}

/** The names of the script's `local x = KEYS[i]` and `local y = ARGV[j]` lines, checked to run from 1 without a gap. */
export function readLayout(name: string, text: string): ScriptLayout {
  const found = { KEYS: new Map<number, string>(), ARGV: new Map<number, string>() };
  for (const line of text.split('\n')) {
    const match = NAMED.exec(line);
    if (!match) continue;
    const [, local, table, index] = match as unknown as [string, string, 'KEYS' | 'ARGV', string];
    const position = Number(index);
    if (found[table].has(position)) throw new ScriptLoadError(`${name}.lua names ${table}[${position}] twice`);
    found[table].set(position, local);
  }
  const ordered = (table: 'KEYS' | 'ARGV') => {
    const names = found[table];
    const out: string[] = [];
    for (let position = 1; position <= names.size; position++) {
      const local = names.get(position);
      if (local === undefined) throw new ScriptLoadError(`${name}.lua names no local for ${table}[${position}]`);
      out.push(local);
    }
    if (new Set(out).size !== out.length) throw new ScriptLoadError(`${name}.lua gives two ${table} one name`);
    return out;
  };
  return { keys: ordered('KEYS'), args: ordered('ARGV') };
}

/** Loads one script: its text with the includes in place, and the names of its KEYS and ARGV. */
export function loadScript(name: string, read: ReadScriptFile): LoadedScript {
  const own = read(`${name}.lua`);
  if (own === null) throw new ScriptLoadError(`There is no script ${name}.lua.`);
  return { name, source: resolveIncludes(name, read), layout: readLayout(name, own) };
}

/**
 * KEYS or ARGV of a script as the array Redis takes: the named values in
 * the script's order, then `more` (the variable part some scripts end
 * with). A name missing from `values`, or one the script does not have,
 * is a bug of the caller and throws.
 */
export function orderedArguments(
  script: string,
  names: readonly string[],
  values: Readonly<Record<string, string>>,
  more: readonly string[] = [],
): string[] {
  const out: string[] = [];
  for (const name of names) {
    const value = values[name];
    if (value === undefined) throw new Error(`Redis script ${script}: no value for ${name}`);
    out.push(value);
  }
  if (Object.keys(values).length !== names.length) {
    const unknown = Object.keys(values).filter((name) => !names.includes(name));
    throw new Error(`Redis script ${script} has no ${unknown.join(', ')}`);
  }
  return more.length === 0 ? out : out.concat(more);
}
