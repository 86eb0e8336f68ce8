// Bundle src/ into dist/ with esbuild. One bundle loads much faster than many modules (measured:
// commander + yaml + zod take ~120 ms as separate modules, ~75 ms bundled, against ~50 ms for bare
// node), and code splitting keeps each command's code in its own chunk, loaded only when used.
// Type checking is `tsc --noEmit`, run first by `npm run build`.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

// The build id: a hash of everything bundled (src/, the locked dependencies, this script).
// Compiled into the main bundle and into the worker, and written on the worker file's first line
// (src/parallel/build-id.ts): a worker file of another build is never run beside this code.
function buildId() {
  const hash = createHash('sha256');
  const files = readdirSync('src', { recursive: true })
    .map((name) => `src/${name}`.replaceAll('\\', '/'))
    .filter((name) => name.endsWith('.ts'))
    .sort();
  for (const file of [...files, 'package.json', 'package-lock.json', 'scripts/build.mjs']) {
    hash.update(`${file}\0`);
    try {
      hash.update(readFileSync(file));
    } catch {
      hash.update('(none)');
    }
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}
const id = buildId();

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
const options = {
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  define: {
    __COST_WATCHDOG_VERSION__: JSON.stringify(pkg.version),
    __COST_WATCHDOG_BUILD_ID__: JSON.stringify(id),
  },
  // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __cwCreateRequire } from 'node:module'; const require = __cwCreateRequire(import.meta.url);",
  },
  // Loaded only when a line first needs an estimate (price-table.ts), from node_modules.
  external: ['@pydantic/genai-prices'],
  logLevel: 'warning',
};
await build({
  ...options,
  entryPoints: ['src/cli.ts'],
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
});
// The worker of the two-thread full read (src/parallel/) is loaded by path, so it is one file of
// its own (no chunks shared with the main bundle), its build id on its first line.
await build({
  ...options,
  entryPoints: { 'parallel-worker': 'src/parallel/worker.ts' },
  banner: { js: `// cost-watchdog build ${id}\n${options.banner.js}` },
});
