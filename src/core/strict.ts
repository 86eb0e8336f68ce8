// StrictModes, as sshd does it: the watchdog may run as root, kills by name and runs
// `stop_command`, so a config (or webhook file) that someone else can change would let them kill
// any process or run any command as root. Pure: the file's mode and owner come in.

export interface Ownership {
  mode: number;
  uid: number;
  isDirectory: boolean;
}

const S_ISVTX = 0o1000;

/** Why a file is not safe to act on, with the fix; null when it is. */
export function unsafeFile(st: Ownership, euid: number, file: string): string | null {
  if (st.uid !== 0 && st.uid !== euid) {
    return (
      `owned by uid ${st.uid}, not by root or the user the watchdog runs as (uid ${euid}): anyone ` +
      `who can edit it decides what gets killed (fix: chown ${euid === 0 ? 'root' : euid} ${file})`
    );
  }
  const writable = [st.mode & 0o020 ? 'group' : '', st.mode & 0o002 ? 'others' : ''].filter(Boolean);
  if (writable.length > 0) {
    return (
      `writable by ${writable.join(' and ')} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})` +
      `: anyone who can edit it decides what gets killed (fix: chmod go-w ${file})`
    );
  }
  return null;
}

/** A folder anyone can write to (without the sticky bit) lets them swap the file for another. */
export function unsafeFolder(st: Ownership, folder: string): string | null {
  if (st.mode & 0o002 && !(st.mode & S_ISVTX)) {
    return (
      `is in ${folder}, which anyone can write to: the file could be replaced (fix: chmod o-w ` +
      `${folder}, or move the file)`
    );
  }
  return null;
}

/** What kind of thing a secret's path names (after following symlinks). */
export type FileKind = 'file' | 'directory' | 'other';

export interface SecretStat {
  kind: FileKind;
  mode: number;
  uid: number;
}

function modeText(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * Why a file holding a secret (a webhook URL) must be refused, with the fix; null when it may be
 * used. Held like an ssh private key: a regular file, owned by the user the watchdog runs as (or
 * root), and open to nobody else (no group or other bits at all, as ssh refuses an "UNPROTECTED
 * PRIVATE KEY FILE"). Anyone who can read the URL can post to the channel as the watchdog; anyone
 * who can write it can send the alerts elsewhere.
 */
/**
 * `risk`: what someone who can read or write it could do (default: the Slack webhook's).
 */
export function secretFileProblem(
  st: SecretStat,
  euid: number,
  file: string,
  risk = 'post to the channel as the watchdog or send its alerts elsewhere',
  /** What the file holds, when not the Slack webhook's URL (then no example name is given). */
  holds: string | null = null,
): string | null {
  if (st.kind === 'directory')
    return holds === null
      ? `is a folder, expected a file holding the URL (fix: point the key at the file itself, e.g. ` +
          `${file}/slack)`
      : `is a folder, expected a file holding ${holds} (fix: point the key at the file itself)`;
  if (st.kind === 'other')
    return `is not a regular file (a device, FIFO or socket), expected a file holding ${holds ?? 'the URL'}`;
  const user = euid === 0 ? 'root' : `uid ${euid}`;
  if (st.uid !== 0 && st.uid !== euid) {
    return (
      `is owned by uid ${st.uid}, not by root or the user the watchdog runs as (${user}): a secret ` +
      `held by another user can be read, swapped or pointed elsewhere by that user (fix: chown ` +
      `${euid === 0 ? 'root' : euid} ${file} && chmod 600 ${file})`
    );
  }
  if ((st.mode & 0o077) !== 0) {
    const who = [st.mode & 0o070 ? 'group' : '', st.mode & 0o007 ? 'others' : '']
      .filter(Boolean)
      .join(' and ');
    const can =
      [st.mode & 0o044 ? 'read' : '', st.mode & 0o022 ? 'write' : ''].filter(Boolean).join(' and ') || 'use';
    return (
      `is open to ${who} (mode ${modeText(st.mode)}): UNPROTECTED SECRET FILE: anyone who can ${can} ` +
      `it can ${risk}; refused as ssh ` +
      `refuses a private key others can read (fix: chmod 600 ${file})`
    );
  }
  return null;
}
