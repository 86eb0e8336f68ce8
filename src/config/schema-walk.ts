// Walking the config schema itself: the keys an object allows (for messages) and every key as
// written in YAML (for docs/configuration.md, checked by test/unit/config-reference.test.ts).
import type * as z from 'zod';

export interface Def {
  type: string;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
  out?: z.core.$ZodType;
  shape?: Record<string, z.core.$ZodType>;
  keyType?: z.core.$ZodType;
  valueType?: z.core.$ZodType;
  element?: z.core.$ZodType;
  options?: z.core.$ZodType[];
  entries?: Record<string, string>;
  /** An object's schema for keys its shape does not name (the top-level `limits`' windows). */
  catchall?: z.core.$ZodType;
}

export const defOf = (node: z.core.$ZodType): Def => node._zod.def as unknown as Def;

/**
 * Past optional / default / nullable wrappers and pipes. A `z.preprocess` (retry_storm's `off`)
 * is a pipe from a transform: the section's own schema is its output side.
 */
export function unwrap(node: z.core.$ZodType | undefined): z.core.$ZodType | undefined {
  let current = node;
  for (let guard = 0; current !== undefined && guard < 10; guard++) {
    const def = defOf(current);
    if (
      (def.type === 'optional' ||
        def.type === 'default' ||
        def.type === 'prefault' ||
        def.type === 'nullable' ||
        def.type === 'readonly') &&
      def.innerType
    )
      current = def.innerType;
    else if (def.type === 'pipe' && def.in)
      current = defOf(def.in).type === 'transform' && def.out ? def.out : def.in;
    else break;
  }
  return current;
}

/**
 * Every key as written in YAML, nested with dots: `target.grace_spend`. A mapping with names of
 * the user's choosing is `<name>` (`limits.<window>.warn`); one with a fixed set of names (fields)
 * lists each name.
 */
export function schemaKeys(node: z.core.$ZodType, prefix = ''): string[] {
  const keys: string[] = [];
  const inner = unwrap(node);
  if (inner === undefined) return keys;
  const def = defOf(inner);
  const at = (key: string): string => (prefix === '' ? key : `${prefix}.${key}`);
  if (def.type === 'object' && def.shape) {
    for (const [key, child] of Object.entries(def.shape)) {
      keys.push(at(key), ...schemaKeys(child, at(key)));
    }
    const rest = def.catchall === undefined ? undefined : unwrap(def.catchall);
    if (rest !== undefined && !['never', 'unknown', 'any'].includes(defOf(rest).type))
      keys.push(at('<name>'), ...schemaKeys(rest, at('<name>')));
  } else if (def.type === 'record' && def.keyType && def.valueType) {
    const keyDef = defOf(unwrap(def.keyType) ?? def.keyType);
    const names = keyDef.type === 'enum' && keyDef.entries ? Object.values(keyDef.entries) : ['<name>'];
    for (const name of names) keys.push(at(name), ...schemaKeys(def.valueType, at(name)));
  } else if (def.type === 'union' && def.options) {
    for (const option of def.options) keys.push(...schemaKeys(option, prefix));
  }
  return [...new Set(keys)];
}
