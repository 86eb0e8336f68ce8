// Who and where: the host a check runs on, and the person behind a manual command.
import { hostname, userInfo } from 'node:os';

export function host(): string {
  return hostname();
}

/** Who ran a command: the person behind sudo when there is one. */
export function who(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = `uid ${process.getuid?.() ?? '?'}`;
  }
  const sudo = process.env.SUDO_USER;
  return sudo !== undefined && sudo !== '' && sudo !== user ? `${sudo} (as ${user})` : user;
}
