// The npm package as a user gets it: dist/ loads nothing undeclared, what runs admits the lowest
// Node that engines promises, the bundled packages' licences ship, an unbuilt copy says so in one
// line, and the packed tarball installed into a fresh prefix works from outside the clone.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BIN } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface PackageJson {
  name: string;
  version: string;
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  optional?: boolean;
  engines?: { node?: string };
}

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as PackageJson;
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, LockEntry>;
};

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'cw-pkg-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.js'))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** The package a specifier names (`@scope/name/sub` -> `@scope/name`), or null when it is relative. */
function packageOf(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('/')) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

/**
 * Every module specifier in bundled code: `from"x"` (not the end of a text like `"--from"`),
 * `import"x"`, `import("x")`, `require("x")` (and the `require2(...)` esbuild renames),
 * `require.resolve("x")` and `createRequire(...)("x")`.
 */
function specifiersIn(code: string): string[] {
  const found = new Set<string>();
  const lead = [
    /(?<![-\w$])from\s*/.source,
    /\bimport\s*\(?\s*/.source,
    /\brequire\w*(?:\.resolve)?\s*\(\s*/.source,
    /\bcreateRequire\w*\([^()]*\)\s*\(\s*/.source,
  ].join('|');
  const quoted = new RegExp(`(?:${lead})(["'\`])([^"'\`\\s]+)\\1`, 'g');
  for (const m of code.matchAll(quoted)) found.add(m[2] as string);
  return [...found];
}

/** The lowest version a `>=20.19`-style range admits. */
function lowest(range: string): [number, number, number] {
  const m = range.match(/^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/);
  if (!m) throw new Error(`engines.node ${range}: expected >=X.Y`);
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

/** Whether a version satisfies an npm range made of `||`-joined sets of >=, >, <, <=, ^, ~, = comparators. */
function admits(range: string, version: [number, number, number]): boolean {
  return range.split('||').some((set) => {
    const comparators = set
      .replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1')
      .trim()
      .split(/\s+/);
    return comparators.every((c) => {
      const m = c.match(/^(>=|<=|>|<|=|\^|~)?v?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?$/);
      if (!m) throw new Error(`cannot read the range ${range}`);
      const want = [
        Number(m[2]),
        Number.parseInt(m[3] ?? '0', 10) || 0,
        Number.parseInt(m[4] ?? '0', 10) || 0,
      ];
      const cmp = compare(version, want);
      switch (m[1]) {
        case '>=':
          return cmp >= 0;
        case '>':
          return cmp > 0;
        case '<=':
          return cmp <= 0;
        case '<':
          return cmp < 0;
        case '^':
          return cmp >= 0 && version[0] === want[0];
        case '~':
          return cmp >= 0 && version[0] === want[0] && version[1] === want[1];
        default:
          // `20` or `=20.1`: a partial version stands for its whole range.
          return m[3] === undefined ? version[0] === want[0] : cmp === 0;
      }
    });
  });
}

/** name -> version of every package whose code is bundled, from dist/THIRD_PARTY_NOTICES.md. */
function bundled(): Map<string, string> {
  const text = readFileSync(path.join(ROOT, 'dist', 'THIRD_PARTY_NOTICES.md'), 'utf8');
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^## (\S+) (\S+) \(([^)]+)\)$/gm)) out.set(m[1] as string, m[2] as string);
  return out;
}

function lockEntry(name: string, version: string): LockEntry | undefined {
  return Object.entries(lock.packages).find(
    ([key, entry]) => key.endsWith(`node_modules/${name}`) && entry.version === version,
  )?.[1];
}

describe('the bundle is honest', () => {
  it('the scanner finds every kind of module specifier the bundle uses', () => {
    const code =
      'import{a}from"yaml";import"zod";import("./chunk.js");var r=require("events");' +
      'createRequire(import.meta.url)("@pydantic/genai-prices");require2.resolve("ps-list/x")';
    expect(specifiersIn(code).sort()).toEqual(
      ['./chunk.js', '@pydantic/genai-prices', 'events', 'ps-list/x', 'yaml', 'zod'].sort(),
    );
  });

  it('dist/ loads at run time exactly the packages in dependencies, besides Node built-ins', () => {
    const loaded = new Map<string, string>();
    for (const file of jsFiles(path.join(ROOT, 'dist'))) {
      for (const specifier of specifiersIn(readFileSync(file, 'utf8'))) {
        const name = packageOf(specifier);
        if (name !== null && !isBuiltin(specifier)) loaded.set(name, path.relative(ROOT, file));
      }
    }
    // Nothing undeclared (it would be missing from an install), nothing declared that is bundled
    // (it would be installed for nothing).
    const undeclared = [...loaded].filter(([name]) => !(name in pkg.dependencies));
    expect(undeclared, 'loaded by dist/ but not in dependencies').toEqual([]);
    expect([...loaded.keys()].sort()).toEqual(Object.keys(pkg.dependencies).sort());
  });

  it('every bundled package is in dist/THIRD_PARTY_NOTICES.md with its version and licence text', () => {
    const notices = bundled();
    const text = readFileSync(path.join(ROOT, 'dist', 'THIRD_PARTY_NOTICES.md'), 'utf8');
    const srcFiles = readdirSync(path.join(ROOT, 'src'), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
      .map((entry) => path.join(entry.parentPath, entry.name));
    const imported = new Set<string>();
    for (const file of srcFiles) {
      // Runtime imports only: `import type` leaves nothing in the bundle.
      for (const m of readFileSync(file, 'utf8').matchAll(/^import (?!type )[^;]*?from '([^']+)'/gms)) {
        const name = packageOf(m[1] as string);
        if (name !== null && !isBuiltin(m[1] as string) && !(name in pkg.dependencies)) imported.add(name);
      }
    }
    expect(imported.size).toBeGreaterThan(0);
    for (const name of imported) {
      const installed = JSON.parse(
        readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8'),
      ) as { version: string };
      expect(notices.get(name), name).toBe(installed.version);
    }
    expect(text).toMatch(/Permission is hereby granted/);
    for (const name of Object.keys(pkg.dependencies)) expect(notices.has(name), name).toBe(false);
  });

  it('every package whose code runs (dependencies and bundled) admits the lowest Node of engines', () => {
    const floor = lowest(pkg.engines.node);
    const checked: string[] = [];
    const runtime = Object.entries(lock.packages).filter(([key, e]) => key !== '' && !e.dev);
    for (const [key, entry] of runtime) {
      if (entry.engines?.node !== undefined)
        expect(admits(entry.engines.node, floor), `${key} engines.node ${entry.engines.node}`).toBe(true);
      checked.push(key);
    }
    for (const [name, version] of bundled()) {
      const entry = lockEntry(name, version);
      expect(entry, `${name}@${version} in package-lock.json`).toBeDefined();
      const range = entry?.engines?.node;
      if (range !== undefined) expect(admits(range, floor), `${name} engines.node ${range}`).toBe(true);
      checked.push(name);
    }
    expect(checked).toContain('node_modules/@pydantic/genai-prices');
    expect(checked).toContain('chokidar');
    // The range reader itself, on the shapes the lock holds.
    expect(admits('>= 20.19.0', [20, 19, 0])).toBe(true);
    expect(admits('^20.19.0 || >=22.12.0', [20, 18, 3])).toBe(false);
    expect(admits('^20.19.0 || >=22.12.0', [22, 12, 0])).toBe(true);
    expect(admits('>=20.19 <21', [21, 0, 0])).toBe(false);
  });
});

describe('an unbuilt copy', () => {
  it('says in one line how to build it, also through the link `npm install -g .` makes', () => {
    const dir = tempDir();
    const clone = path.join(dir, 'clone');
    mkdirSync(path.join(clone, 'bin'), { recursive: true });
    cpSync(BIN, path.join(clone, 'bin', 'cost-watchdog.js'));
    writeFileSync(path.join(clone, 'package.json'), JSON.stringify({ type: 'module' }));
    symlinkSync(path.join(clone, 'bin', 'cost-watchdog.js'), path.join(dir, 'cost-watchdog'));
    const real = realpathSync(clone);
    for (const bin of [path.join(clone, 'bin', 'cost-watchdog.js'), path.join(dir, 'cost-watchdog')]) {
      const r = spawnSync(process.execPath, [bin, 'status'], { encoding: 'utf8', cwd: dir });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        'cost-watchdog: this copy is not built (no dist/cli.js): ' +
          `run \`npm ci && npm run build\` in ${real}, ` +
          'or install from a packed tarball (npm pack, then npm install -g ./cost-watchdog-<version>.tgz)\n',
      );
    }
  });
});

function npm(args: string[], cwd: string): string {
  const r = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0)
    throw new Error(`npm ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A clone as a newcomer has it: the sources without dist/, the installed node_modules beside. */
function freshClone(dir: string): string {
  const clone = path.join(dir, 'clone');
  const skip = new Set(['node_modules', 'dist', '.git', '.cost-watchdog']);
  for (const name of readdirSync(ROOT)) {
    if (skip.has(name)) continue;
    cpSync(path.join(ROOT, name), path.join(clone, name), {
      recursive: true,
      filter: (source) => !source.includes(`${path.sep}.work`),
    });
  }
  symlinkSync(realpathSync(path.join(ROOT, 'node_modules')), path.join(clone, 'node_modules'));
  return clone;
}

describe('the packed tarball', () => {
  it('installs into a fresh prefix and works from outside the clone, pricing tokens from the table', () => {
    const dir = tempDir();
    const clone = freshClone(dir);
    const out = path.join(dir, 'packed');
    mkdirSync(out);
    // prepack builds: the clone has no dist/ before.
    const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', out], clone)) as {
      filename: string;
      files: { path: string }[];
    }[];
    expect(existsSync(path.join(clone, 'dist', 'cli.js'))).toBe(true);
    const files = (packed[0]?.files ?? []).map((f) => f.path);
    for (const file of ['bin/cost-watchdog.js', 'dist/cli.js', 'dist/THIRD_PARTY_NOTICES.md', 'LICENSE'])
      expect(files).toContain(file);
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);

    // Without network: `npm ci` left the locked runtime dependencies and their registry metadata
    // in the npm cache, but a global install asks for the full metadata, which is not there. So
    // they are taken from the cache at their locked versions (checked against the lock's
    // integrity) and installed beside it.
    const deps = Object.entries(lock.packages).filter(([key, e]) => key !== '' && !e.dev && !e.optional);
    const tarballs: string[] = [];
    for (const [key, entry] of deps) {
      const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
      const spec = entry.resolved ?? `${name}@${entry.version}`;
      const packedDep = JSON.parse(npm(['pack', '--json', '--offline', spec], out)) as { filename: string }[];
      const file = path.join(out, packedDep[0]?.filename as string);
      const [algorithm, digest] = (entry.integrity as string).split('-') as [string, string];
      expect(createHash(algorithm).update(readFileSync(file)).digest('base64'), key).toBe(digest);
      tarballs.push(file);
    }
    expect(tarballs).toHaveLength(Object.keys(pkg.dependencies).length);
    const prefix = path.join(dir, 'prefix');
    const tarball = path.join(out, packed[0]?.filename as string);
    npm(['install', '-g', '--offline', '--prefix', prefix, ...tarballs, tarball], dir);

    const app = path.join(dir, 'my-app');
    mkdirSync(path.join(app, 'state'), { recursive: true });
    const run = (...args: string[]) =>
      spawnSync(path.join(prefix, 'bin', 'cost-watchdog'), args, {
        cwd: app,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' },
        timeout: 60_000,
      });
    const version = run('--version');
    expect(version.stderr).toBe('');
    expect(version.stdout.trim()).toBe(pkg.version);
    expect(run('init').status).toBe(0);
    const validate = run('validate');
    expect(validate.status, validate.stderr).toBe(0);
    expect(validate.stdout).toContain(path.join(app, 'state', 'cost_log.jsonl'));

    // A token-only line: no cost logged, so the spend is its estimate from the price table
    // (gpt-4o-mini: $0.15 per million input tokens, $0.60 per million output). The starter config's
    // rate for unpriced models would make it $150.
    const t = Number((Date.now() / 1000 - 30).toFixed(3));
    const line = { t, request_id: 'pkg-1', model: 'gpt-4o-mini', in: 1_000_000, out: 1_000_000 };
    writeFileSync(path.join(app, 'state', 'cost_log.jsonl'), `${JSON.stringify(line)}\n`);
    const checked = run('run', '--json');
    expect(checked.status, checked.stderr).toBe(0);
    const status = run('status', '--json');
    const json = JSON.parse(status.stdout) as { windows: Record<string, { spend_usd: number }> };
    expect(json.windows['15m']?.spend_usd).toBeCloseTo(0.75, 9);
    expect(json.windows.daily?.spend_usd).toBeCloseTo(0.75, 9);
  });
});
