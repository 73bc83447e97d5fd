import { Transform, type TransformCallback } from "node:stream";

/**
 * Passes bytes through unchanged and notes when the first and the last chunk went by:
 * how long a streamed stage (decryption, say) was at work while the stages around it
 * worked too.
 */
export class SpanStream extends Transform {
  private first: number | undefined;
  private last: number | undefined;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const now = Date.now();
    this.first ??= now;
    this.last = now;
    done(null, chunk);
  }

  /** Milliseconds from the first chunk to the last; 0 before any. */
  get ms(): number {
    return this.first === undefined ? 0 : this.last! - this.first;
  }
}
