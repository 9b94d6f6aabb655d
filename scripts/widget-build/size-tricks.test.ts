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
  engineMismatch,
  engineUse,
  exportedNames,
  jsonOnly,
  jsonParser,
  lookupMismatch,
  mismatch,
  parserConstants,
  platformLookup,
  singleTransport,
  squeezeStyles,
  standInSource,
  transportMismatch,
  websocketOnly,
  websocketTransport,
  withoutUnusedEngineParser,
  withoutUnusedTransports,
} from './size-tricks.js';

const dir = join(process.cwd(), 'test-results', 'size-tricks');

/** Builds `source` as an ES library with the given plugins; resolves with the bundled code. */
async function bundle(
  source: string,
  plugins: Plugin[],
  tricks = plugins.length > 0,
  moduleSideEffects = withoutUnusedTransports,
): Promise<string> {
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
      ...(tricks ? { rolldownOptions: { treeshake: { moduleSideEffects } } } : {}),
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

/** The script tag's tricks, as vite.config.ts applies them to beckon.js. */
const scriptTagTricks = () => [
  websocketOnly(),
  jsonParser(),
  singleTransport(),
  websocketTransport(),
  platformLookup(),
];
const nodeModules = join(process.cwd(), 'node_modules');
const packageFile = (file: string) => readFileSync(join(nodeModules, file), 'utf8');

describe("the script tag's stand-ins for socket.io's internals", () => {
  it('leave upgrade probing, the address regular expression, engine.io-parser and the binary helpers out', async () => {
    const before = await bundle(client, [websocketOnly(), jsonOnly()]);
    const after = await bundle(client, scriptTagTricks(), true, withoutUnusedEngineParser);
    for (const gone of ['"probe"', 'upgradeError', 'priorWebsocketSuccess']) {
      expect(before).toContain(gone);
      expect(after).not.toContain(gone);
    }
    for (const module of [
      'engine.io-client/build/esm/contrib/parseuri.js',
      'socket.io-client/build/esm/url.js',
      'engine.io-client/build/esm/transport.js',
      'engine.io-parser/build/esm/commons.js',
      'socket.io-parser/build/esm/binary.js',
      'socket.io-parser/build/esm/is-binary.js',
    ]) {
      expect(after).not.toContain(`// node_modules/${module}`);
    }
    // socket.io-client's own Manager and Socket stay.
    expect(after).toContain('// node_modules/socket.io-client/build/esm/manager.js');
    expect(after).toContain('// node_modules/socket.io-client/build/esm/socket.js');
    expect(after.length).toBeLessThan(before.length * 0.8);
  });

  it('fail a build in which they find nothing to replace', async () => {
    const unrelated = 'export const answer = 42;\n';
    await expect(bundle(unrelated, [jsonParser()])).rejects.toThrow(
      /json-parser: nothing loaded socket\.io-parser\/build\/esm\/index\.js/,
    );
    await expect(bundle(unrelated, [singleTransport()])).rejects.toThrow(
      /single-transport: nothing loaded engine\.io-client\/build\/esm\/socket\.js/,
    );
    await expect(bundle(unrelated, [websocketTransport()])).rejects.toThrow(/websocket-transport: nothing loaded/);
    await expect(bundle(unrelated, [platformLookup()])).rejects.toThrow(/platform-lookup: nothing loaded/);
  });

  it('notice when socket.io-client or engine.io-parser no longer fit them', () => {
    const manager = packageFile('socket.io-client/build/esm/manager.js');
    const socket = packageFile('socket.io-client/build/esm/socket.js');
    const engine = standInSource('engine.io-socket.js');
    expect(engineUse(manager, socket)).toEqual({
      members: ['_hasPingExpired', 'close', 'transport', 'write'],
      events: ['close', 'data', 'error', 'open', 'ping'],
    });
    expect(engineMismatch(manager, socket, engine)).toBeNull();
    // A Manager that reads another member of its engine, or listens to an event the stand-in never emits.
    expect(engineMismatch(manager.replace('this.engine.write(', 'this.engine.send('), socket, engine)).toMatch(
      /socket\.io-client uses send, which the stand-in lacks/,
    );
    expect(engineMismatch(manager.replace('on(socket, "ping"', 'on(socket, "upgrade"'), socket, engine)).toMatch(
      /listens to upgrade, which the stand-in never emits/,
    );
    expect(engineMismatch('', '', engine)).toMatch(/no longer reads its engine/);

    const commons = packageFile('engine.io-parser/build/esm/commons.js');
    const transport = standInSource('engine.io-websocket.js');
    expect(transportMismatch(commons, transport, engine)).toBeNull();
    expect(transportMismatch(commons.replace('"noop"] = "6"', '"noop"] = "7"'), transport, engine)).toMatch(
      /packet types are/,
    );
    expect(transportMismatch(commons, transport, engine + "\nx.on('upgrade', f);")).toMatch(
      /listens to upgrade, which the transport never emits/,
    );

    const parser = packageFile('socket.io-parser/build/esm/index.js');
    expect(parserConstants(parser)).toBe(
      'protocol=5 CONNECT=0 DISCONNECT=1 EVENT=2 ACK=3 CONNECT_ERROR=4 BINARY_EVENT=5 BINARY_ACK=6',
    );
    expect(mismatch(parser, standInSource('socket.io-parser.js'))).toBeNull();
    expect(mismatch(packageFile('engine.io-client/build/esm/socket.js'), engine)).toBeNull();

    const lookup = packageFile('socket.io-client/build/esm/index.js');
    expect(lookupMismatch(lookup)).toBeNull();
    expect(mismatch(lookup, standInSource('socket.io-client.js'))).toBeNull();
    expect(lookupMismatch(lookup.replaceAll('new Manager(source, opts)', 'new Manager(source, { ...opts })'))).toMatch(
      /no longer does new Manager\(source, opts\)/,
    );
  });
});
