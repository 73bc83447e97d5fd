// Bundles the compiled CLI (dist/cli/main.js) into bundle/, which bin/drctl.js runs.
// One file per command (code splitting keeps each command's imports lazy) instead of ~340
// modules through Node's ESM loader: pg_dump starts about a quarter of a second sooner,
// and every backup's wall time includes drd's start (docs/benchmarks.md, offsite run 3).
// bundle/ sits one level below the package root, like dist/, so paths drd resolves from
// its own location (../package.json) mean the same in both.
import { build } from "esbuild";
import { rmSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname;
rmSync(`${root}bundle`, { recursive: true, force: true });
await build({
  entryPoints: { main: `${root}dist/cli/main.js` },
  outdir: `${root}bundle`,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // A native addon, and a logger whose transports load modules by path: resolved from node_modules.
  external: ["better-sqlite3", "pino", "pino-pretty"],
  // CommonJS packages inside an ES module bundle still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __drdCreateRequire } from 'node:module'; const require = __drdCreateRequire(import.meta.url);" },
  logLevel: "warning",
});
