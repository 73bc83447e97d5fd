import { Presets, SingleBar } from "cli-progress";
import type { RestoreProgress } from "../app/restore/restore.js";
import { formatDuration } from "../config/duration.js";
import type { Output } from "./io.js";
import { bytes } from "./render.js";

/**
 * Renders restore progress: a bar on a terminal, one plain line per phase otherwise (for
 * logs and scripts). Returns the listener and a function that closes the bar.
 */
export function restoreProgress(io: Output, tty = Boolean(process.stderr.isTTY)): { onProgress: (e: RestoreProgress) => void; stop: () => void } {
  let bar: SingleBar | undefined;
  // The artifact the bar follows; downloads overlap the restore, so its phase label changes while it fills.
  let barArtifact: { name: string; done: boolean } | undefined;
  const announced = new Set<string>();
  const started = Date.now();
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  const onProgress = (e: RestoreProgress) => {
    if (e.phase === "download") {
      if (!announced.has(e.artifact)) {
        announced.add(e.artifact);
        if (!tty) io.err(`drctl: downloading ${e.artifact} (${bytes(e.total)}), checking each piece against its sha256`);
        else if (!barArtifact || barArtifact.done) {
          stop();
          barArtifact = { name: e.artifact, done: false };
          bar = new SingleBar(
            { format: `{phase} ${e.artifact} [{bar}] {percentage}% {value_h}/{total_h}`, stream: process.stderr, hideCursor: true },
            Presets.legacy,
          );
          bar.start(e.total, 0, { phase: "download", value_h: bytes(0), total_h: bytes(e.total) });
        }
      }
      if (barArtifact?.name === e.artifact) {
        barArtifact.done = e.bytes >= e.total;
        bar?.update(e.bytes, { value_h: bytes(e.bytes), total_h: bytes(e.total) });
      }
      return;
    }
    if (e.phase === "restore" && bar) {
      bar.update({ phase: "download + restore" });
      return;
    }
    stop();
    const what = e.phase === "restore" ? "decrypting and restoring" : "checking against the manifest";
    io.err(`drctl: ${what} ${e.artifact} (${formatDuration((Date.now() - started) / 1000)} so far)`);
  };
  return { onProgress, stop };
}
