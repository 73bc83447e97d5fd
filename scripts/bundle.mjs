// Bundles the compiled CLI (dist/cli/main.js) into bundle/, which bin/drctl.js runs.
// One file per command (code splitting keeps each command's imports lazy) instead of ~340
// modules through Node's ESM loader: pg_dump starts about a quarter of a second sooner,
// and every backup's wall time includes drd's start (docs/benchmarks.md, offsite run 3).
// bundle/ sits one level below the package root, like dist/, so paths drd resolves from
// its own location (../package.json) mean the same in both.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { EXTERNALS } from "./externals.mjs";

const root = new URL("..", import.meta.url).pathname;

/**
 * pg asks whether it runs on Cloudflare Workers by building a fetch Response, which on
 * Node 20 (no navigator yet) loads Node's whole fetch implementation: 45 ms of every
 * command's start, for a question whose answer here is always no.
 */
const nodeOnlyPg = {
  name: "node-only-pg",
  setup(b) {
    b.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]stream\.js$/ }, async ({ path }) => {
      const source = await readFile(path, "utf8");
      const probe = "function isCloudflareRuntime() {";
      if (!source.includes(probe)) throw new Error(`${path}: pg changed how it detects Cloudflare Workers; review this plugin`);
      return { contents: source.replace(probe, `${probe}\n  return false;`), loader: "js" };
    });
  },
};
rmSync(`${root}bundle`, { recursive: true, force: true });
await build({
  entryPoints: { main: `${root}dist/cli/main.js`, "wal-push": `${root}dist/cli/wal-push.js` },
  outdir: `${root}bundle`,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // Packages that ship an ES module build are taken from it: a bundled CommonJS module that
  // drd imports on demand would otherwise give only a default export (the S3 SDK).
  mainFields: ["module", "main"],
  // Resolved from node_modules at run time, where Node gives them their named exports (externals.mjs).
  external: EXTERNALS,
  // CommonJS packages inside an ES module bundle still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __drdCreateRequire } from 'node:module'; const require = __drdCreateRequire(import.meta.url);" },
  plugins: [nodeOnlyPg],
  logLevel: "warning",
});

// The build's identity: a hash of what was bundled and of the locked packages. install.sh names the release directory
// after it, and the daemon reports it, so two builds of one version number are told apart.
const hash = createHash("sha256");
for (const name of readdirSync(`${root}bundle`).sort()) hash.update(name).update(readFileSync(`${root}bundle/${name}`));
// The packages loaded from node_modules at run time belong to the build too.
hash.update(readFileSync(`${root}package-lock.json`));
writeFileSync(`${root}bundle/BUILD`, `${hash.digest("hex").slice(0, 12)}\n`);
