/**
 * The widget build's size tricks (Vite plugins used by vite.config.ts). Two of
 * them replace files inside socket.io's client packages; those packages are
 * free to rename or reshape their internals in any release, and a trick that
 * no longer matches would silently give the bytes back. So each one checks,
 * on every build, that what it replaces is still there and still exports
 * exactly what its stand-in exports, and fails the build otherwise.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { Plugin } from 'vite';

/** The names an ES module exports, read by TypeScript's parser from its top-level statements. */
export function exportedNames(source: string): string[] {
  const file = ts.createSourceFile('module.js', source, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const names = new Set<string>();
  const exported = (node: ts.Node) =>
    ts.canHaveModifiers(node) && !!ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  for (const statement of file.statements) {
    if (ts.isVariableStatement(statement) && exported(statement)) {
      for (const declaration of statement.declarationList.declarations) names.add(declaration.name.getText(file));
    } else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && exported(statement)) {
      names.add(statement.name?.text ?? 'default');
    } else if (ts.isExportDeclaration(statement)) {
      if (!statement.exportClause) names.add('*');
      else if (ts.isNamedExports(statement.exportClause))
        for (const element of statement.exportClause.elements) names.add(element.name.text);
    } else if (ts.isExportAssignment(statement)) names.add('default');
  }
  return [...names].sort();
}

/** Why a stand-in does not fit the file it replaces, or null when it exports the same names. */
export function mismatch(original: string, standIn: string): string | null {
  const want = exportedNames(original).join(', ');
  const have = exportedNames(standIn).join(', ');
  return want === have ? null : `the original exports [${want}], the stand-in [${have}]`;
}

const fromHere = createRequire(import.meta.url);
/** A package's folder, also for a package whose `exports` do not list its package.json. */
function packageDir(name: string): string {
  const main = fromHere.resolve(name).replace(/\\/g, '/');
  return main.slice(0, main.lastIndexOf(`/node_modules/${name}/`) + `/node_modules/${name}`.length);
}

/**
 * The widget connects with `transports: ['websocket']` only, but engine.io-client
 * imports every transport (long-polling over XHR, WebTransport) through one
 * table, so none of them can be tree-shaken. Swap that table for one holding
 * the WebSocket transport alone: about 2 KB gzip less for every page.
 */
export function websocketOnly(): Plugin {
  const id = '\0beckon:engine.io-websocket-only';
  const engineIo = packageDir('engine.io-client');
  const table = join(engineIo, 'build/esm/transports/index.js');
  const webSocketTransport = join(engineIo, 'build/esm/transports/websocket.js');
  const standIn = `import { WS } from ${JSON.stringify(webSocketTransport)};\nexport const transports = { websocket: WS };\n`;
  let swapped = false;
  return {
    name: 'beckon:engine.io-websocket-only',
    enforce: 'pre',
    buildStart() {
      swapped = false;
      // The stand-in must still fit: the same table export, and a WebSocket transport named WS in it.
      const problem = mismatch(readFileSync(table, 'utf8'), standIn);
      if (problem)
        this.error(`websocket-only: ${table} changed (${problem}); update scripts/widget-build/size-tricks.ts`);
      if (
        !/\bwebsocket:\s*WS\b/.test(readFileSync(table, 'utf8')) ||
        !exportedNames(readFileSync(webSocketTransport, 'utf8')).includes('WS')
      ) {
        this.error(
          `websocket-only: engine.io-client no longer has its WebSocket transport as WS in ${webSocketTransport}; update scripts/widget-build/size-tricks.ts`,
        );
      }
    },
    resolveId(source, importer) {
      if (
        source === './transports/index.js' &&
        importer &&
        /[\\/]engine\.io-client[\\/]build[\\/]esm[\\/]/.test(importer)
      ) {
        swapped = true;
        return id;
      }
      return null;
    },
    load(loaded) {
      return loaded === id ? standIn : null;
    },
    buildEnd(error) {
      if (!error && !swapped) {
        this.error(
          'websocket-only: engine.io-client no longer imports ./transports/index.js, so every transport would ship; update scripts/widget-build/size-tricks.ts',
        );
      }
    },
  };
}

