#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

// A clone where nobody ran the build (or `npm install -g .`, which links to the clone) has no
// dist/: say so in one line instead of a module-not-found stack trace.
const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  const dir = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
  process.stderr.write(
    'cost-watchdog: this copy is not built (no dist/cli.js): ' +
      `run \`npm ci && npm run build\` in ${dir}, ` +
      'or install from a packed tarball (npm pack, then npm install -g ./cost-watchdog-<version>.tgz)\n',
  );
  process.exit(1);
}
// The young generation stays at its starting size (1 MB semispaces) instead of growing to 16 MB
// ones: a full read that keeps many objects (100,000 retry-storm ids) grew it by 30 MB, the
// largest part of its peak RSS, for no measured gain in speed (see docs/internals.md, Memory).
// A V8 flag read each time the young generation would grow, so it takes effect when set here.
setFlagsFromString('--semi-space-growth-factor=1');
await import(cli.href);
