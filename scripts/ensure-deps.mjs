#!/usr/bin/env node
// Run before `npm test` and `npm run demo`: on a fresh clone where nobody ran `npm ci` yet,
// install the locked dependencies first, so that the README's commands work as written.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(`${root}/node_modules/.package-lock.json`)) {
  console.error('cost-watchdog: no node_modules yet: running `npm ci` first');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
