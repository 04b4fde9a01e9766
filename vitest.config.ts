import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests of pure logic (parallel), and end-to-end tests against a real
// Docker Engine, sandbox hosts and git (one file at a time: they share one engine and 2 cores).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