/**
 * The tree-shaking rule that goes with websocketOnly: engine.io-client's
 * long-polling and WebTransport modules register unload listeners at import
 * time, so once unreferenced they must be dropped whole, side effects and all.
 */
export const withoutUnusedTransports = (id: string): boolean =>
  !/[\\/]engine\.io-client[\\/].*[\\/]transports[\\/](polling|webtransport)/.test(id);

/**
 * With the WebSocket stand-in reading and writing engine.io's packets, nothing
 * of engine.io-parser is used by the script tag's build, but its modules fill
 * lookup tables at import time (its own objects, nothing global), which the
 * bundler has to assume are side effects. They are not: drop what is unused.
 */
export const withoutUnusedEngineParser = (id: string): boolean =>
  withoutUnusedTransports(id) && !/[\\/]engine\.io-parser[\\/]/.test(id);

/**
 * Beckon's realtime protocol is JSON only: no event carries binary data
 * either way, and over WebSocket engine.io never needs base64. Swap the
 * parsers' binary helpers (walking every payload for Blobs and ArrayBuffers,
 * splitting and reassembling attachments, a base64 decoder) for stand-ins
 * that say "no binary here": about 0.6 KB gzip less for every page. A binary
 * packet from a server would not be reassembled (ours never sends one).
 * (The script tag's build goes further: jsonParser, websocketTransport.)
 */
export function jsonOnly(): Plugin {
  /** Stand-in source per file, given the folder of the file it replaces (for imports of its siblings). */
  const stubs: Record<string, (dir: string) => string> = {
    'socket.io-parser/build/esm/is-binary.js': () => 'export const isBinary = () => false, hasBinary = () => false;',
    'socket.io-parser/build/esm/binary.js': () =>
      'export const deconstructPacket = (packet) => ({ packet, buffers: [] }), reconstructPacket = (packet) => packet;',
    'engine.io-parser/build/esm/contrib/base64-arraybuffer.js': () =>
      'export const encode = () => "", decode = () => new ArrayBuffer(0);',
    'engine.io-parser/build/esm/encodePacket.browser.js': (dir) =>
      `import { PACKET_TYPES } from ${JSON.stringify(`${dir}/commons.js`)};\n` +
      'export const encodePacket = ({ type, data }, binary, callback) => callback(PACKET_TYPES[type] + (data || ""));\n' +
      'export const encodePacketToBinary = (packet, callback) => encodePacket(packet, false, (text) => callback(new TextEncoder().encode(text)));\n',
  };
  const prefix = '\0beckon:json-only:';
  const replaced = new Set<string>();
  return {
    name: 'beckon:json-only',
    enforce: 'pre',
    buildStart() {
      replaced.clear();
    },
    async resolveId(source, importer, options) {
      if (!importer || !/[\\/](socket|engine)\.io-parser[\\/]/.test(importer)) return null;
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      const path = resolved?.id.replace(/\\/g, '/');
      return path && Object.keys(stubs).some((file) => path.endsWith(file)) ? prefix + path : null;
    },
    load(id) {
      if (!id.startsWith(prefix)) return null;
      const path = id.slice(prefix.length);
      const file = Object.keys(stubs).find((f) => path.endsWith(f))!;
      const standIn = stubs[file]!(dirname(path));
      const problem = mismatch(readFileSync(path, 'utf8'), standIn);
      if (problem) this.error(`json-only: ${file} changed (${problem}); update scripts/widget-build/size-tricks.ts`);
      replaced.add(file);
      return standIn;
    },
    buildEnd(error) {
      const missed = Object.keys(stubs).filter((file) => !replaced.has(file));
      if (!error && missed.length > 0) {
        this.error(
          `json-only: nothing imported ${missed.join(', ')} any more, so the binary code would ship by another path; update scripts/widget-build/size-tricks.ts`,
        );
      }
    },
  };
}

/**
 * Lit keeps `css` templates verbatim and the JS minifier cannot look inside
 * them, so comments and indentation would ship to every page. Squeeze the
 * widget's own stylesheets (files named `*.styles.ts`): drop comments,
 * collapse whitespace, and remove it next to `{ } ; ,` and after a property's
 * colon. Spaces that carry meaning (descendant selectors, `calc(a - b)`,
 * `rgb(0 0 0 / x)`) are only collapsed, never removed.
 */
