// `fields`: the log's own key names for a field (one name, or a list tried in order).
import * as z from 'zod';
import { FIELDS, type FieldName } from '../../core/fields.js';
import { describe } from '../messages.js';

const fieldNames = z.union(
  [
    z.string().min(1),
    z.array(z.string().min(1)).min(1, { error: 'expected a key name or a list of key names, got []' }),
  ],
  {
    error: (issue) => `expected a key name or a list of key names, got ${describe(issue.input)}`,
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
