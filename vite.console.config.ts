/**
 * Builds the operator's console (src/console) into dist/console, which the
 * backend serves at /console/ (src/app.ts). An application build of its own,
 * apart from the widget's library builds in vite.config.ts: an HTML page with
 * its script and stylesheet as hashed files under /console/assets/, all
 * same-origin files, as the console's Content-Security-Policy requires
 * (no inline script or style).
 *
 * Chart.js is not bundled: the insights load the installed package's file
 * from the backend when they first open (src/console/insights/charts.ts).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('src/console', import.meta.url)),
  base: '/console/',
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL('dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // One script, no dynamic imports: nothing to preload, so no preload helper either.
    modulePreload: false,
  },
});
