import { defineConfig } from 'vitest/config';

/**
 * The core's own unit tests, alone, for mutation testing (stryker.config.mjs):
 * they run in Node in well under a second each, some on the real SQLite
 * store in memory. The server tests in test/ are left out on purpose: a rule
 * should be pinned down by a test of the rule, not by a slow end-to-end path.
 */
export default defineConfig({
  test: {
    include: ['src/core/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
