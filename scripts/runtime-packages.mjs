// Keeps in a node_modules directory only what the bundle loads at run time: the EXTERNALS and
// every package they depend on, as package-lock.json resolves them. Everything else (the
// bundled packages, dev tools, optional peers such as TypeScript) goes.
//
//   node scripts/runtime-packages.mjs PACKAGE_DIR    (the directory holding package-lock.json and node_modules)
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { EXTERNALS } from "./externals.mjs";

const root = process.argv[2];
if (!root) throw new Error("usage: runtime-packages.mjs PACKAGE_DIR");
const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
const packages = lock.packages;

/** Where Node finds `name` from the package at `from`: its own node_modules, then each parent's. */
function resolve(from, name) {
  for (let dir = from; ; dir = dir.replace(/\/?node_modules\/(@[^/]+\/)?[^/]+$/, "")) {
    const candidate = `${dir ? `${dir}/` : ""}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!dir) return undefined;
  }
}

const keep = new Set();
const visit = (path) => {
  if (keep.has(path)) return;
  keep.add(path);
  const p = packages[path];
  for (const name of Object.keys({ ...p.dependencies, ...p.optionalDependencies })) {
    const found = resolve(path, name);
    if (found) visit(found);
    else if (!(p.optionalDependencies && name in p.optionalDependencies)) throw new Error(`${path} needs ${name}, which package-lock.json does not have`);
  }
};
for (const name of EXTERNALS) visit(`node_modules/${name}`);

// Top-level entries (and scopes' entries) not kept go; a kept package keeps its nested node_modules.
const top = new Set([...keep].map((p) => p.split("/node_modules/")[0].replace(/^node_modules\//, "")));
const modules = join(root, "node_modules");
let removed = 0;
for (const entry of readdirSync(modules)) {
  if (entry.startsWith(".")) continue;
  const names = entry.startsWith("@") ? readdirSync(join(modules, entry)).map((n) => `${entry}/${n}`) : [entry];
  for (const name of names) {
    if (top.has(name)) continue;
    rmSync(join(modules, name), { recursive: true, force: true });
    removed++;
  }
}
// What a from-source build of the native addon leaves beside it: its compiler's output and
// the SQLite sources it compiled. At run time only build/Release/better_sqlite3.node is loaded.
const sqlite = join(modules, "better-sqlite3");
for (const part of ["deps", "src", "build/Release/obj", "build/Release/obj.target", "build/Release/.deps", "build/Release/test_extension.node", "build/deps"])
  rmSync(join(sqlite, part), { recursive: true, force: true });
// Links in .bin to tools that went (tsc, vitest) would dangle.
const bin = join(modules, ".bin");
for (const name of existsSync(bin) ? readdirSync(bin) : []) if (!existsSync(join(bin, name))) rmSync(join(bin, name), { force: true });
console.log(`kept ${top.size} packages the bundle loads at run time, removed ${removed}`);
