import { configDefaults, defineConfig } from 'vitest/config';

/** One PostgreSQL server for the run: TEST_DATABASE_URL, or an embedded one started for it. */
const globalSetup = ['test/support/postgres-server.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'apps/*/test/unit/**/*.test.ts'],
          // Package integration tests belong to the integration project only.
          exclude: [...configDefaults.exclude, 'packages/*/test/integration/**'],
        },
      },
      {
        // The console's components and forms in a simulated browser (jsdom).
        test: {
          name: 'console',
          environment: 'jsdom',
          include: ['apps/console/test/**/*.test.{ts,tsx}'],
          setupFiles: ['apps/console/test/setup.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          globalSetup,
          include: ['apps/*/test/integration/**/*.test.ts', 'packages/*/test/integration/**/*.test.ts'],
          isolate: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          globalSetup,
          include: ['test/e2e/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/e2e/faults.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          // After unit and integration (group 0), one file at a time.
          sequence: { groupOrder: 1 },
        },
      },
      {
        // Restarts the PostgreSQL server every other project uses: it runs alone, after all of them.
        test: {
          name: 'e2e-faults',
          globalSetup,
          include: ['test/e2e/faults.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