export function squeezeStyles(options: { expectStyles: boolean }): Plugin {
  let squeezedFiles = 0;
  return {
    name: 'beckon:squeeze-styles',
    buildStart() {
      squeezedFiles = 0;
    },
    transform(code, id) {
      if (!/[\\/]src[\\/]widget[\\/].+\.styles\.ts$/.test(id)) return null;
      let templates = 0;
      const squeezed = code.replace(/\bcss`((?:[^`$]|\$(?!{))*)`/g, (_, text: string) => {
        templates++;
        const css = text
          .replace(/\/\*[\s\S]*?\*\//g, '')
          .replace(/\s+/g, ' ')
          .replace(/ ?([{};,]) ?/g, '$1')
          .replace(/([{;][a-z-]+): /g, '$1:')
          .replace(/;}/g, '}')
          .trim();
        return `css\`${css}\``;
      });
      if (templates === 0)
        this.error(
          `squeeze-styles: ${id} has no css\`…\` template without interpolation; update scripts/widget-build/size-tricks.ts`,
        );
      squeezedFiles++;
      // Only string contents change; an empty map says so instead of a wrong one.
      return { code: squeezed, map: { mappings: '' } };
    },
    buildEnd(error) {
      if (!error && options.expectStyles && squeezedFiles === 0) {
        this.error(
          'squeeze-styles: no src/widget/**/*.styles.ts was loaded; update scripts/widget-build/size-tricks.ts',
        );
      }
    },
  };
}

const standInDir = join(dirname(fileURLToPath(import.meta.url)), 'stand-ins');

/** A stand-in's source (scripts/widget-build/stand-ins/). */
export const standInSource = (file: string): string => readFileSync(join(standInDir, file), 'utf8');

/**
 * A plugin that loads a stand-in instead of one file of a package, at the
 * file's own path (so the stand-in's relative imports are the original's
 * neighbours). Before it does, the stand-in must export what the original
 * exports and pass `check`, which reads the package's files and names what
 * no longer fits; and a build that never loaded the file fails as well.
 */
function standIn(options: {
  name: string;
  /** The replaced file, as `package/path/in/package.js`. */
  file: string;
  standIn: string;
  check?: (original: string) => string | null;
}): Plugin {
  let loaded = false;
  const suffix = `/node_modules/${options.file}`;
  return {
    name: `beckon:${options.name}`,
    enforce: 'pre',
    buildStart() {
      loaded = false;
    },
    load(id) {
      if (!id.replace(/\\/g, '/').replace(/\?.*$/, '').endsWith(suffix)) return null;
      const original = readFileSync(id.replace(/\?.*$/, ''), 'utf8');
      const source = standInSource(options.standIn);
      const problem = mismatch(original, source) ?? options.check?.(original) ?? null;
      if (problem)
        this.error(`${options.name}: ${options.file} changed (${problem}); update scripts/widget-build/size-tricks.ts`);
      loaded = true;
      return source;
    },
    buildEnd(error) {
      if (!error && !loaded)
        this.error(
          `${options.name}: nothing loaded ${options.file} any more, so its stand-in is unused; update scripts/widget-build/size-tricks.ts`,
        );
    },
  };
}

/** The packet types and protocol number an ES build of socket.io-parser declares. */
export function parserConstants(source: string): string {
  const types = [...source.matchAll(/PacketType\["(\w+)"\] = (\d+)/g)].map(([, name, value]) => `${name}=${value}`);
  return `protocol=${/export const protocol = (\d+)/.exec(source)?.[1] ?? '?'} ${types.join(' ')}`;
}

/**
 * Beckon's realtime protocol is JSON only (see jsonOnly), so socket.io's
 * parser needs no binary attachments: the stand-in
 * (stand-ins/socket.io-parser.js) encodes the same text and decodes with
 * the same validation, and refuses what the original refuses, in fewer
 * bytes. Checked: the same protocol number and packet types, and the same
 * encoder and decoder methods the Manager calls.
 */
