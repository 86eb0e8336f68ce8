import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end tests spawn the built CLI and wait on real files and processes.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time on the 2-core machine: most of a file's time is spent waiting on the CLIs
    // and servers it spawns, so the default (one worker on two cores) leaves a core idle; measured
    // 321 s for the whole suite, against 511 s with one.
    maxWorkers: 2,
  },
});
