// Fails (exit 1) when a tracked .ts/.mjs/.js/.cjs file has a line longer than MAX columns:
// Biome formats at this width but does not break long strings, comments or test titles.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const MAX = 110;
const EXTENSIONS = ['.ts', '.mjs', '.js', '.cjs'];
const FOLDERS = ['src', 'test', 'bench', 'scripts', 'bin'];

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist' && !entry.name.startsWith('.'))
        walk(full, out);
    } else if (EXTENSIONS.some((ext) => entry.name.endsWith(ext))) out.push(full);
  }
  return out;
}

function trackedFiles() {
  try {
    const out = execFileSync('git', ['ls-files', '-z', ...EXTENSIONS.map((ext) => `*${ext}`)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.split('\0').filter((f) => f !== '');
  } catch {
    return FOLDERS.flatMap((dir) => walk(dir, []));
  }
}

const problems = [];
for (const file of trackedFiles()) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue; // listed by git but deleted in the work tree
  }
  text.split(/\r?\n/).forEach((line, i) => {
    const columns = [...line].length;
    if (columns > MAX) problems.push(`${file}:${i + 1}: ${columns} columns (max ${MAX})`);
  });
}
if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\n${problems.length} line(s) longer than ${MAX} columns\n`);
  process.exit(1);
}
