import type { FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * A file another writer is still appending to: a copy that falls behind the source reads
 * the rest from it instead of holding the source back. `handle` was opened for reading
 * when the file was created, so it stays valid when the writer renames the file.
 */
export interface GrowingFile {
  handle: FileHandle;
  /** Resolves with the file's final size once every byte is written; rejects if the writer failed. */
  whole: Promise<number>;
}

const CHUNK = 1 << 20;
/** How long a reader that caught up with the writer waits before it looks again. */
const POLL_MS = 20;

/**
 * The file's bytes from `start` to its end, read as the writer appends them: a read at
 * the current end waits for more until the writer says the file is whole. A file that
 * ends short of the size the writer reports is an error, never a shorter copy.
 */
export function readGrowing(file: GrowingFile, start: number, signal: AbortSignal): Readable {
  let size: number | undefined;
  let failure: unknown;
  file.whole.then(
    (n) => (size = n),
    (err: unknown) => (failure = err),
  );
  async function* chunks(): AsyncGenerator<Buffer> {
    let position = start;
    for (;;) {
      signal.throwIfAborted();
      if (failure !== undefined) throw failure;
      const known = size;
      const { bytesRead, buffer } = await file.handle.read(Buffer.allocUnsafe(CHUNK), 0, CHUNK, position);
      if (bytesRead > 0) {
        position += bytesRead;
        yield buffer.subarray(0, bytesRead);
        continue;
      }
      // At the end of what is written: done if the writer had finished before this read.
      if (known !== undefined) {
        if (position !== known) throw new Error(`the file ended at ${position} bytes, its writer wrote ${known}`);
        return;
      }
      await sleep(POLL_MS, undefined, { signal });
    }
  }
  return Readable.from(chunks(), { objectMode: false, highWaterMark: CHUNK });
}
