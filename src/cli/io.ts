/** Where commands write: stdout for data, stderr for diagnostics. Swappable in tests. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** The terminal's width when stdout is one: tables fit it. Undefined in a pipe: lines stay whole for scripts. */
  readonly columns?: number;
}

/**
 * A stream whose reader went away (`drctl list | head`): writing to it fails with EPIPE,
 * which Node reports as an error event that would end the process with a stack trace.
 * From then on that stream takes nothing more, quietly, and the command finishes its work
 * (a prune piped to `head` still prunes) with its own exit code.
 */
function quietWhenClosed(stream: NodeJS.WriteStream): (text: string) => void {
  let closed = false;
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    closed = true;
  });
  return (text) => {
    if (!closed) stream.write(`${text}\n`);
  };
}

let streams: Output | undefined;
const processStreams = (): Output => (streams ??= { out: quietWhenClosed(process.stdout), err: quietWhenClosed(process.stderr) });

/** The process's stdout and stderr, set up on first use. */
export const processOutput: Output = {
  out: (text) => processStreams().out(text),
  err: (text) => processStreams().err(text),
  get columns() {
    return process.stdout.isTTY ? process.stdout.columns || 80 : undefined;
  },
};
