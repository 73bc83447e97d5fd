import { open } from "node:fs/promises";
import { connect } from "node:net";
import { basename } from "node:path";
import { pipeline } from "node:stream/promises";
import { defaultWalSocket, formatPushHeader } from "../wal/push-protocol.js";

/**
 * `drctl wal push JOB PATH`: archive mode's archive_command. It runs as the PostgreSQL
 * server's OS user, once per WAL file, so it reads no config and loads nothing but Node:
 * it sends the file to the daemon's socket and exits 0 only on the daemon's "ok", which
 * comes once the file is durable on the job's first target. Anything else exits 1 with one
 * line on stderr (PostgreSQL logs it and tries the file again later; nothing is lost).
 */
export interface PushOptions {
  job: string;
  path: string;
  socket?: string;
  /** How long to wait for the daemon, in all: a hung daemon must not hold the server's archiving forever. */
  timeoutSeconds?: number;
}

const DEFAULT_TIMEOUT_S = 300;

export async function pushWal(opts: PushOptions): Promise<{ ok: true; detail: string } | { ok: false; error: string }> {
  const socketPath = opts.socket ?? defaultWalSocket(opts.job);
  const name = basename(opts.path);
  const timeoutMs = (opts.timeoutSeconds ?? DEFAULT_TIMEOUT_S) * 1000;
  let file;
  try {
    file = await open(opts.path, "r");
  } catch (err) {
    return { ok: false, error: `cannot read ${opts.path}: ${(err as Error).message}` };
  }
  try {
    const { size } = await file.stat();
    return await new Promise((resolve) => {
      const socket = connect(socketPath);
      let reply = "";
      let settled = false;
      const done = (r: { ok: true; detail: string } | { ok: false; error: string }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(r);
      };
      const timer = setTimeout(() => done({ ok: false, error: `the daemon did not confirm ${name} within ${timeoutMs / 1000} s (socket ${socketPath})` }), timeoutMs);
      socket.on("error", (err: NodeJS.ErrnoException) => {
        const why = err.code === "ENOENT" || err.code === "ECONNREFUSED" ? "is drd running, with this job in archive mode?" : err.code === "EACCES" ? "the socket's group must be this user's (see drctl wal setup)" : "";
        done({ ok: false, error: `cannot hand ${name} to drd at ${socketPath}: ${err.message}${why ? `; ${why}` : ""}` });
      });
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => {
        reply += chunk;
        const nl = reply.indexOf("\n");
        if (nl === -1) return;
        const line = reply.slice(0, nl);
        if (line.startsWith("ok")) done({ ok: true, detail: line.slice(2).trim() });
        else done({ ok: false, error: line.replace(/^error /, "") || "the daemon refused it" });
      });
      socket.on("end", () => done({ ok: false, error: `the daemon closed the connection before confirming ${name}` }));
      socket.once("connect", () => {
        socket.write(formatPushHeader({ job: opts.job, name, size }));
        // end: false, the reply comes on the same connection.
        pipeline(file.createReadStream({ start: 0, end: size - 1, autoClose: false }), socket, { end: false }).catch((err: Error) =>
          done({ ok: false, error: `sending ${name} failed: ${err.message}` }),
        );
      });
    });
  } finally {
    await file.close();
  }
}

/** The command's own argument parsing: `wal push JOB PATH [--socket PATH] [--timeout SECONDS]`, after "wal push". */
export function parsePushArgs(args: string[]): PushOptions | { usage: string } {
  const positional: string[] = [];
  const opts: Partial<PushOptions> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = (flag: string) => (a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i]) ?? flag;
    if (a === "--socket" || a.startsWith("--socket=")) opts.socket = value(a);
    else if (a === "--timeout" || a.startsWith("--timeout=")) opts.timeoutSeconds = Number(value(a));
    else if (a.startsWith("-")) return { usage: `unknown option ${a}` };
    else positional.push(a);
  }
  if (positional.length !== 2) return { usage: "usage: drctl wal push JOB PATH [--socket PATH] [--timeout SECONDS]" };
  if (opts.timeoutSeconds !== undefined && !(opts.timeoutSeconds > 0)) return { usage: "--timeout takes a number of seconds" };
  return { job: positional[0]!, path: positional[1]!, ...opts };
}

/** Runs the command: its exit code (0 stored, 1 not, 2 usage). */
export async function walPushMain(args: string[], err: (line: string) => void): Promise<number> {
  const opts = parsePushArgs(args);
  if ("usage" in opts) {
    err(`drctl: ${opts.usage}`);
    return 2;
  }
  const r = await pushWal(opts);
  if (r.ok) return 0;
  err(`drctl: wal push ${opts.job}: ${r.error}`);
  return 1;
}
