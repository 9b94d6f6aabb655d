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
 *
 * The size tricks (scripts/widget-build/size-tricks.ts) fail the build when
 * what they replace in socket.io's packages has changed, so an upgrade cannot
 * quietly bring the bytes back.
 */
import { defineConfig, type BuildEnvironmentOptions } from 'vite';
import { jsonOnly, squeezeStyles, websocketOnly, withoutUnusedTransports } from './scripts/widget-build/size-tricks.js';

const outDir = 'dist/widget';

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

export default defineConfig({
  // Library mode leaves process.env.NODE_ENV alone for the consumer's bundler; a script tag has no bundler.
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  publicDir: false,
  plugins: [websocketOnly(), jsonOnly(), squeezeStyles({ expectStyles: true })],
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
