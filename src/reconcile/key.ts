// A provider's admin key: `admin_key_env` (wins when set) or `admin_key_file`, held like a private
// key (effects/secret-file.ts), as the alert channels read theirs. The key itself is never put in a
// message: `from` (the variable or file) is what messages name.
import { readSecretFile } from '../effects/secret-file.js';
import type { ProviderConfig } from './types.js';

export type AdminKey =
  | { kind: 'set'; key: string; from: string }
  | { kind: 'none'; from: string; problem: string }
  | { kind: 'broken'; from: string; problem: string };

export function readAdminKey(
  provider: Pick<ProviderConfig, 'name' | 'type' | 'keyEnv' | 'keyFile'>,
  env: NodeJS.ProcessEnv,
  euid: number | undefined = process.geteuid?.(),
): AdminKey {
  const fromEnv = env[provider.keyEnv];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return checked(fromEnv.trim(), `$${provider.keyEnv}`);
  if (provider.keyFile === null)
    return {
      kind: 'none',
      from: `$${provider.keyEnv}`,
      problem:
        `no admin key for ${provider.name}: $${provider.keyEnv} is not set and no admin_key_file is ` +
        `given (an ${provider.type === 'openai' ? 'OpenAI' : 'Anthropic'} Admin API key is needed)`,
    };
  const read = readSecretFile(provider.keyFile, euid, {
    holds: `the ${provider.type === 'openai' ? 'OpenAI' : 'Anthropic'} Admin API key`,
    key: `admin_key_file of provider ${provider.name}`,
    risk: "read the organization's usage and manage its keys",
  });
  if (!read.ok) return { kind: 'broken', from: provider.keyFile, problem: read.problem };
  const key = read.text.trim();
  if (key === '') return { kind: 'broken', from: provider.keyFile, problem: 'is empty' };
  return checked(key, provider.keyFile);
}

/** A key that cannot go into an HTTP header would make fetch throw with the value in its text. */
function checked(key: string, from: string): AdminKey {
  if (!/^[\x21-\x7e]+$/.test(key))
    return {
      kind: 'broken',
      from,
      problem: 'does not hold one admin key (expected one line of printable ASCII, no spaces)',
    };
  return { kind: 'set', key, from };
}
