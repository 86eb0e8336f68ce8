// docs/configuration.md documents every key of the config schema, and nothing else: the key list
// is found by walking the zod schema itself, so a key added to src/config/ without its row (or
// a row left behind by a key removed) fails here, naming the keys.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type * as z from 'zod';
import { configSchema } from '../../src/config/index.js';

const REFERENCE = new URL('../../docs/configuration.md', import.meta.url);

interface Def {
  type: string;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
  out?: z.core.$ZodType;
  shape?: Record<string, z.core.$ZodType>;
  keyType?: z.core.$ZodType;
  valueType?: z.core.$ZodType;
  options?: z.core.$ZodType[];
  entries?: Record<string, string>;
}

const defOf = (node: z.core.$ZodType): Def => node._zod.def as unknown as Def;

/** Past optional / default / nullable wrappers and `z.preprocess` (a pipe from a transform). */
function unwrap(node: z.core.$ZodType): z.core.$ZodType {
  let current = node;
  for (;;) {
    const def = defOf(current);
    if (['optional', 'default', 'prefault', 'nullable', 'readonly'].includes(def.type) && def.innerType)
      current = def.innerType;
    else if (def.type === 'pipe' && def.in && def.out)
      current = defOf(def.in).type === 'transform' ? def.out : def.in;
    else return current;
  }
}

/**
 * Every key as written in YAML, nested with dots: `target.grace_spend`. A mapping with names of
 * the user's choosing is `<name>` (`limits.<window>.warn`); one with a fixed set of names (fields)
 * lists each name.
 */
function schemaKeys(node: z.core.$ZodType, prefix = ''): string[] {
  const keys: string[] = [];
  const inner = unwrap(node);
  const def = defOf(inner);
  const at = (key: string): string => (prefix === '' ? key : `${prefix}.${key}`);
  if (def.type === 'object' && def.shape) {
    for (const [key, child] of Object.entries(def.shape)) {
      keys.push(at(key), ...schemaKeys(child, at(key)));
    }
  } else if (def.type === 'record' && def.keyType && def.valueType) {
    const keyDef = defOf(unwrap(def.keyType));
    const names = keyDef.type === 'enum' && keyDef.entries ? Object.values(keyDef.entries) : ['<name>'];
    for (const name of names) keys.push(at(name), ...schemaKeys(def.valueType, at(name)));
  } else if (def.type === 'union' && def.options) {
    for (const option of def.options) keys.push(...schemaKeys(option, prefix));
  }
  return [...new Set(keys)];
}

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
