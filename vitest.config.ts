import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing running; `integration` gets the real stack (Keycloak, upstream
// reference service, SMTP) from test/setup/stack.ts and real PostgreSQL and Redis from the machine.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['bff/src/**/*.test.ts', 'upstream/src/**/*.test.ts', 'stack/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/setup/stack.ts'],
          testTimeout: 60_000,
          hookTimeout: 240_000,
          // Two cores and one shared Keycloak: keep the files mostly sequential.
          maxWorkers: 2,
          fileParallelism: true,
        },
      },
    ],
  },
});
