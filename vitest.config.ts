import { defineConfig } from 'vitest/config';
// @ts-expect-error: a script of the build (JavaScript, no types)
import { webDefines } from './scripts/web-bundle.mjs';

export default defineConfig({
  // The pages' bundled script, as scripts/build.mjs compiles it into dist/ (src/web/assets.ts).
  define: webDefines(),
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end tests spawn the built CLI and wait on real files and processes.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time on the 2-core machine: most of a file's time is spent waiting on the CLIs
    // and servers it spawns, so one worker (the default on two cores) leaves a core idle. The
    // PID-reuse fault test (test/faults/kill.test.ts) sets the kernel's next PID, which a file
    // running beside it would take: `npm test` runs that file alone, after the rest.
    maxWorkers: 2,
  },
});
