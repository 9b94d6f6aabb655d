/**
 * The scripts ship: the build puts every `.lua` file beside the compiled
 * modules (dist/server/store/redis/, where scripts.ts looks for them), each
 * script the store knows loads from there with its includes, and the
 * package lists them all. Runs against the build (`npm test` builds first).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { luaFiles } from '../../../scripts/server-build/copy-lua.js';
import { loadScript, readFromFolder } from './script-loader.js';
import { ALL_SCRIPTS, SCRIPTS_FOLDER, scriptSource } from './scripts.js';

const built = join('dist', 'server', 'store', 'redis');

describe.runIf(existsSync(join('dist', 'server', 'main.js')))('the Redis scripts in the build and the package', () => {
  it('has every .lua file of the source beside the compiled store, the same', () => {
    expect(luaFiles(built)).toEqual(luaFiles(SCRIPTS_FOLDER));
    const read = readFromFolder(built);
    for (const name of ALL_SCRIPTS) {
      expect([name, loadScript(name, read).source]).toEqual([name, scriptSource(name as never)]);
    }
  });

  it('lists every .lua file in the package', () => {
    const [pack] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8' }),
    ) as [{ files: { path: string }[] }];
    const packed = new Set(pack.files.map((file) => file.path));
    const missing = luaFiles(SCRIPTS_FOLDER)
      .map((file) => `${built}/${file}`.split('\\').join('/'))
      .filter((path) => !packed.has(path));
    expect(missing).toEqual([]);
    expect(packed.has(`${built}/scripts.js`)).toBe(true);
  });
});
