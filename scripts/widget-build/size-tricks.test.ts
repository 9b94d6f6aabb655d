/**
 * The widget build's size tricks: each must shrink a real socket.io-client
 * build, and each must fail a build in which it no longer finds what it
 * replaces, instead of quietly letting the bytes back in.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Plugin, type Rolldown } from 'vite';
import { describe, expect, it } from 'vitest';
import {
  exportedNames,
  jsonOnly,
  mismatch,
  squeezeStyles,
  websocketOnly,
  withoutUnusedTransports,
} from './size-tricks.js';

const dir = join(process.cwd(), 'test-results', 'size-tricks');

/** Builds `source` as an ES library with the given plugins; resolves with the bundled code. */
async function bundle(source: string, plugins: Plugin[], tricks = plugins.length > 0): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const entry = join(dir, `entry-${Math.random().toString(36).slice(2)}.js`);
  writeFileSync(entry, source);
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    root: dir,
    plugins,
    define: { 'process.env.NODE_ENV': JSON.stringify('production') },
    // Vitest runs with NODE_ENV=test, which would pick socket.io's debug builds; a site's build picks these.
    resolve: { conditions: ['module', 'browser', 'production'] },
    build: {
      write: false,
      minify: false,
      lib: { entry, formats: ['es'] },
      ...(tricks ? { rolldownOptions: { treeshake: { moduleSideEffects: withoutUnusedTransports } } } : {}),
    },
  });
  const outputs = (Array.isArray(result) ? result : [result]) as Rolldown.RolldownOutput[];
  return outputs
    .flatMap((o) => o.output)
    .map((chunk) => ('code' in chunk ? chunk.code : ''))
    .join('\n');
}

const client = `import { io } from 'socket.io-client';\nexport const connect = (url) => io(url, { transports: ['websocket'] });\n`;

describe('size tricks', () => {
  it('leave long-polling and the binary helpers out of a socket.io-client build', async () => {
    const plain = await bundle(client, []);
    const tricked = await bundle(client, [websocketOnly(), jsonOnly()]);
    // Unminified, the bundle names each module it holds in a comment: without the tricks the polling
    // transport and the binary helpers ship; with them they do not, and the WebSocket transport still does.
    const replaced = [
      'engine.io-client/build/esm/transports/polling',
      'socket.io-parser/build/esm/is-binary.js',
      'socket.io-parser/build/esm/binary.js',
      'engine.io-parser/build/esm/contrib/base64-arraybuffer.js',
    ];
    for (const module of replaced) {
      expect(plain).toContain(`// node_modules/${module}`);
      expect(tricked).not.toContain(`// node_modules/${module}`);
    }
    expect(plain).toContain('XMLHttpRequest');
    expect(tricked).not.toContain('XMLHttpRequest');
    expect(tricked).toContain('// node_modules/engine.io-client/build/esm/transports/websocket.js');
    expect(tricked.length).toBeLessThan(plain.length * 0.85);
  });

  it('fail a build in which they find nothing to replace', async () => {
    const unrelated = 'export const answer = 42;\n';
    await expect(bundle(unrelated, [websocketOnly()])).rejects.toThrow(
      /websocket-only: engine\.io-client no longer imports/,
    );
    await expect(bundle(unrelated, [jsonOnly()])).rejects.toThrow(/json-only: nothing imported .*is-binary\.js/);
    await expect(bundle(unrelated, [squeezeStyles({ expectStyles: true })])).rejects.toThrow(
      /squeeze-styles: no src\/widget/,
    );
    await expect(bundle(unrelated, [squeezeStyles({ expectStyles: false })])).resolves.toContain('42');
  });

  it('notice a replaced file whose exports changed', () => {
    const base64 = readFileSync(
      join(process.cwd(), 'node_modules/engine.io-parser/build/esm/contrib/base64-arraybuffer.js'),
      'utf8',
    );
    expect(exportedNames(base64)).toEqual(['decode', 'encode']);
    expect(mismatch(base64, 'export const encode = () => "", decode = () => new ArrayBuffer(0);')).toBeNull();
    expect(mismatch(base64, 'export const encode = () => "";')).toMatch(
      /original exports \[decode, encode\], the stand-in \[encode\]/,
    );
    expect(exportedNames('export function a() {}\nconst b = 1;\nexport { b as c };\nexport class D {}\n')).toEqual([
      'D',
      'a',
      'c',
    ]);
  });
});
