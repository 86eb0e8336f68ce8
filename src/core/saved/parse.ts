// Saved state (the files of the state folder) is validated one way: a zod schema per file, and
// one reading of a failure, the field that is bad and why, for a note that names the file.
// What a bad file becomes (started afresh, rebuilt, a part dropped) is each schema's to say:
// a part that may be lost without harm is kept leniently (`keepItems`, `keepEntries`, `.catch`),
// a part that cannot be is required, and its failure rejects the file.
import * as z from 'zod';

// Each file is read once per check: zod's compiled fast path (new Function) would cost more to
// build than it saves (measured: ~4 ms of a 140 ms `run`).
const JITLESS = { jitless: true } as const;

export type Parsed<T> = { ok: true; value: T } | { ok: false; field: string; problem: string };

export function parseSaved<T>(schema: z.ZodType<T>, value: unknown): Parsed<T> {
  const result = schema.safeParse(value, JITLESS);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  return {
    ok: false,
    field: fieldName(issue?.path ?? []),
    problem: (issue?.message ?? 'invalid').replace(/^Invalid (input|option): /, ''),
  };
}

/** `totals.malformed_samples[3].line`; the whole file when the path is empty. */
export function fieldName(path: readonly PropertyKey[]): string {
  let name = '';
  for (const key of path)
    name += typeof key === 'number' ? `[${key}]` : `${name === '' ? '' : '.'}${String(key)}`;
  return name === '' ? '(the whole file)' : name;
}

/** A failure in words, for the note that names the file: `bad field "totals.records": expected number`. */
export function badField(failure: { field: string; problem: string }): string {
  return `bad field "${failure.field}": ${failure.problem}`;
}

/** Any JSON number (JSON.parse gives Infinity for 1e999: it is a number, as typeof says). */
export const jsonNumber = z.custom<number>((v) => typeof v === 'number', 'expected number');

/** A count: a number not below zero. */
export const count = z.custom<number>((v) => typeof v === 'number' && v >= 0, 'expected number >= 0');

/** Anything `typeof` calls an object (an array too), as the hand-written checks accepted. */
const objectLike = z.custom<Record<string, unknown>>(
  (v) => v !== null && typeof v === 'object',
  'expected object',
);

/** Every entry must pass `item`; the first that does not rejects the whole, at its key. */
export function entriesOf<T>(item: z.ZodType<T>) {
  return objectLike.transform((o, ctx) => {
    const out: Record<string, T> = {};
    for (const [key, value] of Object.entries(o)) {
      const r = item.safeParse(value, JITLESS);
      if (!r.success) {
        for (const issue of r.error.issues)
          ctx.issues.push({
            code: 'custom',
            message: issue.message,
            input: value,
            path: [key, ...issue.path],
          });
        return z.NEVER;
      }
      out[key] = r.data;
    }
    return out;
  });
}

/** The entries that pass `item`; the rest are dropped. Not an object at all: none. */
export function keepEntries<T>(item: z.ZodType<T>) {
  return z
    .unknown()
    .optional()
    .transform((o) => {
      const out: Record<string, T> = {};
      if (o === null || typeof o !== 'object') return out;
      for (const [key, value] of Object.entries(o)) {
        const r = item.safeParse(value, JITLESS);
        if (r.success) out[key] = r.data;
      }
      return out;
    });
}

/** The items that pass `item`; the rest are dropped. Not an array: none. */
export function keepItems<T>(item: z.ZodType<T>) {
  return z
    .unknown()
    .optional()
    .transform((list) => {
      const out: T[] = [];
      if (!Array.isArray(list)) return out;
      for (const value of list) {
        const r = item.safeParse(value, JITLESS);
        if (r.success) out.push(r.data);
      }
      return out;
    });
}
