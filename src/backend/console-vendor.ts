/**
 * The console's chart library (Chart.js, pinned in package.json) served from
 * the installed package: the library's version is the one npm installed and
 * audits, never a stale copy, and it stays out of the console's own bundle,
 * so the live view never downloads it (src/console/insights/charts.ts adds it
 * the first time the insights open).
 *
 * Its UMD build is a classic script that defines `window.Chart`: the console
 * adds it as a same-origin <script src> (script-src 'self').
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

export const CHART_LIBRARY_PREFIX = '/console/vendor/chart.js/';
/** The script and its source map; nothing else of the package is reachable. */
const FILES = new Set(['/chart.umd.min.js', '/chart.umd.min.js.map']);

export async function serveConsoleVendor(app: FastifyInstance): Promise<void> {
  // The package's exports do not name its dist files, but "." resolves into the same folder.
  const dist = dirname(createRequire(import.meta.url).resolve('chart.js'));
  await app.register(fastifyStatic, {
    root: dist,
    prefix: CHART_LIBRARY_PREFIX,
    decorateReply: false,
    index: false,
    allowedPath: (path) => FILES.has(path),
  });
}
