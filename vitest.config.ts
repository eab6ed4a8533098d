import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'server/**/*.test.ts', 'scripts/**/*.test.ts', 'elements/**/*.test.ts', 'bin/**/*.test.ts', 'worker/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    // CI machines have 2 cores; the suites are mostly CPU-bound and independent.
    maxWorkers: 2,
  },
});
