import { defineConfig } from 'vitest/config';

// Three projects, by what a test needs running:
//   unit        nothing (pure code)                            bff/src, upstream/src, stack
//   integration the machine's PostgreSQL and Redis             test/integration
//   e2e         + Keycloak, upstream, SMTP from test/setup/stack.ts, Chromium   test/e2e
export default defineConfig({
  test: {
    // The second prints a plain closing line that CI's log reader counts (test/support/closing-line-reporter.ts).
    reporters: ['default', './test/support/closing-line-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          // Groups run one after the other: unit, then integration, then e2e (two cores).
          sequence: { groupOrder: 0 },
          include: ['bff/src/**/*.test.ts', 'upstream/src/**/*.test.ts', 'stack/**/*.test.ts'],
          // The CLI tests spawn Node and the property tests run thousands of cases: seconds each on a busy machine.
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          sequence: { groupOrder: 2 },
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/setup/stack.ts'],
          testTimeout: 90_000,
          hookTimeout: 300_000,
          // Two cores and one shared Keycloak: at most two files at a time.
          maxWorkers: 2,
        },
      },
    ],
  },
});
