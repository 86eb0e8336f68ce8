// Every relative link in README.md and docs/*.md points at a file that exists, and at a heading
// of it when it names an anchor: the README was split into docs/, and links rot first.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen. */
function slug(heading: string): string {
  return heading
    .replace(/`/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Outside code blocks: the lines, with inline code spans blanked. */
function prose(markdown: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (!fenced) out.push(line);
  }
  return out;
}

/** The anchors of a Markdown file's headings, with GitHub's -1, -2 for repeated ones. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of prose(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1] as string);
    const n = seen.get(base) ?? 0;
    out.add(n === 0 ? base : `${base}-${n}`);
    seen.set(base, n + 1);
  }
  return out;
}

/** The relative link targets of a Markdown file (not http(s), mailto, or inside code). */
function relativeLinks(markdown: string): string[] {
  const links: string[] = [];
  for (const line of prose(markdown)) {
    const text = line.replace(/`[^`]*`/g, '');
    for (const match of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = match[1] as string;
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push(target);
    }
  }
  return links;
}

/** What is wrong with each link of `file` (relative to the repository): [] when all resolve. */
function brokenLinks(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const problems: string[] = [];
  for (const link of relativeLinks(text)) {
    const [target = '', anchor] = link.split('#', 2);
    const resolved =
      target === '' ? path.join(ROOT, file) : path.resolve(path.dirname(path.join(ROOT, file)), target);
    if (!existsSync(resolved)) {
      problems.push(`${file}: ${link}: no such file`);
      continue;
    }
    if (anchor === undefined || anchor === '') continue;
    if (statSync(resolved).isDirectory() || !resolved.endsWith('.md')) {
      problems.push(`${file}: ${link}: an anchor into something that is not a Markdown file`);
      continue;
    }
    if (!anchors(readFileSync(resolved, 'utf8')).has(anchor))
      problems.push(`${file}: ${link}: no heading with the anchor #${anchor}`);
  }
  return problems;
}

const DOCS = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

describe('the link checker itself', () => {
  it('makes the anchors GitHub makes', () => {
    expect(slug('`status --json`')).toBe('status---json');
    expect(slug('Cost truth: the app cannot hide its spend')).toBe(
      'cost-truth-the-app-cannot-hide-its-spend',
    );
    expect(slug("The dead-man's-switch ping")).toBe('the-dead-mans-switch-ping');
    expect([...anchors('# A\n## A\n```\n# B\n```\n')]).toEqual(['a', 'a-1']);
  });

  it('finds relative links outside code only', () => {
    const md = 'see [x](docs/a.md#b), [y](https://example.com), `[z](nope.md)`\n```\n[w](no.md)\n```\n';
    expect(relativeLinks(md)).toEqual(['docs/a.md#b']);
  });
});

describe('README.md and docs/*.md: relative links resolve', () => {
  it.each(DOCS)('%s', (file) => {
    const problems = brokenLinks(file);
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('the README links into docs/', () => {
    expect(
      relativeLinks(readFileSync(path.join(ROOT, 'README.md'), 'utf8')).some((l) => l.startsWith('docs/')),
    ).toBe(true);
  });
});
