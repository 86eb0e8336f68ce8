// The reader for a configured provider. The key comes from key.ts (readAdminKey); `keyFrom` is
// what messages name instead of it.
import type { ProviderClient, ProviderConfig } from '../types.js';
import { anthropicClient } from './anthropic.js';
import { openaiClient } from './openai.js';

export function clientFor(
  provider: ProviderConfig,
  adminKey: string,
  keyFrom: string = `$${provider.keyEnv}`,
): ProviderClient {
  return provider.type === 'openai'
    ? openaiClient(provider, adminKey, keyFrom)
    : anthropicClient(provider, adminKey, keyFrom);
}
