import { Socket } from "node:net";
import type { Readable } from "node:stream";

/**
 * True when `stream` is our end of a pipe from a child process (its stdout) and nothing
 * was read from it yet. Such a pipe can be handed to the next child as its stdin, so the
 * bytes flow between the two processes without passing through this one. Node starts
 * reading a child's stdout once the event loop turns: bytes it took would never reach the
 * next child, so such a stream must be piped through instead.
 */
export function hasPipeFd(stream: Readable): stream is Socket {
  const handle = (stream as unknown as { _handle?: { fd?: number } })._handle;
  return stream instanceof Socket && typeof handle?.fd === "number" && handle.fd >= 0 && stream.bytesRead === 0;
}
