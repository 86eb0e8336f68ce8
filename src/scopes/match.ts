// Scoped budgets, the pure parts of matching: which fields a scope may name, a `match` value as
// an exact string or a glob with `*`, the `{field}` placeholders of a flag file or a target, and a
// value made safe to be part of a file name or of a pattern. No node:* imports.

/** The attribution fields a scope may match on or split by (`source`: the file a line came from). */
export const SCOPE_FIELDS = ['agent', 'model', 'provider', 'task', 'source'] as const;
export type ScopeField = (typeof SCOPE_FIELDS)[number];

export function isScopeField(name: string): name is ScopeField {
  return (SCOPE_FIELDS as readonly string[]).includes(name);
}

/** A line's values of the scope fields (null: the line does not name it). */
export type ScopeValues = Record<ScopeField, string | null>;

/** One `match` condition: the field's value equals `value`, or matches it as a glob (`*`: any text). */
export interface MatchRule {
  field: ScopeField;
  value: string;
  /** Null for an exact value (no `*`). */
  glob: RegExp | null;
}

/** Regular-expression special characters escaped: the text matches only itself. */
export function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/** A glob with `*` (any text, also empty, also across `/`) as an anchored expression; null when exact. */
export function globOf(value: string): RegExp | null {
  if (!value.includes('*')) return null;
  return new RegExp(`^${value.split('*').map(escapeRegExp).join('.*')}$`, 's');
}

export function matchRule(field: ScopeField, value: string): MatchRule {
  return { field, value, glob: globOf(value) };
}

/** Every rule holds: the field is there and equal to (or matched by) the value. */
export function matchesAll(rules: readonly MatchRule[], values: ScopeValues): boolean {
  for (const rule of rules) {
    const v = values[rule.field];
    if (v === null) return false;
    if (rule.glob === null ? v !== rule.value : !rule.glob.test(v)) return false;
  }
  return true;
}

/** `{name}` placeholders: a name of lower-case letters and `_` in braces (a regex's `{2,3}` is not one). */
const PLACEHOLDER = /\{([a-z_]+)\}/g;

export function placeholdersIn(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
}

/** 64 bits of FNV-1a over the UTF-16 units, as 16 hex digits: tells apart values made alike. */
export function shortHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ (a & 0xff), 0x01000193) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

/** A value kept whole in a file name is at most this long; a longer one is cut and hashed. */
export const SAFE_NAME_MAX = 64;

/**
 * A value as one file-name part: only `A-Z a-z 0-9 . _ -`, not starting with a dot, at most
 * SAFE_NAME_MAX + 17 characters. A value that had to change (a `/`, `..`, a control character,
 * NUL, a leading dot, anything else, empty or too long) gets `-` and a hash of the original, so
 * that two values never share a name. It never holds a `/`, and is never `.` or `..`.
 */
export function safeFileName(value: string): string {
  let safe = value.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\./, '_');
  // A value kept as it is must not look like one changed (name-<16 hex>): it could be another's.
  if (safe === value && safe.length > 0 && safe.length <= SAFE_NAME_MAX && !/-[0-9a-f]{16}$/.test(value))
    return safe;
  if (safe.length > SAFE_NAME_MAX) safe = safe.slice(0, SAFE_NAME_MAX);
  if (safe === '') safe = '_';
  return `${safe}-${shortHash(value)}`;
}

/** A path template with `{field}` replaced by the value, made safe (safeFileName). */
export function fillPath(template: string, field: ScopeField, value: string): string {
  return template.replaceAll(`{${field}}`, safeFileName(value));
}

/** A command-line pattern with `{field}` replaced by the value, escaped: it matches only itself. */
export function fillPattern(template: string, field: ScopeField, value: string): string {
  return template.replaceAll(`{${field}}`, escapeRegExp(value));
}

/** `agent=research` (the key as people read it); `''` for a scope without `each`. */
export function keyText(key: Readonly<Record<string, string>>): string {
  return Object.entries(key)
    .map(([field, value]) => `${field}=${value}`)
    .join(',');
}

/**
 * The interned label id of `each` on a record (agent, model, provider: the fields the parser interns),
 * or -1 for the others (task, source), which are looked up by value.
 */
export function eachLabelId(
  record: { agentId: number; modelId: number; providerId: number },
  each: ScopeField,
): number {
  return each === 'agent'
    ? record.agentId
    : each === 'model'
      ? record.modelId
      : each === 'provider'
        ? record.providerId
        : -1;
}
