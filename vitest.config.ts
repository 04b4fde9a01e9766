import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests of pure logic (parallel), and end-to-end tests against a real
// Docker Engine, sandbox hosts and git: two files at a time (each has sandbox hosts of its own,
// and most of their time is spent waiting on hosts, so two lanes fit the 2 cores CI has).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          // The unit files first (a minute), then the end-to-end ones.
          sequence: { groupOrder: 0 },
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
