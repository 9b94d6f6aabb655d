/**
 * The script loader on scripts held in memory: includes resolved once each,
 * wherever they are included from, and a clear refusal of a missing include,
 * of includes that go round, and of misnumbered KEYS and ARGV locals.
 */
import { describe, expect, it } from 'vitest';
import {
  ScriptLoadError,
  loadScript,
  orderedArguments,
  readLayout,
  resolveIncludes,
  type ReadScriptFile,
} from './script-loader.js';

/** A scripts' folder held in memory: path -> text. */
const folder =
  (files: Record<string, string>): ReadScriptFile =>
  (path) =>
    files[path] ?? null;

/** The lines of a resolved script that are not blank. */
const lines = (text: string) => text.split('\n').filter((line) => line.trim() !== '');

describe('resolveIncludes', () => {
  it('puts each include in place once, after what it includes itself, however often and from wherever it is included', () => {
    const read = folder({
      'main.lua': '--- @include "includes/a"\n--- @include "includes/b"\n--- @include "includes/a"\nmain()',
      'includes/a.lua': '--- @include "includes/base"\nlocal function a() end',
      'includes/b.lua': '--- @include "includes/base"\nlocal function b() end',
      'includes/base.lua': 'local function base() end',
    });
    const resolved = resolveIncludes('main', read);
    expect(lines(resolved).filter((line) => !line.startsWith('--'))).toEqual([
      'local function base() end',
      'local function a() end',
      'local function b() end',
      'main()',
    ]);
    expect(resolved).not.toContain('@include');
  });

  it('reads each file once', () => {
    const reads: string[] = [];
    const files: Record<string, string> = {
      'main.lua': '--- @include "includes/a"\n--- @include "includes/b"',
      'includes/a.lua': '--- @include "includes/base"',
      'includes/b.lua': '--- @include "includes/base"',
      'includes/base.lua': 'x()',
    };
    resolveIncludes('main', (path) => {
      reads.push(path);
      return files[path] ?? null;
    });
    expect(reads.sort()).toEqual(['includes/a.lua', 'includes/b.lua', 'includes/base.lua', 'main.lua']);
  });

  it('leaves a line that only mentions @include alone', () => {
    const read = folder({ 'main.lua': '-- see --- @include "x" in the docs\nlocal s = \'--- @include "y"\'' });
    expect(resolveIncludes('main', read)).toBe('-- see --- @include "x" in the docs\nlocal s = \'--- @include "y"\'');
  });

  it('refuses a missing include, naming the file, the line and the chain that led to it', () => {
    const read = folder({
      'main.lua': '--- @include "includes/a"',
      'includes/a.lua': 'local x = 1\n--- @include "includes/gone"',
    });
    expect(() => resolveIncludes('main', read)).toThrow(ScriptLoadError);
    expect(() => resolveIncludes('main', read)).toThrow(
      'includes/a.lua: the include includes/gone.lua does not exist (main.lua → includes/a.lua → includes/gone.lua)',
    );
  });

  it('refuses a missing script', () => {
    expect(() => resolveIncludes('nothing', folder({}))).toThrow('There is no script nothing.lua.');
    expect(() => loadScript('nothing', folder({}))).toThrow(ScriptLoadError);
  });

  it('refuses includes that go round, directly or through others', () => {
    const itself = folder({ 'main.lua': '--- @include "includes/a"', 'includes/a.lua': '--- @include "includes/a"' });
    expect(() => resolveIncludes('main', itself)).toThrow(
      'includes/a.lua:1: includes go round: main.lua → includes/a.lua → includes/a.lua',
    );
    const round = folder({
      'main.lua': '--- @include "includes/a"',
      'includes/a.lua': '--- @include "includes/b"',
      'includes/b.lua': 'local y = 2\n--- @include "includes/a"',
    });
    expect(() => resolveIncludes('main', round)).toThrow(
      'includes/b.lua:2: includes go round: main.lua → includes/a.lua → includes/b.lua → includes/a.lua',
    );
    const back = folder({ 'main.lua': 'x()\n--- @include "includes/a"', 'includes/a.lua': '--- @include "main"' });
    expect(() => resolveIncludes('main', back)).toThrow(ScriptLoadError);
  });

  it('refuses an include outside the scripts folder', () => {
    for (const path of ['../secret', '/etc/passwd', 'includes/../../x', '']) {
      const read = folder({ 'main.lua': `--- @include "${path}"` });
      expect(() => resolveIncludes('main', read), path).toThrow(ScriptLoadError);
    }
  });
});

describe('readLayout', () => {
  it('reads the names of KEYS and ARGV in their order', () => {
    const text = [
      '--[[ KEYS[1] visitKey the visit ]]',
      'local visitKey = KEYS[1]',
      'local logKey = KEYS[2]',
      'local notAfter = ARGV[1]',
      'local visitId = ARGV[2]',
      'local other = ARGV[3] .. "x"',
    ].join('\n');
    expect(readLayout('s', text)).toEqual({ keys: ['visitKey', 'logKey'], args: ['notAfter', 'visitId'] });
  });

  it('refuses a gap, a position named twice and a name given twice', () => {
    expect(() => readLayout('s', 'local a = KEYS[1]\nlocal c = KEYS[3]')).toThrow('s.lua names no local for KEYS[2]');
    expect(() => readLayout('s', 'local a = ARGV[1]\nlocal b = ARGV[1]')).toThrow('s.lua names ARGV[1] twice');
    expect(() => readLayout('s', 'local a = ARGV[1]\nlocal a = ARGV[2]')).toThrow('s.lua gives two ARGV one name');
  });

  it('reads only the script itself, not its includes', () => {
    const read = folder({
      'main.lua': 'local mainKey = KEYS[1]\n--- @include "includes/a"',
      'includes/a.lua': 'local stray = KEYS[2]',
    });
    expect(loadScript('main', read).layout).toEqual({ keys: ['mainKey'], args: [] });
  });
});

describe('orderedArguments', () => {
  it('orders named values as the script names them, then the variable part', () => {
    expect(orderedArguments('s', ['a', 'b'], { b: '2', a: '1' }, ['x', 'y'])).toEqual(['1', '2', 'x', 'y']);
  });

  it('refuses a value missing or one the script does not have', () => {
    expect(() => orderedArguments('s', ['a', 'b'], { a: '1' })).toThrow('Redis script s: no value for b');
    expect(() => orderedArguments('s', ['a'], { a: '1', typo: '2' })).toThrow('Redis script s has no typo');
  });
});
