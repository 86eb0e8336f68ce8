// The SHA-1 of a script, as EVALSHA names it (computed once per script text).
import { createHash } from 'node:crypto';

const cache = new Map<string, string>();

export function scriptSha(script: string): string {
  let sha = cache.get(script);
  if (sha === undefined) {
    sha = createHash('sha1').update(script).digest('hex');
    cache.set(script, sha);
  }
  return sha;
}
