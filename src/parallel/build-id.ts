// Which build this code is of. scripts/build.mjs compiles one id into the main bundle and into the
// worker, and writes it on the worker file's first line: a worker file of another build (an
// upgrade under a running `watch`, a copied dist/) is never run beside this code.
import { closeSync, openSync, readSync } from 'node:fs';

declare const __COST_WATCHDOG_BUILD_ID__: string | undefined;

/** This code's build id; 'source' when it is not built (tests that import src/). */
export const BUILD_ID: string =
  typeof __COST_WATCHDOG_BUILD_ID__ === 'string' ? __COST_WATCHDOG_BUILD_ID__ : 'source';

/** The worker file's first line is this, then the id (see scripts/build.mjs). */
export const BUILD_LINE = '// cost-watchdog build ';

/** The build id on a worker file's first line; 'none' when it has none (a build before ids). */
export function buildIdOfFile(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(256);
    const n = readSync(fd, head, 0, head.length, 0);
    const text = head.toString('latin1', 0, n);
    const eol = text.indexOf('\n');
    if (!text.startsWith(BUILD_LINE) || eol < 0) return 'none';
    return text.slice(BUILD_LINE.length, eol).trim();
  } finally {
    closeSync(fd);
  }
}
