// docs/configuration.md documents every key of the config schema, and nothing else: the key list
// is found by walking the zod schema itself, so a key added to src/config/ without its row (or
// a row left behind by a key removed) fails here, naming the keys.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/index.js';
import { schemaKeys } from '../../src/config/schema-walk.js';

const REFERENCE = new URL('../../docs/configuration.md', import.meta.url);

/** `limits.<window>.warn` and `limits.<name>.warn` are the same key. */
const normal = (key: string): string => key.replace(/<[^>]*>/g, '<>');

/**
 * The keys the reference documents: the first backticked key of a heading, and every backticked
 * key in the first cell of a table whose first column is headed `key`. Code blocks are skipped.
 */
function documentedKeys(markdown: string): string[] {
  const keys: string[] = [];
  let fenced = false;
  let keyTable = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (fenced) continue;
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) {
      const key = /`([^`]+)`/.exec(heading[1] as string);
      if (key) keys.push(key[1] as string);
      keyTable = false;
      continue;
    }
    if (!line.startsWith('|')) {
      keyTable = false;
      continue;
    }
    const first = (line.split('|')[1] ?? '').trim();
    if (/^-+$/.test(first.replace(/:/g, ''))) continue;
    if (first.toLowerCase() === 'key') {
      keyTable = true;
      continue;
    }
    if (keyTable) for (const match of first.matchAll(/`([^`]+)`/g)) keys.push(match[1] as string);
  }
  return keys;
}

function difference(from: string[], minus: string[]): string[] {
  const have = new Set(minus.map(normal));
  return from.filter((key) => !have.has(normal(key))).sort();
}

describe('the walkers themselves', () => {
  it('finds nested keys, user-named mappings and fixed names in the schema', () => {
    const keys = schemaKeys(configSchema);
    for (const key of [
      'log',
      'target',
      'target.grace_spend',
      'alerts.reminder',
      'limits.<name>.kill',
      'cost.prices.<name>.cached',
      'retry_storm.level',
      'burn_rate.factor',
      'silence.after',
      'fields.request_id',
    ])
      expect(keys).toContain(key);
    expect(keys).not.toContain('slack.webhook_url');
  });

  it('reads headings and key tables, not other tables or code', () => {
    const md = [
      '## `target`: what to kill',
      '| key | type |',
      '| --- | --- |',
      '| `target.grace` | duration |',
      '',
      '| field | names |',
      '| --- | --- |',
      '| `not.a.key` | x |',
      '```yaml',
      '## `in.code`',
      '```',
    ].join('\n');
    expect(documentedKeys(md)).toEqual(['target', 'target.grace']);
  });
});

describe('docs/configuration.md: the configuration reference', () => {
  const schema = schemaKeys(configSchema);
  const documented = (): string[] => documentedKeys(readFileSync(REFERENCE, 'utf8'));

  it('documents every key of the schema', () => {
    const missing = difference(schema, documented());
    expect(missing, `keys of src/config/ missing from docs/configuration.md: ${missing.join(', ')}`).toEqual(
      [],
    );
  });

  it('documents no key the schema does not have', () => {
    const extra = difference(documented(), schema);
    expect(
      extra,
      `keys in docs/configuration.md that src/config/ does not have: ${extra.join(', ')}`,
    ).toEqual([]);
  });
});
