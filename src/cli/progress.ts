import { Presets, SingleBar } from "cli-progress";
import type { BackupProgress } from "../app/backup.js";
import type { RestoreProgress } from "../app/restore/restore.js";
import { formatDuration } from "../config/duration.js";
import type { Output } from "./io.js";
import { bytes } from "./render.js";

/**
 * Renders restore progress: a bar on a terminal, one plain line per phase otherwise (for
 * logs and scripts). Returns the listener and a function that closes the bar.
 */
export function restoreProgress(io: Output, tty = Boolean(process.stderr.isTTY)): { onProgress: (e: RestoreProgress) => void; stop: () => void; warned: Set<string> } {
  const bar = new StderrBar();
  // The artifact the bar follows; downloads overlap the restore, so its phase label changes while it fills.
  let barArtifact: { name: string; done: boolean } | undefined;
  const announced = new Set<string>();
  const started = Date.now();
  const stop = () => bar.stop();
  const warned = new Set<string>();
  const onProgress = (e: RestoreProgress) => {
    if (e.phase === "warning") {
      // Said before the restore writes anything: the operator may want to stop it.
      stop();
      warned.add(e.message);
      io.err(`drctl: warning: ${e.message}`);
      return;
    }
    if (e.phase === "download") {
      if (!announced.has(e.artifact)) {
        announced.add(e.artifact);
        if (!tty) io.err(`drctl: downloading ${e.artifact} (${bytes(e.total)}), checking each piece against its sha256`);
        else if (!barArtifact || barArtifact.done) {
          barArtifact = { name: e.artifact, done: false };
          bar.start(`{phase} ${e.artifact} [{bar}] {percentage}% {value_h}/{total_h}`, e.total, { phase: "download", value_h: bytes(0), total_h: bytes(e.total) });
        }
      }
      if (barArtifact?.name === e.artifact) {
        barArtifact.done = e.bytes >= e.total;
        bar.update(e.bytes, { value_h: bytes(e.bytes), total_h: bytes(e.total) });
      }
      return;
    }
    if (e.phase === "restore" && bar.active) {
      bar.label({ phase: e.decrypting ? "download + decrypt + restore" : "download + restore" });
      return;
    }
    stop();
    // Named as it is: "decrypting" only for an encrypted backup.
    const what = e.phase === "restore" ? (e.decrypting ? "decrypting and restoring" : "restoring") : "checking against the manifest";
    io.err(`drctl: ${what} ${e.artifact} (${formatDuration((Date.now() - started) / 1000)} so far)`);
  };
  return { onProgress, stop, warned };
}

/**
 * Renders backup progress on a terminal: one line redrawn in place with the phase, the
 * artifact, the bytes written and the rate. Nothing when stderr is not a terminal (a log
 * or a script gets the result alone).
 */
export function backupProgress(io: Output, tty = Boolean(process.stderr.isTTY)): { onProgress?: (e: BackupProgress) => void; stop: () => void } {
  if (!tty) return { stop: () => undefined };
  const bar = new StderrBar();
  let artifact = "";
  let since = Date.now();
  const stop = () => bar.stop();
  const onProgress = (e: BackupProgress) => {
    if (e.phase === "write") {
      if (e.artifact !== artifact) {
        artifact = e.artifact;
        since = Date.now();
        bar.start("{phase} {artifact} -> {targets}: {value_h} at {rate}", Number.MAX_SAFE_INTEGER, { phase: "writing", artifact: e.artifact, targets: e.targets.join(", "), value_h: bytes(0), rate: "-" });
      }
      const seconds = Math.max((Date.now() - since) / 1000, 0.001);
      bar.update(e.bytes, { value_h: bytes(e.bytes), rate: `${bytes(e.bytes / seconds)}/s` });
      return;
    }
    stop();
    artifact = "";
    io.err(e.phase === "verify" ? `drctl: re-reading the copy on ${e.target} against its sha256` : `drctl: finishing the copies to ${e.targets.join(", ")}`);
  };
  return { onProgress, stop };
}

/** The one bar a command draws on stderr, in cli-progress's plain style; starting another replaces it. */
class StderrBar {
  private bar: SingleBar | undefined;

  get active(): boolean {
    return this.bar !== undefined;
  }

  start(format: string, total: number, payload: Record<string, unknown>): void {
    this.stop();
    this.bar = new SingleBar({ format, stream: process.stderr, hideCursor: true }, Presets.legacy);
    this.bar.start(total, 0, payload);
  }

  update(value: number, payload: Record<string, unknown>): void {
    this.bar?.update(value, payload);
  }

  /** Changes the text fields without moving the bar. */
  label(payload: Record<string, unknown>): void {
    this.bar?.update(payload);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
