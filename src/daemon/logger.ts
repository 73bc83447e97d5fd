import { createRequire } from "node:module";
import { pino, type Logger } from "pino";

/**
 * JSON lines on stdout, for journald; readable lines when stdout is a terminal (drd run by
 * hand). Secrets never reach a log line: nothing drd logs carries one, and the redact list
 * is a second fence for fields that might.
 */
export function createLogger(level = process.env.DRD_LOG_LEVEL ?? "info", terminal = Boolean(process.stdout.isTTY)): Logger {
  const options = {
    level,
    base: { service: "drd" },
    redact: { paths: ["password", "passphrase", "*.password", "*.passphrase", "secret", "*.secret"], censor: "********" },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (!terminal) return pino(options);
  // Loaded only here: under systemd the daemon never holds it.
  const pretty = createRequire(import.meta.url)("pino-pretty") as typeof import("pino-pretty");
  return pino(options, pretty({ sync: true, colorize: true, singleLine: true, ignore: "pid,hostname,service", translateTime: "SYS:yyyy-mm-dd HH:MM:ss" }));
}

export type { Logger };
