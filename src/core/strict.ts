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
    return `owned by uid ${st.uid}, not by root or the user the watchdog runs as (uid ${euid}): anyone who can edit it decides what gets killed (fix: chown ${euid === 0 ? 'root' : euid} ${file})`;
  }
  const writable = [st.mode & 0o020 ? 'group' : '', st.mode & 0o002 ? 'others' : ''].filter(Boolean);
  if (writable.length > 0) {
    return `writable by ${writable.join(' and ')} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}): anyone who can edit it decides what gets killed (fix: chmod go-w ${file})`;
  }
  return null;
}

/** A folder anyone can write to (without the sticky bit) lets them swap the file for another. */
export function unsafeFolder(st: Ownership, folder: string): string | null {
  if (st.mode & 0o002 && !(st.mode & S_ISVTX)) {
    return `is in ${folder}, which anyone can write to: the file could be replaced (fix: chmod o-w ${folder}, or move the file)`;
  }
  return null;
}
