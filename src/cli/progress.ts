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
  let current = "";
  const started = Date.now();
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  const onProgress = (e: RestoreProgress) => {
    if (e.phase === "download") {
      if (current !== `download ${e.artifact}`) {
        stop();
        current = `download ${e.artifact}`;
        if (tty) {
          bar = new SingleBar(
            { format: `download ${e.artifact} [{bar}] {percentage}% {value_h}/{total_h}`, stream: process.stderr, hideCursor: true },
            Presets.legacy,
          );
          bar.start(e.total, 0, { value_h: bytes(0), total_h: bytes(e.total) });
        } else {
          io.err(`drctl: downloading ${e.artifact} (${bytes(e.total)}) and checking its sha256`);
        }
      }
      bar?.update(e.bytes, { value_h: bytes(e.bytes), total_h: bytes(e.total) });
      return;
    }
    stop();
    current = `${e.phase} ${e.artifact}`;
    const what = e.phase === "restore" ? "decrypting and restoring" : "checking against the manifest";
    io.err(`drctl: ${what} ${e.artifact} (${formatDuration((Date.now() - started) / 1000)} so far)`);
  };
  return { onProgress, stop };
}
