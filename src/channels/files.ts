// The secret files alerts.channels names (url_file, secret_file, routing_key_file), checked when
// the config is loaded, as slack.webhook_url_file is: a file named must be usable when needed
// (held like a key), also while the environment variable that takes precedence is set.
import type { ChannelConfig } from '../config/sections/surfaces.js';
import { readSecretFile } from '../effects/secret-file.js';

export function channelFileProblems(channels: readonly ChannelConfig[]): string[] {
  const problems: string[] = [];
  channels.forEach((c, i) => {
    const files: [string, string | null, string][] =
      c.type === 'webhook'
        ? [
            ['url_file', c.urlFile, "the webhook's URL"],
            ['secret_file', c.secretFile, "the webhook's signing secret"],
          ]
        : [['routing_key_file', c.routingKeyFile, 'the Events API v2 integration key']];
    for (const [key, file, holds] of files) {
      if (file === null) continue;
      const read = readSecretFile(file, process.geteuid?.(), { holds, key: `alerts.channels[${i}].${key}` });
      if (!read.ok) problems.push(`alerts.channels[${i}].${key}: ${file} ${read.problem}`);
      else if (read.text.trim() === '') problems.push(`alerts.channels[${i}].${key}: ${file} is empty`);
    }
  });
  return problems;
}
