/**
 * The script tag's build evaluates socket.io-client (engine.io and the
 * stand-ins with it) when the widget first connects, not when the page loads
 * `beckon.js`: the connection's code is most of what every page downloads,
 * and defining its classes and functions was most of the script's time
 * before the page's `load`, yet nothing of it runs before the widget mounts,
 * after that `load`.
 *
 * It stays in `beckon.js` (no other file for every page to request, no
 * `eval`): the build bundles it on its own first (the `connection`
 * environment of vite.config.ts, an IIFE held in memory), and the script's
 * build takes that code as the body of one function, run by the first call
 * of `io()`. V8 only pre-parses a function it has not run, so until then the
 * page pays for reading those bytes and nothing more.
 */
import { resolve } from 'node:path';
import type { Plugin, Rolldown } from 'vite';

/** The global name the IIFE would set; inside the function it is a local. */
export const CONNECTION_GLOBAL = 'BeckonSocketIo';

/** The connection's code, as the `connection` build produced it, with its source map. */
export interface PrebuiltCode {
  code: string;
  map: Rolldown.SourceMap | null;
  /** Where that build would have written it: the map's sources are relative to this file. */
  file: string;
}

/** The one chunk of a build's output into `outDir` (a build of one IIFE has exactly one): code, map, file. */
export function onlyChunk(output: unknown, outDir: string): PrebuiltCode {
  const outputs = (Array.isArray(output) ? output : [output]) as Rolldown.RolldownOutput[];
  const chunks = outputs.flatMap((o) => o.output ?? []).filter((file) => file.type === 'chunk');
  if (chunks.length !== 1) throw new Error(`on-first-use: the connection build made ${chunks.length} chunks, not one`);
  const [chunk] = chunks as [Rolldown.OutputChunk];
  return { code: chunk.code, map: chunk.map, file: resolve(outDir, chunk.fileName) };
}

/**
 * The module that takes socket.io-client's place in the script's build: the
 * same `io()`, which evaluates the prebuilt code on its first call. The code
 * starts on the module's second line, so its map moves down one line.
 */
export function deferredModule({ code, map }: Omit<PrebuiltCode, 'file'>): {
  code: string;
  map: Rolldown.SourceMapInput | null;
} {
  const body = code.replace(/\n\/\/# sourceMappingURL=\S*\s*$/, '\n');
  if (!new RegExp(`^(?:"use strict";\\s*)?var ${CONNECTION_GLOBAL}\\s*=`).test(body))
    throw new Error(`on-first-use: the connection build no longer starts with var ${CONNECTION_GLOBAL} = …`);
  return {
    code:
      `function evaluate() {\n${body}\nreturn ${CONNECTION_GLOBAL};\n}\n` +
      'let connection;\n' +
      'export const io = (uri, options) => (connection ||= evaluate()).io(uri, options);\n',
    map: map ? { ...map, mappings: `;${map.mappings}` } : null,
  };
}

/**
 * Resolves the widget's imports of socket.io-client to the deferred module.
 * Only `io` is exported: an import of anything else fails the build.
 */
export function connectionOnFirstUse(prebuilt: () => PrebuiltCode | undefined): Plugin {
  let used = false;
  return {
    name: 'beckon:connection-on-first-use',
    enforce: 'pre',
    // One instance for every environment, so that it reads what buildApp (of the same config) kept.
    sharedDuringBuild: true,
    buildStart() {
      used = false;
    },
    resolveId(source, importer) {
      if (source !== 'socket.io-client' || !importer || !/[\\/]src[\\/]widget[\\/]/.test(importer)) return null;
      const code = prebuilt();
      if (!code) this.error('on-first-use: the connection was not built before the script (see buildApp)');
      used = true;
      // The file the connection build would have written (not a virtual \0 id): the bundler keeps the map
      // of a module whose id is a path, and the map's sources are relative to it.
      return code.file;
    },
    load(loaded) {
      const code = prebuilt();
      return code && loaded === code.file ? deferredModule(code) : null;
    },
    buildEnd(error) {
      if (!error && !used)
        this.error(
          'on-first-use: the widget no longer imports socket.io-client; update scripts/widget-build/on-first-use.ts',
        );
    },
  };
}
