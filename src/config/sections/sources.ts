// Where the cost lines come from: `log:` (a path, a glob, or a list of them, in one `format:`), or
// `sources:`, a list of them each with its own format and field names. Exactly one of the two.
// Patterns resolve against the config's folder; a leading `~/` is the home folder.
import os from 'node:os';
import path from 'node:path';
import picomatch from 'picomatch';
import * as z from 'zod';
import { describe } from '../messages.js';
import { type FieldsConfig, fieldsSchema, resolveFields } from './fields.js';

export const FORMATS = ['jsonl', 'claude-code', 'otel-genai', 'litellm'] as const;
export type LogFormat = (typeof FORMATS)[number];

const pattern = z
  .string({ error: (issue) => `expected a file path or a glob, got ${describe(issue.input)}` })
  .min(1, { error: 'expected a file path or a glob, got ""' });

const patterns = z.union(
  [pattern, z.array(pattern).min(1, { error: 'expected a file path, a glob or a list of them, got []' })],
  {
    error: (issue) => {
      const input = issue.input;
      const bad = Array.isArray(input) ? input.findIndex((n) => typeof n !== 'string' || n === '') : -1;
      if (bad >= 0)
        return (
          `expected a list of file paths or globs, but item ${bad + 1} is ` +
          `${describe((input as unknown[])[bad])}`
        );
      return `expected a file path, a glob or a list of them, got ${describe(input)}`;
    },
  },
);

const format = z.enum(FORMATS, {
  error: (issue) => `expected one of ${FORMATS.join(', ')}, got ${describe(issue.input)}`,
});

const sourceSchema = z.strictObject({
  log: patterns,
  format: format.default('jsonl'),
  fields: fieldsSchema,
});

/** Composed into the top schema by its shape (these keys sit at the top level). */
export const sourcesShape = {
  log: patterns.optional(),
  format: format.optional(),
  sources: z
    .array(sourceSchema, { error: 'expected a list of sources, each with `log:`' })
    .min(1, { error: 'expected at least one source' })
    .optional(),
};

export interface SourceSpec {
  /** The pattern as the config writes it, for messages. */
  written: string;
  /** Absolute: a file, or a glob. */
  pattern: string;
  glob: boolean;
  /** A glob's fixed folder (the part before its first wildcard); a plain path's own folder. */
  base: string;
  /** Whether the glob reaches into sub-folders (`**`, or a wildcard in a folder's name). */
  deep: boolean;
  format: LogFormat;
  /** Field names of this source: its own `fields:` over the top-level ones (jsonl), or its own. */
  fields: FieldsConfig;
}

export interface SourcesRaw {
  log?: string | string[];
  format?: LogFormat;
  sources?: { log: string | string[]; format: LogFormat; fields?: z.output<typeof fieldsSchema> }[];
}

/** A leading `~/` is the home folder ($HOME, else the user's). */
export function expandHome(p: string, env: NodeJS.ProcessEnv): string {
  if (p === '~' || p.startsWith('~/')) return path.join(env.HOME || os.homedir(), p.slice(1));
  return p;
}

function specOf(
  written: string,
  fmt: LogFormat,
  fields: FieldsConfig,
  dir: string,
  env: NodeJS.ProcessEnv,
): SourceSpec {
  const absolute = path.resolve(dir, expandHome(written, env));
  const scanned = picomatch.scan(absolute);
  if (!scanned.isGlob)
    return {
      written,
      pattern: absolute,
      glob: false,
      base: path.dirname(absolute),
      deep: false,
      format: fmt,
      fields,
    };
  const base = scanned.base === '' ? '/' : scanned.base;
  // A wildcard before the last separator: the match may be in a sub-folder.
  const deep = scanned.glob.includes('/');
  return { written, pattern: absolute, glob: true, base, deep, format: fmt, fields };
}

/** The sources of a config; a problem (with the key path) when neither or both ways are used. */
export function resolveSources(
  raw: SourcesRaw,
  topFields: FieldsConfig,
  dir: string,
  env: NodeJS.ProcessEnv,
): { sources: SourceSpec[]; problems: string[] } {
  const list = (v: string | string[]): string[] => (typeof v === 'string' ? [v] : v);
  if (raw.sources !== undefined && (raw.log !== undefined || raw.format !== undefined))
    return {
      sources: [],
      problems: [
        `${raw.log !== undefined ? 'log' : 'format'}: not allowed beside \`sources:\` ` +
          '(give every log in `sources:`, each with its format)',
      ],
    };
  if (raw.sources === undefined && raw.log === undefined)
    return {
      sources: [],
      problems: ['log: required (the cost log: a path, a glob, or a list of them; or `sources:`)'],
    };
  const sources: SourceSpec[] = [];
  if (raw.log !== undefined) {
    const fmt = raw.format ?? 'jsonl';
    for (const written of list(raw.log)) sources.push(specOf(written, fmt, topFields, dir, env));
  } else {
    for (const source of raw.sources ?? []) {
      const own = resolveFields(source.fields);
      const fields = source.format === 'jsonl' ? { ...topFields, ...own } : own;
      for (const written of list(source.log)) sources.push(specOf(written, source.format, fields, dir, env));
    }
  }
  return { sources, problems: [] };
}

/** One line naming what the sources are, for a checkpoint: another value means another set of logs. */
export function sourcesKey(sources: readonly SourceSpec[]): string {
  return JSON.stringify(sources.map((s) => [s.pattern, s.format, s.fields]));
}
