// The app's own state file (state_file), read for comparison only: never trusted for a decision.
// A missing or unreadable file is an answer, not an error.
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';

export type AppStateRead =
  | { status: 'ok'; value: Record<string, unknown> }
  | { status: 'missing' }
  | { status: 'unreadable'; error: string };

/** Larger state files are not the small JSON view the contract describes. */
const MAX_BYTES = 4 * 1024 * 1024;

export function readAppState(file: string): AppStateRead {
  let text: string;
  let fd: number | undefined;
  try {
    // O_NONBLOCK: a named pipe in its place must not hang the check (it is refused below).
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (st.isDirectory()) return { status: 'unreadable', error: 'is a folder' };
    if (!st.isFile()) return { status: 'unreadable', error: 'not a regular file' };
    if (st.size > MAX_BYTES)
      return { status: 'unreadable', error: `larger than ${MAX_BYTES / 1024 / 1024} MB` };
    text = readFileSync(fd).toString('utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { status: 'missing' };
    return { status: 'unreadable', error: code === 'EISDIR' ? 'is a folder' : (error as Error).message };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // An app writing its state in place can be caught half-way: say so plainly.
    return {
      status: 'unreadable',
      error: text.trim() === '' ? 'empty' : `not JSON (${(error as Error).message.split('\n')[0]})`,
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { status: 'unreadable', error: 'not a JSON object' };
  return { status: 'ok', value: value as Record<string, unknown> };
}
