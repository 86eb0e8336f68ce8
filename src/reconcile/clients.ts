// The clients reconciling reads with: one per configured provider, its admin key read from the
// environment or its file; a provider without a usable key is a failure said like any other (its
// key is never printed: messages name the variable or file it came from).
import type { ProviderConfig } from '../config/sections/reconcile.js';
import { readAdminKey } from './key.js';
import type { ClientFactory } from './poll.js';
import { clientFor } from './providers/index.js';
import { ProviderFailure } from './types.js';

export function clientsFrom(env: NodeJS.ProcessEnv): ClientFactory {
  return (provider: ProviderConfig) => {
    const key = readAdminKey(provider, env);
    if (key.kind === 'set') return clientFor(provider, key.key, key.from);
    return new ProviderFailure(
      'key',
      key.kind === 'none' ? key.problem : `the admin key of ${provider.name} from ${key.from} ${key.problem}`,
    );
  };
}
