import { existsSync } from 'node:fs';
import { defineConfig, firefox } from '@playwright/test';
import { chromiumLaunchOptions } from './test/chromium.js';

/**
 * End-to-end tests drive Debian's Chromium (Playwright cannot download its
 * own browser here). Each worker starts its own Beckon process on port 0;
 * see e2e/fixtures.ts.
 *
 * Where Playwright's own Firefox is installed (`npx playwright install
 * firefox`), the page written for GWE also runs in it: the `_gt` queue is
 * plain page code that each engine must run the same.
 */
const firefoxInstalled = existsSync(firefox.executablePath());

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  timeout: 45_000,
  expect: { timeout: 10_000 },
  workers: 2,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  use: {
    headless: true,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
  projects: [
    { name: 'chromium', use: { browserName: 'chromium', launchOptions: chromiumLaunchOptions() } },
    ...(firefoxInstalled
      ? [
          {
            name: 'firefox',
            testMatch: 'visitor-context.spec.ts',
            grep: /written for GWE/,
            use: { browserName: 'firefox' as const },
          },
        ]
      : []),
  ],
});
