// Reading a secret (the Slack webhook URL) from a file, held like a private key: the file is
// opened once (following a symlink: the target is what is checked), its kind, owner and mode come
// from that open file (so a swap between check and read changes nothing), and core/strict.ts
// decides. Nothing here ever quotes the content.
import { closeSync, constants, fstatSync, openSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { errnoWords } from '../core/flag.js';
import { type FileKind, secretFileProblem, unsafeFolder } from '../core/strict.js';

export type SecretRead = { ok: true; text: string } | { ok: false; problem: string };

/** `about`: what the file should hold and the config key that names it, for the fix of a missing file. */
export function readSecretFile(
  file: string,
  euid: number | undefined = process.geteuid?.(),
  about: { holds: string; key: string; risk?: string } = {
    holds: "the incoming webhook's URL",
    key: 'slack.webhook_url_file',
  },
): SecretRead {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO put there must not hang the watchdog (it is refused below).
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT')
      return {
        ok: false,
        problem:
          `does not exist (fix: create it with ${about.holds}, chmod 600, or change ` + `${about.key})`,
      };
    if (e.code === 'EACCES' || e.code === 'EPERM') {
      const who = euid === undefined ? "the watchdog's user" : euid === 0 ? 'root' : `uid ${euid}`;
      return {
        ok: false,
        problem:
          `cannot be read by the user the watchdog runs as (${who}): ${errnoWords(e.code, e.message)} ` +
          `(fix: chown ${euid ?? '<that user>'} ${file} && chmod 600 ${file})`,
      };
    }
    return { ok: false, problem: `cannot be read: ${errnoWords(e.code, e.message)}` };
  }
  try {
    const st = fstatSync(fd);
    const kind: FileKind = st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other';
    if (kind !== 'file' || euid !== undefined) {
      const problem = secretFileProblem(
        { kind, mode: st.mode, uid: st.uid },
        euid ?? st.uid,
        file,
        about.risk,
        about.key === 'slack.webhook_url_file' ? null : about.holds,
      );
      if (problem !== null) return { ok: false, problem };
    }
    for (const folder of foldersOf(file)) {
      try {
        const problem = unsafeFolder({ mode: statSync(folder).mode, uid: 0, isDirectory: true }, folder);
        if (problem !== null) return { ok: false, problem };
      } catch {
        // gone since the open: the content read below is what counts
      }
    }
    return { ok: true, text: readFileSync(fd, 'utf8') };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return { ok: false, problem: `cannot be read: ${errnoWords(e.code, e.message)}` };
  } finally {
    closeSync(fd);
  }
}

/** The folder of the name as given, and of the file it resolves to (a symlink's target). */
function foldersOf(file: string): string[] {
  const named = path.dirname(path.resolve(file));
  let real = named;
  try {
    real = path.dirname(realpathSync(file));
  } catch {
    // cannot resolve: the named folder is checked
  }
  return real === named ? [named] : [named, real];
}
