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
  },
});
