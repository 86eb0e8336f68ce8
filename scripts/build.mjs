// Bundle src/ into dist/ with esbuild. One bundle loads much faster than many modules (measured:
// commander + yaml + zod take ~120 ms as separate modules, ~75 ms bundled, against ~50 ms for bare
// node), and code splitting keeps each command's code in its own chunk, loaded only when used.
// Type checking is `tsc --noEmit`, run first by `npm run build`.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
rmSync(path.join(root, 'dist'), { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  // The scan helper thread (scan-helper.ts) is an entry of its own: a worker loads it by path.
  entryPoints: ['src/cli.ts', 'src/scan-worker.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifySyntax: true,
  minifyWhitespace: true,
  // Licence comments are dropped from the code; dist/THIRD_PARTY_NOTICES.md carries them instead.
  legalComments: 'none',
  metafile: true,
  chunkNames: 'chunks/[name]-[hash]',
  define: { __COST_WATCHDOG_VERSION__: JSON.stringify(pkg.version) },
  // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __cwCreateRequire } from 'node:module'; const require = __cwCreateRequire(import.meta.url);",
  },
  // Loaded only when a line first needs an estimate (price-table.ts), from node_modules: the one
  // runtime dependency in package.json. Everything else is bundled (and a devDependency).
  external: ['@pydantic/genai-prices'],
  logLevel: 'warning',
});
writeFileSync(path.join(root, 'dist', 'THIRD_PARTY_NOTICES.md'), notices(result.metafile));

/** The name, version, licence and licence text of every package whose code is in the bundle. */
function notices(metafile) {
  const dirs = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    // The innermost node_modules/<name>/ (a nested copy is a package of its own).
    const m = input.match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//);
    if (m) dirs.add(m[1]);
  }
  const sections = [...dirs].map((dir) => {
    const meta = JSON.parse(readFileSync(path.join(root, dir, 'package.json'), 'utf8'));
    const file = readdirSync(path.join(root, dir)).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
    // A bundled package without its licence text would ship without the notice it requires.
    if (!file) throw new Error(`${dir}: no LICENSE file to carry into dist/THIRD_PARTY_NOTICES.md`);
    const text = readFileSync(path.join(root, dir, file), 'utf8').trim();
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
