/**
 * The console's chart library is served from the installed package, under
 * the console's CSP, and nothing else of node_modules is reachable through it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

describe('the console chart library', () => {
  it('is the installed Chart.js UMD build, as a same-origin script under the strict CSP', async () => {
    const response = await fetch(`${server.url}/console/vendor/chart.js/chart.umd.min.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    const installed = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');
    expect(await response.text()).toBe(readFileSync(installed, 'utf8'));
  });

  it('serves nothing else of the package or of node_modules', async () => {
    for (const path of [
      '/console/vendor/chart.js/chart.cjs',
      '/console/vendor/chart.js/chart.js',
      '/console/vendor/chart.js/',
      '/console/vendor/chart.js/../package.json',
      '/console/vendor/chart.js/%2e%2e/package.json',
      '/console/vendor/chart.js/..%2f..%2f..%2fpackage.json',
    ]) {
      const response = await fetch(server.url + path);
      expect(response.status, path).toBe(404);
    }
  });
});
