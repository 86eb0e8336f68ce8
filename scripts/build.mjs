// Bundle src/ into dist/ with esbuild. One bundle loads much faster than many modules (measured:
// commander + yaml + zod take ~120 ms as separate modules, ~75 ms bundled, against ~50 ms for bare
// node), and code splitting keeps each command's code in its own chunk, loaded only when used.
// Type checking is `tsc --noEmit`, run first by `npm run build`.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { webBundle, webDefines } from './web-bundle.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

// The build id: a hash of everything bundled (src/, the locked dependencies, this script).
// Compiled into the main bundle and into the worker, and written on the worker file's first line
// (src/parallel/build-id.ts): a worker file of another build is never run beside this code.
function buildId() {
  const hash = createHash('sha256');
  const files = readdirSync(path.join(root, 'src'), { recursive: true })
    .map((name) => `src/${name}`.replaceAll('\\', '/'))
    .filter((name) => name.endsWith('.ts'))
    .sort();
  for (const file of [
    ...files,
    'package.json',
    'package-lock.json',
    'scripts/build.mjs',
    'scripts/web-bundle.mjs',
  ]) {
    hash.update(`${file}\0`);
    try {
      hash.update(readFileSync(path.join(root, file)));
    } catch {
      hash.update('(none)');
    }
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}
const id = buildId();

rmSync(path.join(root, 'dist'), { recursive: true, force: true });
// The dashboard's and the replay page's browser code (src/web/browser/, with uPlot): one script,
// compiled into the bundle as constants (src/web/assets.ts), in the chunk of those pages only.
const web = webBundle();
const options = {
  absWorkingDir: root,
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifySyntax: true,
  minifyWhitespace: true,
  // Licence comments are dropped from the code; dist/THIRD_PARTY_NOTICES.md carries them instead.
  legalComments: 'none',
  metafile: true,
  define: {
    __COST_WATCHDOG_VERSION__: JSON.stringify(pkg.version),
    __COST_WATCHDOG_BUILD_ID__: JSON.stringify(id),
    ...webDefines(web),
  },
  // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
  banner: {
    js:
      "import { createRequire as __cwCreateRequire } from 'node:module'; const require = " +
      '__cwCreateRequire(import.meta.url);',
  },
  // Loaded only when a line first needs an estimate (price-table.ts), from node_modules: the one
  // runtime dependency in package.json. Everything else is bundled (and a devDependency).
  external: ['@pydantic/genai-prices'],
  // node-redis (@redis/client) loads two optional packages only for features the fleet never uses
  // (OpenTelemetry metrics, the client-side cache's digest), each in a try: bundled as a module
  // that throws, so that dist/ asks for no package that is not installed.
  plugins: [
    {
      name: 'absent-optional',
      setup(b) {
        b.onResolve({ filter: /^(@opentelemetry\/api|@node-rs\/xxhash)$/ }, (args) => ({
          path: args.path,
          namespace: 'absent',
        }));
        b.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({
          contents: `throw new Error(${JSON.stringify(`${args.path} is not bundled with cost-watchdog`)});`,
          loader: 'js',
        }));
      },
    },
  ],
  logLevel: 'warning',
};
const main = await build({
  ...options,
  entryPoints: ['src/cli.ts'],
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
});
// The worker of the two-thread full read (src/parallel/) is loaded by path, so it is one file of
// its own (no chunks shared with the main bundle), its build id on its first line.
const worker = await build({
  ...options,
  entryPoints: { 'parallel-worker': 'src/parallel/worker.ts' },
  banner: { js: `// cost-watchdog build ${id}\n${options.banner.js}` },
});
writeFileSync(
  path.join(root, 'dist', 'THIRD_PARTY_NOTICES.md'),
  notices([main.metafile, worker.metafile, web.metafile]),
);

/** The name, version, licence and licence text of every package whose code is in the bundle. */
function notices(metafiles) {
  const dirs = new Set();
  for (const input of metafiles.flatMap((metafile) => Object.keys(metafile.inputs))) {
    // The innermost node_modules/<name>/ (a nested copy is a package of its own).
    const m = input.match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//);
    if (m) dirs.add(m[1]);
  }
  const sections = [...dirs].map((dir) => {
    const meta = JSON.parse(readFileSync(path.join(root, dir, 'package.json'), 'utf8'));
    const file = readdirSync(path.join(root, dir)).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
    // node-redis's packages (redis, @redis/*) are published without their LICENSE: its text, as in
    // the repository (github.com/redis/node-redis, LICENSE), is kept in scripts/licenses/.
    const kept = /^(redis|@redis\/[^/]+)$/.test(meta.name)
      ? path.join(root, 'scripts/licenses/node-redis.txt')
      : null;
    // A bundled package without its licence text would ship without the notice it requires.
    if (!file && kept === null)
      throw new Error(`${dir}: no LICENSE file to carry into dist/THIRD_PARTY_NOTICES.md`);
    const text = readFileSync(file ? path.join(root, dir, file) : kept, 'utf8').trim();
    return { name: meta.name, heading: `## ${meta.name} ${meta.version} (${meta.license})`, text };
  });
  sections.sort((a, b) => a.name.localeCompare(b.name));
  return [
    '# Third-party notices',
    '',
    `cost-watchdog ${pkg.version} bundles the code of the packages below into dist/; their licences`,
    'and copyright notices follow. @pydantic/genai-prices is not bundled: it is installed beside it',
    'as a dependency, with its own LICENSE.',
    '',
    ...sections.flatMap((s) => [s.heading, '', '```text', s.text, '```', '']),
  ].join('\n');
}
