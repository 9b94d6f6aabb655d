/**
 * The script tag's build evaluates the connection's code on the first call
 * of `io()`: built as the two builds of vite.config.ts do (the connection as
 * an IIFE in memory, then a script that imports socket.io-client), the script
 * runs without evaluating it, the first call evaluates it once, and every
 * call reaches the connection's own `io`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { build, type Rolldown } from 'vite';
import { describe, expect, it } from 'vitest';
import { CONNECTION_GLOBAL, connectionOnFirstUse, deferredModule, onlyChunk } from './on-first-use.js';

const dir = join(process.cwd(), 'test-results', 'on-first-use');

async function bundle(
  entry: string,
  format: 'iife',
  name: string,
  plugins = [] as ReturnType<typeof connectionOnFirstUse>[],
) {
  return onlyChunk(
    (await build({
      configFile: false,
      logLevel: 'silent',
      root: dir,
      plugins,
      build: { write: false, minify: true, sourcemap: true, lib: { entry, formats: [format], name } },
    })) as Rolldown.RolldownOutput[],
    join(dir, 'dist'),
  );
}

describe('the connection evaluated on first use', () => {
  it('is not evaluated by the script, then once by the first io() of many', async () => {
    // The folder names mimic the widget's: only imports from src/widget are deferred.
    mkdirSync(join(dir, 'src', 'widget'), { recursive: true });
    const connectionEntry = join(dir, 'connection.js');
    writeFileSync(
      connectionEntry,
      'globalThis.evaluations.push("connection");\n' +
        'class Manager { constructor(uri, options) { this.uri = uri; this.options = options; } }\n' +
        'export const io = (uri, options) => new Manager(uri, options);\n',
    );
    const scriptEntry = join(dir, 'src', 'widget', 'script.js');
    writeFileSync(
      scriptEntry,
      "import { io } from 'socket.io-client';\n" +
        'globalThis.evaluations.push("script");\n' +
        'globalThis.connect = (uri) => io(uri, { forceNew: true });\n',
    );
    const connection = await bundle(connectionEntry, 'iife', CONNECTION_GLOBAL);
    const script = await bundle(scriptEntry, 'iife', 'Script', [connectionOnFirstUse(() => connection)]);

    const page: { evaluations: string[]; connect?: (uri: string) => { uri: string; options: object } } = {
      evaluations: [],
    };
    runInNewContext(script.code, page);
    expect(page.evaluations).toEqual(['script']);
    expect(page.connect!('http://a.example')).toMatchObject({ uri: 'http://a.example', options: { forceNew: true } });
    expect(page.evaluations).toEqual(['script', 'connection']);
    expect(page.connect!('http://b.example')).toMatchObject({ uri: 'http://b.example' });
    expect(page.evaluations).toEqual(['script', 'connection']);
    // The script's map still leads into the connection's own source.
    expect(script.map?.sources.some((source) => source.endsWith('connection.js'))).toBe(true);
  });

  it('refuses code that is not the IIFE it expects', () => {
    expect(() => deferredModule({ code: 'export const io = () => 1;', map: null })).toThrow(/no longer starts/);
    expect(deferredModule({ code: `var ${CONNECTION_GLOBAL}=function(e){return e}({});`, map: null }).code).toContain(
      `return ${CONNECTION_GLOBAL};`,
    );
  });
});
