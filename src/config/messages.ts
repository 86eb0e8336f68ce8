// A zod issue -> one line that names the key path and what was expected:
// `limits.15m.warn: expected a number, got "lots"`. Pure: the schema is passed in, so this module
// imports none of the sections (they import `describe` from here).
import type * as z from 'zod';
import { defOf, unwrap } from './schema-walk.js';

/** A value as a message shows it: strings quoted (and cut at 60), containers by their kind. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/** `['limits', '15m', 'warn']` -> `limits.15m.warn`; list positions as `[2]`. */
export function keyPath(parts: readonly PropertyKey[]): string {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

/** The keys a strict object at `parts` of `root` allows, found by walking the schema itself. */
export function allowedKeys(root: z.core.$ZodType, parts: readonly PropertyKey[]): string[] {
  let node: z.core.$ZodType | undefined = root;
  for (const part of parts) {
    node = unwrap(node);
    if (node === undefined) return [];
    const def = defOf(node);
    if (def.type === 'object' && def.shape) node = def.shape[String(part)] ?? def.catchall;
    else if (def.type === 'record') node = def.valueType;
    else if (def.type === 'array' && typeof part === 'number') node = def.element;
    else return [];
  }
  node = unwrap(node);
  const def = node === undefined ? undefined : defOf(node);
  if (def?.type === 'object' && def.shape) return Object.keys(def.shape);
  const keyDef = def?.type === 'record' && def.keyType ? defOf(def.keyType) : undefined;
  return keyDef?.type === 'enum' && keyDef.entries ? Object.values(keyDef.entries) : [];
}

/** One line per problem of a failed parse of `root`. */
export function problemsOf(error: z.ZodError, root: z.core.$ZodType): string[] {
  const problems: string[] = [];
  for (const issue of error.issues) {
    const where = keyPath(issue.path);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const allowed = allowedKeys(root, issue.path);
        for (const key of issue.keys) {
          const at = keyPath([...issue.path, key]);
          if (at === 'slack.webhook_url') {
            problems.push(
              `${at}: not allowed in the config file; put the URL in an environment variable ` +
                `(slack.webhook_url_env, default SLACK_WEBHOOK_URL) or a file only the watchdog can ` +
                `read (slack.webhook_url_file)`,
            );
          } else {
            problems.push(
              `${at}: unknown key${allowed.length > 0 ? ` (expected one of: ${allowed.join(', ')})` : ''}`,
            );
          }
        }
        break;
      }
      case 'invalid_key':
        // A record key that failed its own check: the inner messages say why.
        for (const inner of issue.issues) problems.push(`${where}: ${inner.message}`);
        break;
      case 'invalid_type': {
        const expected = issue.message.startsWith('Invalid input')
          ? `expected ${article(String(issue.expected))}`
          : issue.message;
        problems.push(
          issue.input === undefined
            ? `${where}: required (${expected})`
            : `${where}: ${expected}, got ${describe(issue.input)}`,
        );
        break;
      }
      default:
        problems.push(
          `${where}: ` +
            (issue.message.startsWith('Invalid') || issue.message.startsWith('Too')
              ? `${issue.message.toLowerCase()}, got ${describe(issue.input)}`
              : issue.message),
        );
    }
  }
  return problems;
}

function article(type: string): string {
  if (type === 'object') return 'a mapping';
  if (type === 'array') return 'a list';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
