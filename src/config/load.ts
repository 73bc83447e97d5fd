import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { ConfigError } from "../errors.js";
import { configSchema, type Config } from "./schema.js";

export const DEFAULT_CONFIG_PATH = "/etc/drd/drd.yaml";

/** `--config`, then `$DRD_CONFIG`, then /etc/drd/drd.yaml. */
export function resolveConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.DRD_CONFIG ?? DEFAULT_CONFIG_PATH;
}

export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    // The first thing a new user meets: say how to give a config and where to start one.
    const hint = code === "ENOENT" ? " (give one with --config FILE or DRD_CONFIG; start from config/drd.example.yaml, or write one with `drctl init`)" : "";
    throw new ConfigError([`${path}: cannot read the config: ${code}${hint}`]);
  }
  return parseConfig(text, path);
}

/** Parses YAML text and validates it; every problem is reported at once as `<path>: <message>`. */
export function parseConfig(text: string, source = "config"): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const message = e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
        return `${source}${pos ? `:${pos.line}:${pos.col}` : ""}: ${message}`;
      }),
    );
  }
  const raw = (doc.toJS() ?? {}) as { policy?: { copies?: unknown } };
  // reportInput: a wrong value is reported as what it is, not as missing.
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues));
  // A copies count written in the config that no set of targets could meet is a mistake;
  // the default (2) with one target is a first setup, which status reports as short.
  const targets = Object.keys(result.data.targets).length;
  if (raw.policy?.copies !== undefined && result.data.policy.copies > targets)
    throw new ConfigError([`policy.copies: is ${result.data.policy.copies}, but only ${targets} target(s) are configured: no backup could meet it`]);
  return result.data;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || "(top level)";
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const at = formatPath(issue.path);
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) lines.push(`${formatPath([...issue.path, key])}: unknown key`);
    } else if (issue.code === "invalid_key") {
      lines.push(`${at}: ${issue.issues[0]?.message ?? issue.message}`);
    } else if (issue.code === "invalid_type" && issue.input === undefined) {
      lines.push(`${at}: is required`);
    } else if (issue.code === "invalid_type") {
      lines.push(`${at}: expected ${expectedOf(issue.expected, issue.path)}, got ${describeValue(issue.input)}`);
    } else if (issue.code === "invalid_union" && "discriminator" in issue && issue.discriminator) {
      lines.push(`${at}: must be one of ${((issue as unknown as { options: unknown[] }).options).map(String).join(", ")}`);
    } else if (issue.code === "invalid_union" && issue.errors.length > 0) {
      // Report the branch that got furthest: the one with the fewest problems.
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0]!;
      lines.push(...formatIssues(best.map((i) => ({ ...i, path: [...issue.path, ...i.path] }))));
    } else {
      lines.push(`${at}: ${issue.message}`);
    }
  }
  return [...new Set(lines)];
}

/** What a key wanted, in words: durations and rates by example, else the type. */
function expectedOf(type: string, path: readonly PropertyKey[]): string {
  const key = String(path[path.length - 1] ?? "");
  if (type === "string" && /^(rpo|rto|max_age|renotify|alert_expiry|clock_skew_allowance|timeout|connect_timeout|stall_timeout)$/.test(key)) return "a duration like 15m";
  if (type === "string" && key === "listen") return "host:port, like 127.0.0.1:9464";
  if (type === "array") return "a list";
  if (type === "object") return "a mapping";
  return type === "int" || type === "number" ? "a whole number" : `a ${type}`;
}

/** A value as a reader of the config wrote it. */
function describeValue(value: unknown): string {
  if (value === null) return "nothing (null)";
  if (typeof value === "number") return `the number ${value}`;
  if (typeof value === "string") return `the text ${JSON.stringify(value)}`;
  if (typeof value === "boolean") return `${value}`;
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "a mapping" : String(value);
}
