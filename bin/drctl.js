#!/usr/bin/env node
// `drctl wal push` is PostgreSQL's archive_command, started once per WAL file: it loads only
// its own small module, not the CLI, so the server's archiving is not held by drd's start.
const help = process.argv.includes("--help") || process.argv.includes("-h");
if (process.argv[2] === "wal" && process.argv[3] === "push" && !help) {
  const { walPushMain } = await import("../bundle/wal-push.js");
  process.exitCode = await walPushMain(process.argv.slice(4), (line) => process.stderr.write(`${line}\n`));
} else {
  const { main } = await import("../bundle/main.js");
  process.exitCode = await main(process.argv);
}
