import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { engage, engagement, noengage, notify } from './src/widget/test/commands.js';
import { chromiumLaunchOptions } from './test/chromium.js';

/** Debian's Chromium: Playwright cannot download its own browser here (same as playwright.config.ts). */

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Artifacts of failed runs go with Playwright's, never into the source tree.
    attachmentsDir: 'test-results/vitest-attachments',
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          // Unit tests sit next to the code; server tests start real servers on port 0, on SQLite.
          // The store contract (test/store-contract/) runs here on both stores, each of its files
          // with a redis-server of its own.
          include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'scripts/**/*.test.ts'],
          exclude: ['src/**/*.browser.test.ts', 'test/redis-*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'node-redis',
          // The same server tests on the Redis store (one real redis-server for the run, a fresh key
          // prefix per server), plus what only Redis has: its crashes and outages. Not the store
          // contract (the node project has run it on Redis already), nor the docs, which no store changes.
          include: ['test/**/*.test.ts'],
          exclude: ['test/store-contract/**', 'test/docs.test.ts'],
          env: { BECKON_TEST_STORE: 'redis' },
          globalSetup: ['test/redis.setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          // Component tests draw <beckon-invite> in a real Chromium, connected to a real Beckon.
          include: ['src/widget/**/*.browser.test.ts'],
          globalSetup: ['src/widget/test/beckon-server.setup.ts'],
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({
              launchOptions: chromiumLaunchOptions(),
            }),
            instances: [{ browser: 'chromium' }],
            // Failure screenshots with the other test artifacts, not beside the sources.
            screenshotDirectory: 'test-results/vitest-browser',
            commands: { engage, noengage, engagement, notify },
          },
        },
      },
    ],
  },
});