export function jsonParser(): Plugin {
  return standIn({
    name: 'json-parser',
    file: 'socket.io-parser/build/esm/index.js',
    standIn: 'socket.io-parser.js',
    check: (original) => {
      const want = parserConstants(original);
      const have = `protocol=${/export const protocol = (\d+)/.exec(standInSource('socket.io-parser.js'))?.[1]} ${[
        'CONNECT',
        'DISCONNECT',
        'EVENT',
        'ACK',
        'CONNECT_ERROR',
        'BINARY_EVENT',
        'BINARY_ACK',
      ]
        .map((name, value) => `${name}=${value}`)
        .join(' ')}`;
      if (want !== have) return `it declares ${want}, the stand-in ${have}`;
      const manager = readFileSync(join(packageDir('socket.io-client'), 'build/esm/manager.js'), 'utf8');
      const text = standInSource('socket.io-parser.js');
      const silent = [...manager.matchAll(/\bon\(this\.decoder, "(\w+)"/g)]
        .map(([, event]) => event!)
        .filter((event) => !text.includes(`emitReserved('${event}'`));
      if (silent.length) return `the Manager listens to ${silent.join(', ')}, which the stand-in never emits`;
      return missingMembers(
        [...manager.matchAll(/this\.(?:en|de)coder\.(\w+)\(/g)].map(([, name]) => name!),
        text,
        'the Manager calls',
      );
    },
  });
}

/** The methods of @socket.io/component-emitter's Emitter, which a stand-in that extends it inherits. */
function emitterMethods(): string[] {
  const source = readFileSync(join(packageDir('@socket.io/component-emitter'), 'lib/esm/index.js'), 'utf8');
  return [...source.matchAll(/Emitter\.prototype\.(\w+)\s*=/g)].map(([, name]) => name!);
}

/** Names the stand-in does not define as a method or property (or inherit from Emitter), or null. */
function missingMembers(names: string[], standInText: string, who: string): string | null {
  const inherited = /\bextends Emitter\b/.test(standInText) ? emitterMethods() : [];
  const missing = [...new Set(names)].filter(
    (name) => !inherited.includes(name) && !new RegExp(`(^|\\n)\\s+${name}\\(|this\\.${name} =`).test(standInText),
  );
  return missing.length ? `${who} ${missing.join(', ')}, which the stand-in lacks` : null;
}

/**
 * What socket.io-client uses of engine.io-client's Socket: the members it
 * reads on `engine` (directly or through compiled optional chaining) and
 * the events the Manager listens to on it.
 */
export function engineUse(manager: string, socket: string): { members: string[]; events: string[] } {
  const members = new Set<string>();
  for (const source of [manager, socket])
    for (const [, , name] of source.matchAll(/\.engine(\) === null \|\| (?:\w+) === void 0 \? void 0 : \w+)?\.(\w+)/g))
      members.add(name!);
  const events = new Set([...manager.matchAll(/\bon\(socket, "(\w+)"/g)].map(([, name]) => name!));
  return { members: [...members].sort(), events: [...events].sort() };
}

/** Why the engine stand-in does not serve socket.io-client as the original does, or null. */
export function engineMismatch(manager: string, socket: string, standInText: string): string | null {
  const { members, events } = engineUse(manager, socket);
  if (members.length === 0 || events.length === 0)
    return 'socket.io-client no longer reads its engine as expected (no members or events found)';
  const silent = events.filter((event) => !standInText.includes(`emitReserved('${event}'`));
  if (silent.length) return `the Manager listens to ${silent.join(', ')}, which the stand-in never emits`;
  return missingMembers(members, standInText, 'socket.io-client uses');
}

/**
 * engine.io-client's Socket opens the first transport, then probes the
 * server's upgrades to better ones; with `transports: ['websocket']` there
 * is none, yet the probing, long-polling's payload splitting and the URL
 * parser ship. The stand-in (stand-ins/engine.io-socket.js) is that Socket
 * for one transport. Checked: engine.io-parser's protocol version, and what
 * socket.io-client reads on its engine and the events its Manager listens
 * to are all there.
 */
export function singleTransport(): Plugin {
  return standIn({
    name: 'single-transport',
    file: 'engine.io-client/build/esm/socket.js',
    standIn: 'engine.io-socket.js',
    check: () => {
      const version = (text: string) => /(?:export )?const protocol = (\d+);/.exec(text)?.[1] ?? '?';
      const want = version(readFileSync(join(packageDir('engine.io-parser'), 'build/esm/index.js'), 'utf8'));
      const have = version(standInSource('engine.io-socket.js'));
      if (want !== have) return `engine.io-parser speaks protocol ${want}, the stand-in ${have}`;
      const client = join(packageDir('socket.io-client'), 'build/esm');
      return engineMismatch(
        readFileSync(join(client, 'manager.js'), 'utf8'),
        readFileSync(join(client, 'socket.js'), 'utf8'),
        standInSource('engine.io-socket.js'),
      );
    },
  });
}

/**
 * socket.io-client's `io()` parses the server's address with url.js and
 * engine.io's regular expression (contrib/parseuri.js); the platform's URL
 * parser does the same. The stand-in (stand-ins/socket.io-client.js) is the
 * package's entry with `io()` reading the address so; its Manager and Socket
 * are the package's own. Checked: the same exports, and the original `io()`
 * still builds its Manager from the parsed address and the options alone.
 */
export function platformLookup(): Plugin {
  return standIn({
    name: 'platform-lookup',
    file: 'socket.io-client/build/esm/index.js',
    standIn: 'socket.io-client.js',
    check: lookupMismatch,
  });
}

/** Why the original `io()` no longer fits its stand-in (it does more than parse, build and ask), or null. */
export function lookupMismatch(original: string): string | null {
  const steps = ['url(uri, opts.path || "/socket.io")', 'new Manager(source, opts)', 'io.socket(parsed.path, opts)'];
  const missing = steps.filter((step) => !original.includes(step));
  return missing.length ? `its io() no longer does ${missing.join(', ')}` : null;
}

/** Why the WebSocket stand-in does not serve the engine stand-in, or null (engine.io-parser's commons.js, the stand-ins' texts). */
export function transportMismatch(commons: string, transportText: string, engineText: string): string | null {
  const want = [...commons.matchAll(/PACKET_TYPES\["(\w+)"\] = "(\d)"/g)].map(([, name, digit]) => `${digit}=${name}`);
  const table = /const TYPES = \[([^\]]*)\]/.exec(transportText)?.[1] ?? '';
  const have = [...table.matchAll(/'(\w+)'/g)].map(([, name], digit) => `${digit}=${name}`);
  if (want.length === 0 || want.join(' ') !== have.join(' '))
    return `engine.io-parser's packet types are [${want.join(' ')}], the stand-in's [${have.join(' ')}]`;
  const heard = [...new Set([...engineText.matchAll(/\.on\('(\w+)'/g)].map(([, event]) => event!))];
  const silent = heard.filter((event) => !transportText.includes(`emitReserved('${event}'`));
  if (silent.length) return `the Socket listens to ${silent.join(', ')}, which the transport never emits`;
  const used = [...engineText.matchAll(/\btransport\.(\w+)/g)].map(([, name]) => name!);
  return missingMembers(used, transportText, 'the Socket uses');
}

/**
 * The one transport, the browser's WebSocket: engine.io-client's is written
 * for Node's `ws` too (agents, certificates, headers) on top of a base class
 * shared with long-polling. The stand-in (stand-ins/engine.io-websocket.js)
 * is the browser's part, and reads and writes engine.io's text packets
 * itself. Goes with singleTransport. Checked: engine.io-parser's packet
 * types, and what the Socket stand-in uses of its transport.
 */
export function websocketTransport(): Plugin {
  return standIn({
    name: 'websocket-transport',
    file: 'engine.io-client/build/esm/transports/websocket.js',
    standIn: 'engine.io-websocket.js',
    check: () =>
      transportMismatch(
        readFileSync(join(packageDir('engine.io-parser'), 'build/esm/commons.js'), 'utf8'),
        standInSource('engine.io-websocket.js'),
        standInSource('engine.io-socket.js'),
      ),
  });
}
