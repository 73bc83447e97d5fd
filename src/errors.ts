/**
 * Every failure a user can see is one of these, and each maps to one exit code of the
 * contract (PRODUCT.md): 1 the operation failed, 2 bad usage or invalid config,
 * 3 an integrity failure. The CLI prints `message` on one line; nothing else.
 */
/** The contract's exit codes: 130 and 143 for a command interrupted by SIGINT or SIGTERM. */
export type ExitCode = 0 | 1 | 2 | 3 | 130 | 143;

export abstract class DrdError extends Error {
  abstract readonly exitCode: ExitCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command-line usage, or a config that does not validate. */
export class UsageError extends DrdError {
  readonly exitCode = 2 as const;
}

/** The config failed validation; `problems` holds every `<path>: <message>` line. */
export class ConfigError extends DrdError {
  readonly exitCode = 2 as const;
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0]! : `${problems.length} problems in the config:\n${problems.join("\n")}`);
  }
}

/** The operation could not be done: a source failed, a disk filled, a target refused. */
export class OperationError extends DrdError {
  readonly exitCode = 1 as const;
}

/** Data does not match what was recorded: checksum mismatch, failed decryption, failed drill check. */
export class IntegrityError extends DrdError {
  readonly exitCode = 3 as const;
}

export function exitCodeOf(err: unknown): ExitCode {
  return err instanceof DrdError ? err.exitCode : 1;
}

/** One line for the user: the message of a known error, or of an unexpected one. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
