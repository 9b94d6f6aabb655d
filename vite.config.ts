/**
 * Builds the widget (and only the widget: the server is emitted by tsc into
 * dist/server) as two library bundles in dist/widget:
 *
 * - `beckon.js`, an IIFE for the script tag: the loader plus Lit and
 *   socket.io-client, everything a page loads (size budget in package.json);
 * - `beckon.mjs`, an ES module for bundlers: registers `<beckon-invite>` and
 *   mounts nothing.
 *
 * An IIFE cannot have several entries, so each bundle is its own build
 * environment, built one after the other by `vite build`.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defineConfig, type BuildEnvironmentOptions, type Plugin } from 'vite';

const outDir = 'dist/widget';

/**
 * The widget connects with `transports: ['websocket']` only, but engine.io-client
 * imports every transport (long-polling over XHR, WebTransport) through one
 * table, so none of them can be tree-shaken. Swap that table for one holding
 * the WebSocket transport alone: about 2 KB gzip less for every page.
 */
function websocketOnly(): Plugin {
  const id = '\0beckon:engine.io-websocket-only';
  const engineIo = dirname(createRequire(import.meta.url).resolve('engine.io-client/package.json'));
  const webSocketTransport = join(engineIo, 'build/esm/transports/websocket.js');
  return {
    name: 'beckon:engine.io-websocket-only',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source === './transports/index.js' && importer && /[\\/]engine\.io-client[\\/]build[\\/]esm[\\/]/.test(importer)) {
        return id;
      }
      return null;
    },
    load(loaded) {
      if (loaded !== id) return null;
      return `import { WS } from ${JSON.stringify(webSocketTransport)};\nexport const transports = { websocket: WS };\n`;
    },
  };
}

/**
 * Beckon's realtime protocol is JSON only: no event carries binary data
 * either way, and over WebSocket engine.io never needs base64. Swap the
 * parsers' binary helpers (walking every payload for Blobs and ArrayBuffers,
 * splitting and reassembling attachments, a base64 decoder) for stand-ins
 * that say "no binary here": about 0.6 KB gzip less for every page. A binary
 * packet from a server would not be reassembled (ours never sends one).
 */
function jsonOnly(): Plugin {
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
  return {
    name: 'beckon:json-only',
    enforce: 'pre',
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
      return stubs[file]!(dirname(path));
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
function squeezeStyles(): Plugin {
  return {
    name: 'beckon:squeeze-styles',
    transform(code, id) {
      if (!/[\\/]src[\\/]widget[\\/].+\.styles\.ts$/.test(id)) return null;
      const squeezed = code.replace(/\bcss`((?:[^`$]|\$(?!{))*)`/g, (_, text: string) => {
        const css = text
          .replace(/\/\*[\s\S]*?\*\//g, '')
          .replace(/\s+/g, ' ')
          .replace(/ ?([{};,]) ?/g, '$1')
          .replace(/([{;][a-z-]+): /g, '$1:')
          .replace(/;}/g, '}')
          .trim();
        return `css\`${css}\``;
      });
      // Only string contents change; an empty map says so instead of a wrong one.
      return { code: squeezed, map: { mappings: '' } };
    },
  };
}

/** Settings both bundles share. */
const common: BuildEnvironmentOptions = {
  outDir,
  target: 'es2022',
  sourcemap: true,
  // The bundle is served by our own server with its own cache headers; no hashed names, no manifest.
  copyPublicDir: false,
  rolldownOptions: {
    treeshake: {
      // engine.io-client's long-polling module registers unload listeners at
      // import time; once unreferenced (see websocketOnly) it must go entirely.
      moduleSideEffects: (id) => !/[\\/]engine\.io-client[\\/].*[\\/]transports[\\/](polling|webtransport)/.test(id),
    },
  },
};

export default defineConfig({
  // Library mode leaves process.env.NODE_ENV alone for the consumer's bundler; a script tag has no bundler.
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  publicDir: false,
  plugins: [websocketOnly(), jsonOnly(), squeezeStyles()],
  environments: {
    client: {
      build: {
        ...common,
        // Only this folder, and only by the first build: dist/server belongs to tsc.
        emptyOutDir: true,
        lib: {
          entry: 'src/widget/loader.ts',
          formats: ['iife'],
          // Required by Vite for IIFE; the loader exports nothing, so no global is created.
          name: 'BeckonWidget',
          fileName: () => 'beckon.js',
        },
      },
    },
    module: {
      consumer: 'client',
      build: {
        ...common,
        emptyOutDir: false,
        lib: {
          entry: 'src/widget/index.ts',
          formats: ['es'],
          fileName: () => 'beckon.mjs',
        },
      },
    },
  },
  builder: {
    async buildApp(builder) {
      const { client, module } = builder.environments;
      if (!client || !module) throw new Error('vite.config.ts: widget build environments missing');
      await builder.build(client);
      await builder.build(module);
    },
  },
});
