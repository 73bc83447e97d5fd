import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);

// dist/errors.js
var DrdError = class extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
};
var UsageError = class extends DrdError {
  exitCode = 2;
};
var ConfigError = class extends DrdError {
  problems;
  exitCode = 2;
  constructor(problems) {
    super(problems.length === 1 ? problems[0] : `${problems.length} problems in the config:
${problems.join("\n")}`);
    this.problems = problems;
  }
};
var OperationError = class extends DrdError {
  exitCode = 1;
};
var IntegrityError = class extends DrdError {
  exitCode = 3;
};
function exitCodeOf(err) {
  return err instanceof DrdError ? err.exitCode : 1;
}
function describeError(err) {
  if (err instanceof Error)
    return err.message;
  return String(err);
}

export {
  UsageError,
  ConfigError,
  OperationError,
  IntegrityError,
  exitCodeOf,
  describeError
};
