// Where this copy of cost-watchdog is installed: the package root, found from wherever this code
// was bundled to (dist/cli.js or dist/chunks/...).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The absolute path of a file shipped at the package root (bin/..., watchdog.example.yaml), or null. */
export function packageFile(relative: string): string | null {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, relative);
    if (existsSync(candidate) && existsSync(path.join(dir, 'package.json'))) return candidate;
    dir = path.dirname(dir);
  }
  return null;
}
