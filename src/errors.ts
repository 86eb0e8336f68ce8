// Expected failures carry their exit code; cli.ts is the only place that turns them into one.
// Anything else that escapes is a bug, and is the only case that prints a stack trace.

export const EXIT = {
  OK: 0,
  /** The command could not do its job (log unreadable, lock held, ...). */
  FAILURE: 1,
  /** Bad usage: unknown command or option, missing argument (sysexits EX_USAGE). */
  USAGE: 64,
  /** Bad configuration (sysexits EX_CONFIG). */
  CONFIG: 78,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The command could not do its job. */
export class FailureError extends CliError {
  constructor(message: string, exitCode: number = EXIT.FAILURE) {
    super(message, exitCode);
    this.name = 'FailureError';
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.USAGE);
    this.name = 'UsageError';
  }
}

/** One line per problem, each naming the file and the key path at fault. */
export class ConfigError extends CliError {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(problems.map((problem) => `${file}: ${problem}`).join('\n'), EXIT.CONFIG);
    this.name = 'ConfigError';
  }
}
