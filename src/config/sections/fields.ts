// `fields`: the log's own key names for a field (one name, or a list tried in order).
import * as z from 'zod';
import { FIELDS, type FieldName } from '../../core/fields.js';
import { describe } from '../messages.js';

const fieldNames = z.union(
  [
    z.string().min(1, { error: 'expected a key name, got ""' }),
    z
      .array(
        z.string({ error: (issue) => `expected a key name, got ${describe(issue.input)}` }).min(1, {
          error: 'expected a key name, got ""',
        }),
      )
      .min(1, { error: 'expected a key name or a list of key names, got []' }),
  ],
  {
    error: (issue) => {
      const input = issue.input;
      const bad = Array.isArray(input) ? input.findIndex((n) => typeof n !== 'string' || n === '') : -1;
      if (bad >= 0) {
        return `expected a list of key names, but item ${bad + 1} is ${describe((input as unknown[])[bad])}`;
      }
      return `expected a key name or a list of key names, got ${describe(input)}`;
    },
  },
);

export const fieldsSchema = z
  .partialRecord(z.enum(FIELDS), fieldNames, {
    error: (issue) => (issue.code === 'invalid_type' ? 'expected a mapping of field names' : undefined),
  })
  .optional();

/** Field -> the key names tried, in order. */
export type FieldsConfig = Partial<Record<FieldName, string[]>>;

export function resolveFields(raw: z.output<typeof fieldsSchema>): FieldsConfig {
  const fields: FieldsConfig = {};
  for (const [field, names] of Object.entries(raw ?? {})) {
    if (names !== undefined) fields[field as FieldName] = typeof names === 'string' ? [names] : [...names];
  }
  return fields;
}
