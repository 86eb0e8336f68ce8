// `scopes`: budgets of their own for the lines of one agent, model, provider, task or source
// (`match`), or for every distinct value of one of those fields (`each`), with limits shaped as the
// top-level ones, and optionally their own flag file and target (`{field}` placeholders).
import path from 'node:path';
import * as z from 'zod';
import type { WindowSpec } from '../../core/levels.js';
import {
  isScopeField,
  type MatchRule,
  matchRule,
  placeholdersIn,
  SCOPE_FIELDS,
  type ScopeField,
} from '../../scopes/match.js';
import { describe } from '../messages.js';
import { relativePath } from '../primitives.js';
import { limitsSchema, resolveWindows } from './limits.js';
import { expandHome } from './sources.js';
import { resolveTarget, type TargetConfig, targetSchema } from './target.js';

const FIELD_LIST = SCOPE_FIELDS.join(', ');

const scopeField = z.string({ error: `expected one of: ${FIELD_LIST}` }).refine(isScopeField, {
  error: (issue) => `unknown field ${describe(issue.input)}: expected one of: ${FIELD_LIST}`,
});

const matchSchema = z
  .record(
    z.string().refine(isScopeField, {
      error: (issue) => `unknown field ${describe(issue.input)} in match: expected one of: ${FIELD_LIST}`,
    }),
    z
      .string({ error: 'expected the exact value, or a glob with * (like "gpt-*")' })
      .min(1, { error: 'expected a value, got ""' }),
    {
      error: (issue) =>
        issue.code === 'invalid_type'
          ? 'expected a mapping of fields to values, like `{ agent: research }`'
          : undefined,
    },
  )
  .refine((m) => Object.keys(m).length > 0, {
    error: 'expected at least one field, like `{ agent: research }`',
  });

const scopeSchema = z.strictObject({
  name: z
    .string({ error: 'expected a name like "research" or "every-agent"' })
    .regex(/^[A-Za-z][A-Za-z0-9_-]{0,62}$/, {
      error: (issue) =>
        'expected a simple name (a letter, then letters, digits, - or _; at most 63), got ' +
        describe(issue.input),
    }),
  match: matchSchema.optional(),
  each: scopeField.optional(),
  limits: limitsSchema,
  flag_file: relativePath.optional(),
  target: targetSchema,
});

export const scopesSchema = z
  .array(scopeSchema, {
    error: (issue) =>
      issue.code === 'invalid_type'
        ? 'expected a list of scopes, like `- { name: research, ... }`'
        : undefined,
  })
  .optional();

export type RawScopes = z.output<typeof scopesSchema>;

export interface ScopeConfig {
  name: string;
  /** Every rule must hold for a line to count (empty: every line). */
  match: MatchRule[];
  /** The field whose every distinct value has these limits of its own; null: one budget. */
  each: ScopeField | null;
  /** Rolling windows shortest first, then `daily` (15m and daily always among them). */
  windows: WindowSpec[];
  /** Absolute; may hold `{each}`. Null: the main flag. */
  flagFile: string | null;
  /** pid_file and cmdline may hold `{each}`. Null: the main target. */
  target: TargetConfig | null;
}

/** The scopes, or the problems (key paths) of the rules the schema alone cannot say. */
/**
 * A `source` is the file relative to the config's folder: a pattern written from the home folder
 * (`~/`) or as an absolute path is made relative the same way, so that it can match.
 */
function sourcePattern(value: string, configDir: string, env: NodeJS.ProcessEnv): string {
  if (!(value.startsWith('/') || value === '~' || value.startsWith('~/'))) return value;
  return path.relative(configDir, path.resolve(configDir, expandHome(value, env)));
}

export function resolveScopes(
  raw: RawScopes,
  abs: (p: string) => string,
  configDir: string,
  env: NodeJS.ProcessEnv,
): { scopes: ScopeConfig[]; problems: string[] } {
  const scopes: ScopeConfig[] = [];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  (raw ?? []).forEach((scope, index) => {
    const at = `scopes[${index}]`;
    const other = seen.get(scope.name);
    if (other !== undefined)
      problems.push(`${at}.name: "${scope.name}" is already the name of scopes[${other}]: names must differ`);
    seen.set(scope.name, index);
    if (scope.match === undefined && scope.each === undefined)
      problems.push(
        `${at}: set match (the lines it counts) or each (a budget per value of a field), or both`,
      );
    const each = (scope.each ?? null) as ScopeField | null;
    const placed: [string, string | undefined][] = [
      ['flag_file', scope.flag_file],
      ['target.pid_file', scope.target?.pid_file],
      ['target.cmdline', scope.target?.cmdline],
    ];
    // Keys that are never filled in: a placeholder there would be taken as it is, in silence.
    const unfilled: [string, string | undefined][] = [
      ['target.process_name', scope.target?.process_name],
      ['target.stop_command', scope.target?.stop_command],
    ];
    for (const [key, text] of unfilled)
      if (text !== undefined && placeholdersIn(text).some(isScopeField))
        problems.push(
          `${at}.${key}: placeholders are not filled in here (only in flag_file, target.pid_file and ` +
            'target.cmdline): use target.cmdline with {field} to find a process by its value',
        );
    for (const [key, text] of placed) {
      if (text === undefined) continue;
      for (const name of placeholdersIn(text)) {
        if (!isScopeField(name))
          problems.push(
            `${at}.${key}: unknown placeholder {${name}}: expected one of the fields (${FIELD_LIST})`,
          );
        else if (each === null)
          problems.push(
            `${at}.${key}: placeholder {${name}} needs \`each: ${name}\` ` +
              '(a scope without each has one value)',
          );
        else if (name !== each)
          problems.push(`${at}.${key}: placeholder {${name}} is not this scope's each field {${each}}`);
      }
      // The value fills one file-name part: a placeholder in a folder would let it choose the folder.
      if (key !== 'target.cmdline' && /\{[a-z_]+\}.*\//.test(text))
        problems.push(
          `${at}.${key}: a placeholder may only be in the file name, not in a folder of the path`,
        );
    }
    const { windows, problems: windowProblems } = resolveWindows(scope.limits);
    for (const p of windowProblems) problems.push(p.replace(/limits\./g, `${at}.limits.`));
    scopes.push({
      name: scope.name,
      match: Object.entries(scope.match ?? {}).map(([field, value]) =>
        matchRule(field as ScopeField, field === 'source' ? sourcePattern(value, configDir, env) : value),
      ),
      each,
      windows,
      flagFile: scope.flag_file === undefined ? null : abs(scope.flag_file),
      target: resolveTarget(scope.target, abs),
    });
  });
  return { scopes, problems };
}
