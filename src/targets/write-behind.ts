import { Transform, type TransformCallback } from "node:stream";
import type { FileHandle } from "node:fs/promises";

/** Every 32 MiB written, the file's data so far is flushed to disk in the background. */
const SYNC_EVERY = 32 * 1024 * 1024;

/**
 * Passes bytes through to a file's write stream and, every `syncInterval` bytes, starts an
 * fdatasync of what was written so far, one at a time, without waiting for it. The
 * kernel would otherwise keep a whole artifact in dirty pages until the closing fsync,
 * which then writes it all while the backup waits. A failed background sync fails the
 * stream: after an fsync error Linux may report success later for data it has lost.
 */
export class WriteBehind extends Transform {
  private sinceSync = 0;
  private syncing: Promise<void> | undefined;
  private failed: Error | undefined;

  constructor(
    private readonly file: FileHandle,
    private readonly syncInterval = SYNC_EVERY,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.failed) return done(this.failed);
    this.sinceSync += chunk.length;
    if (this.sinceSync >= this.syncInterval && !this.syncing) {
      this.sinceSync = 0;
      this.syncing = this.file.datasync().then(
        () => (this.syncing = undefined),
        (err: Error) => {
          this.failed = err;
          this.syncing = undefined;
        },
      );
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    void (this.syncing ?? Promise.resolve()).then(() => done(this.failed));
  }
}
