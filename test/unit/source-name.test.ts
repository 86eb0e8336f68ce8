// SourceFile.source: a file's path from the config's folder. Below that folder it is cut from the
// path itself (fast, 5,000 files a check); every other path goes through path.relative: each case
// must give what path.relative gives.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/index.js';
import { sourceName } from '../../src/sources/list.js';

const config = (file: string) => ({ file }) as Config;

describe('sourceName', () => {
  const cases: [configFile: string, file: string, expected: string][] = [
    ['/srv/app/watchdog.yaml', '/srv/app/state/cost_log.jsonl', 'state/cost_log.jsonl'],
    ['/srv/app/watchdog.yaml', '/srv/app/many/w0001/worker17.jsonl', 'many/w0001/worker17.jsonl'],
    ['/srv/app/watchdog.yaml', '/srv/app/cost_log.jsonl', 'cost_log.jsonl'],
    ['/srv/app/watchdog.yaml', '/srv/app/.hidden/.log.jsonl', '.hidden/.log.jsonl'],
    ['/srv/app/watchdog.yaml', '/srv/apps/cost_log.jsonl', '../apps/cost_log.jsonl'],
    ['/srv/app/watchdog.yaml', '/srv/cost_log.jsonl', '../cost_log.jsonl'],
    ['/srv/app/watchdog.yaml', '/var/log/app/cost_log.jsonl', '../../var/log/app/cost_log.jsonl'],
    ['/srv/app/watchdog.yaml', '/srv/app/../other/cost_log.jsonl', '../other/cost_log.jsonl'],
    ['/srv/app/watchdog.yaml', '/srv/app/./state/cost_log.jsonl', 'state/cost_log.jsonl'],
    ['/srv/app/watchdog.yaml', '/srv/app//state/cost_log.jsonl', 'state/cost_log.jsonl'],
    ['/srv/app/watchdog.yaml', '/srv/app/state/..', '..'],
    ['/srv/app/watchdog.yaml', '/srv/app', 'app'],
    ['/watchdog.yaml', '/cost_log.jsonl', 'cost_log.jsonl'],
    ['/watchdog.yaml', '/var/log/cost_log.jsonl', 'var/log/cost_log.jsonl'],
  ];
  it.each(cases)('config %s, file %s: %s', (configFile, file, expected) => {
    expect(sourceName(config(configFile), file)).toBe(expected);
    expect(sourceName(config(configFile), file)).toBe(
      path.relative(path.dirname(configFile), file) || path.basename(file),
    );
  });
});
