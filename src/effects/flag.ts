// The emergency flag as `status` sees it. (Writing it comes with enforcement.)
import { readJson } from './store.js';

export type FlagRead = { active: false } | { active: true; content: Record<string, unknown> | null; problem?: string };

export function readFlag(flagFile: string): FlagRead {
  const read = readJson(flagFile);
  if (read.kind === 'missing') return { active: false };
  // A flag that exists is in force, whatever it holds: the app only checks that it exists.
  if (read.kind === 'corrupt') return { active: true, content: null, problem: read.reason };
  const value = read.value;
  return { active: true, content: value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null };
}
