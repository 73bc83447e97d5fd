import { pino, type Logger } from "pino";

/**
 * JSON lines on stdout, for journald. Secrets never reach a log line: nothing drd logs
 * carries one, and the redact list is a second fence for fields that might.
 */
export function createLogger(level = process.env.DRD_LOG_LEVEL ?? "info"): Logger {
  return pino({
    level,
    base: { service: "drd" },
    redact: { paths: ["password", "passphrase", "*.password", "*.passphrase", "secret", "*.secret"], censor: "********" },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

export type { Logger };
