/**
 * Builds the widget (and only the widget: the server is emitted by tsc into
 * dist/server) as three library bundles in dist/widget:
 *
 * - `beckon.js`, an IIFE for the script tag: what every page loads, the
 *   loader, the connection (socket.io-client), the page API and the state of
 *   the invitation, without Lit;
 * - `beckon-ui.js`, an ES module the script tag imports from beside itself
 *   when the page is idle or an invitation arrives: Lit and the card
 *   (size budgets for each and for both in package.json);
 * - `beckon.mjs`, an ES module for bundlers: registers `<beckon-invite>`
 *   with its card and mounts nothing.
 *
 * An IIFE cannot have several entries, and the chunk must not share code
 * with the script through a third file, so each bundle is its own build
 * environment, built one after the other by `vite build`.
 *
 * The size tricks (scripts/widget-build/size-tricks.ts) fail the build when
 * what they replace in socket.io's packages has changed, so an upgrade cannot
 * quietly bring the bytes back.
 */
import { defineConfig, type BuildEnvironmentOptions, type Plugin } from 'vite';
import {
  jsonOnly,
  jsonParser,
  platformLookup,
  singleTransport,
  squeezeStyles,
  websocketOnly,
  websocketTransport,
  withoutUnusedEngineParser,
  withoutUnusedTransports,
} from './scripts/widget-build/size-tricks.js';
import {
  CONNECTION_GLOBAL,
  connectionOnFirstUse,
  onlyChunk,
  type PrebuiltCode,
} from './scripts/widget-build/on-first-use.js';

const outDir = 'dist/widget';

/** The connection's code, bundled by the first build and taken into `beckon.js` by the next (see on-first-use.ts). */
let connection: PrebuiltCode | undefined;

/** Settings both bundles share. */
const common: BuildEnvironmentOptions = {
  outDir,
  target: 'es2022',
  sourcemap: true,
  // The bundle is served by our own server with its own cache headers; no hashed names, no manifest.
  copyPublicDir: false,
  rolldownOptions: {
    treeshake: {
      // engine.io-client's unused transports go whole (see websocketOnly).
      moduleSideEffects: withoutUnusedTransports,
    },
  },
};

/** A plugin for some of the builds only: each trick fails a build that lacks what it replaces. */
function only(plugin: Plugin, environments: string[]): Plugin {
  return { ...plugin, applyToEnvironment: (environment) => environments.includes(environment.name) };
}

export default defineConfig({
  // Library mode leaves process.env.NODE_ENV alone for the consumer's bundler; a script tag has no bundler.
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  publicDir: false,
  plugins: [
    only(websocketOnly(), ['connection', 'module']),
    only(jsonOnly(), ['module']),
    // What every page loads goes further: socket.io's parser, engine, transport and address parser
    // for one transport and JSON only (no binary helpers left to swap). The module for bundlers keeps
    // socket.io's own.
    only(jsonParser(), ['connection']),
    only(singleTransport(), ['connection']),
    only(websocketTransport(), ['connection']),
    only(platformLookup(), ['connection']),
    only(
      connectionOnFirstUse(() => connection),
      ['client'],
    ),
    only(squeezeStyles({ expectStyles: true }), ['ui', 'module']),
  ],
  environments: {
    connection: {
      consumer: 'client',
      build: {
        ...common,
        // Kept in memory: its code becomes one function of beckon.js.
        write: false,
        emptyOutDir: false,
        rolldownOptions: {
          // engine.io-client's unused transports and engine.io-parser go whole (see withoutUnusedEngineParser).
          treeshake: { moduleSideEffects: withoutUnusedEngineParser },
        },
        lib: {
          entry: 'scripts/widget-build/socket-io.js',
          formats: ['iife'],
          name: CONNECTION_GLOBAL,
          fileName: () => 'connection.js',
        },
      },
    },
    client: {
      build: {
        ...common,
        // Only this folder, and only by the first build that writes: dist/server belongs to tsc.
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
    ui: {
      consumer: 'client',
      build: {
        ...common,
        emptyOutDir: false,
        lib: {
          entry: 'src/widget/ui.ts',
          formats: ['es'],
          fileName: () => 'beckon-ui.js',
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
      const { connection: bundled, client, ui, module } = builder.environments;
      if (!bundled || !client || !ui || !module) throw new Error('vite.config.ts: widget build environments missing');
      connection = onlyChunk(await builder.build(bundled), outDir);
      await builder.build(client);
      await builder.build(ui);
      await builder.build(module);
    },
  },
});
