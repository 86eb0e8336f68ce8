// `init`: write the commented starter config (watchdog.example.yaml, or a preset for the log an
// agent already writes: init-presets.ts) where -c points, never over an existing file.
import { closeSync, constants, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { configPath } from '../config/index.js';
import { EXIT, FailureError, UsageError } from '../errors.js';
import { makeDirs } from '../effects/store.js';
import { packageFile } from '../install.js';
import { isPreset, PRESETS, presetText } from './init-presets.js';

function exampleConfig(): string {
  // The example ships at the package root.
  const file = packageFile('watchdog.example.yaml');
  if (file === null) throw new FailureError('cannot find watchdog.example.yaml in the installed package');
  return readFileSync(file, 'utf8');
}

export interface InitOptions {
  config?: string;
  preset?: string;
}

export async function initCommand(options: InitOptions): Promise<number> {
  const preset = options.preset ?? 'cost-control';
  if (!isPreset(preset)) {
    const name = JSON.stringify(preset.length > 40 ? `${preset.slice(0, 40)}…` : preset);
    throw new UsageError(`init: unknown preset ${name} (presets: ${PRESETS.join(', ')})`);
  }
  const file = configPath(options.config, process.env, process.cwd());
  const text = preset === 'cost-control' ? exampleConfig() : presetText(preset);
  let fd: number;
  try {
    makeDirs(path.dirname(file));
    fd = openSync(
      file,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new FailureError(
        `${file} already exists: not overwriting it (check it with \`cost-watchdog validate -c ${file}\`)`,
      );
    }
    throw new FailureError(`cannot write ${file}: ${(error as Error).message}`);
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  const next = preset === 'cost-control' ? 'set log, limits and target for your app' : 'check log and limits';
  process.stdout.write(
    `wrote ${file}${preset === 'cost-control' ? '' : ` (preset ${preset})`}\nnext: ${next}, then run ` +
      `\`cost-watchdog validate -c ${file}\` and \`cost-watchdog run -c ${file}\`\n`,
  );
  return EXIT.OK;
}
