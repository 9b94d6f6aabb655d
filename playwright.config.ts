import { defineConfig } from '@playwright/test';
import { chromiumLaunchOptions } from './test/chromium.js';

/**
 * End-to-end tests drive Debian's Chromium (Playwright cannot download its
 * own browser here). Each worker starts its own Beckon process on port 0;
 * see e2e/fixtures.ts. The page written for GWE is also checked in Debian's
 * Firefox ESR, which e2e/firefox.ts drives over WebDriver BiDi.
 */

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
    launchOptions: chromiumLaunchOptions(),
  },
});
