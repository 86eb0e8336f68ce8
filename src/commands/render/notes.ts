// What a command that reads the logs says on stderr of what became of them: a rebuild from the
// log (but the first run's), a rotation, a since before the log's first line. Said once, by
// whichever command reads them first (run, balance, kill, clear-emergency): the checkpoint it saves
// holds what was read, so the next one has nothing to say.
import type { CheckResult } from '../../check/types.js';
import { printable } from '../../format.js';

export function sayNotes(result: Pick<CheckResult, 'rebuilt' | 'notes'>): void {
  if (result.rebuilt !== null && !result.rebuilt.startsWith('no checkpoint yet'))
    process.stderr.write(`cost-watchdog: note: ${printable(result.rebuilt)}\n`);
  for (const note of result.notes) process.stderr.write(`cost-watchdog: note: ${printable(note)}\n`);
}
