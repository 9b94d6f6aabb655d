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
const packageDir = (name: string) => dirname(fromHere.resolve(`${name}/package.json`));

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
 * Beckon's realtime protocol is JSON only: no event carries binary data
 * either way, and over WebSocket engine.io never needs base64. Swap the
 * parsers' binary helpers (walking every payload for Blobs and ArrayBuffers,
 * splitting and reassembling attachments, a base64 decoder) for stand-ins
 * that say "no binary here": about 0.6 KB gzip less for every page. A binary
 * packet from a server would not be reassembled (ours never sends one).
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
