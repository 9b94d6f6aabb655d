// Mutation testing of the engagement rules (docs/testing.md, "Mutation testing"):
// every production module of src/core, mutated one change at a time, against
// the core's own unit tests. A mutant that survives is a rule no test pins down.
// `npm run test:mutation`; not part of `npm test` (it takes several minutes).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  mutate: [
    'src/core/*.ts',
    '!src/core/*.test.ts',
    // The store interface: types and two constants, nothing to mutate.
    '!src/core/store.ts',
  ],
  coverageAnalysis: 'perTest',
  // The machine is shared: two test processes at most.
  concurrency: 2,
  timeoutMS: 10_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // `npm run test:mutation -- --incremental` reuses the results of the last run for code and tests that did not change.
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  thresholds: { high: 90, low: 85, break: 85 },
};
