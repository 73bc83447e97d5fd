import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  Catalog
} from "./chunk-KAQ4J7ZM.js";
import {
  S3Target
} from "./chunk-4A5XXJDO.js";
import {
  DigestStream,
  ObjectNotFoundError,
  assertSafeKey
} from "./chunk-GBAX6DVE.js";
import {
  OperationError,
  UsageError
} from "./chunk-RSPIC3EP.js";

// dist/targets/local.js
import { mkdir, open, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { randomBytes } from "node:crypto";
import { pipeline } from "node:stream/promises";

// dist/targets/write-behind.js
import { Transform } from "node:stream";
var SYNC_EVERY = 32 * 1024 * 1024;
var WriteBehind = class extends Transform {
  file;
  syncInterval;
  sinceSync = 0;
  syncing;
  failed;
  constructor(file, syncInterval = SYNC_EVERY) {
    super();
    this.file = file;
    this.syncInterval = syncInterval;
  }
  _transform(chunk, _enc, done) {
    if (this.failed)
      return done(this.failed);
    this.sinceSync += chunk.length;
    if (this.sinceSync >= this.syncInterval && !this.syncing) {
      this.sinceSync = 0;
      this.syncing = this.file.datasync().then(() => this.syncing = void 0, (err) => {
        this.failed = err;
        this.syncing = void 0;
      });
    }
    done(null, chunk);
  }
  _flush(done) {
    void (this.syncing ?? Promise.resolve()).then(() => done(this.failed));
  }
};

// dist/targets/local.js
var TEMP_MARKER = ".drd-tmp-";
var TEMP_PID = /\.drd-tmp-(\d+)-[0-9a-f]+$/;
var LocalTarget = class {
  name;
  root;
  constructor(name, root) {
    this.name = name;
    this.root = root;
  }
  locate(keyOrPrefix) {
    return this.pathOf(keyOrPrefix.replace(/\/$/, ""));
  }
  pathOf(key) {
    assertSafeKey(key);
    return join(this.root, ...key.split("/"));
  }
  async put(key, data, options = {}) {
    const finalPath = this.pathOf(key);
    const dir = dirname(finalPath);
    await this.mkdirs(dir);
    const tempPath = `${finalPath}${TEMP_MARKER}${process.pid}-${randomBytes(6).toString("hex")}`;
    const file = await open(tempPath, "wx", 384).catch((err) => {
      throw storageError(this.name, "create", tempPath, err);
    });
    let committed = false;
    try {
      const digest = new DigestStream();
      await pipeline(data, digest, new WriteBehind(file), file.createWriteStream({ flush: true, highWaterMark: 1 << 20 })).catch((err) => {
        throw err?.code && err.syscall ? storageError(this.name, "write", tempPath, err) : err;
      });
      await options.ready?.();
      await rename(tempPath, finalPath);
      committed = true;
      await fsyncDir(dir);
      return { size: digest.bytes, sha256: digest.hex() };
    } finally {
      await file.close().catch(() => void 0);
      if (!committed)
        await rm(tempPath, { force: true });
    }
  }
  async get(key) {
    const path = this.pathOf(key);
    const handle = await open(path, "r").catch((err) => {
      if (err.code === "ENOENT")
        throw new ObjectNotFoundError(path);
      throw storageError(this.name, "open", path, err);
    });
    return handle.createReadStream({ highWaterMark: 1 << 20 });
  }
  async stat(key) {
    const info = await stat(this.pathOf(key)).catch((err) => {
      if (err.code === "ENOENT")
        return void 0;
      throw storageError(this.name, "stat", this.pathOf(key), err);
    });
    return info?.isFile() ? { key, size: info.size } : void 0;
  }
  async list(prefix) {
    const out = [];
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true }).catch((err) => {
      if (err.code === "ENOENT")
        return [];
      throw storageError(this.name, "list", this.root, err);
    });
    for (const entry of entries) {
      if (!entry.isFile() || entry.name.includes(TEMP_MARKER))
        continue;
      const key = relative(this.root, join(entry.parentPath, entry.name)).split(sep).join("/");
      if (!key.startsWith(prefix))
        continue;
      const info = await stat(join(entry.parentPath, entry.name)).catch(() => void 0);
      if (info)
        out.push({ key, size: info.size });
    }
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }
  async delete(keys) {
    const dirs = /* @__PURE__ */ new Set();
    for (const key of keys) {
      const path = this.pathOf(key);
      await rm(path, { force: true }).catch((err) => {
        throw storageError(this.name, "delete", path, err);
      });
      dirs.add(dirname(path));
    }
    const parents = /* @__PURE__ */ new Set();
    for (const dir of dirs) {
      if (dir === this.root)
        continue;
      await rmdir(dir).catch(() => void 0);
      parents.add(dirname(dir));
    }
    for (const parent of parents)
      await fsyncDir(parent).catch(() => void 0);
  }
  async removeLeftovers(isWriterAlive) {
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true }).catch(() => []);
    let removed = 0;
    for (const entry of entries) {
      if (!entry.isFile() || !entry.name.includes(TEMP_MARKER))
        continue;
      const path = join(entry.parentPath, entry.name);
      const writer = TEMP_PID.exec(entry.name);
      const writtenAt = (await stat(path).catch(() => void 0))?.mtimeMs ?? 0;
      if (writer && isWriterAlive(Number(writer[1]), writtenAt))
        continue;
      await rm(path, { force: true });
      removed++;
    }
    const dirs = entries.filter((e) => e.isDirectory()).map((e) => join(e.parentPath, e.name));
    for (const dir of dirs.sort((a, b) => b.length - a.length))
      await rmdir(dir).catch(() => void 0);
    return removed;
  }
  async mkdirs(dir) {
    await mkdir(dir, { recursive: true, mode: 448 }).catch((err) => {
      throw storageError(this.name, "create directory", dir, err);
    });
  }
};
async function fsyncDir(dir) {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
function storageError(target, action, path, err) {
  const reason = err.code === "ENOSPC" ? "no space left on device" : err.code === "EACCES" ? "permission denied" : err.code ?? err.message;
  return new OperationError(`target ${target}: cannot ${action} ${path}: ${reason}`, { cause: err });
}

// dist/targets/factory.js
function createTarget(name, config) {
  switch (config.type) {
    case "local":
      return new LocalTarget(name, config.path);
    case "s3":
      return new S3Target(name, config);
  }
}
var TargetRegistry = class {
  config;
  created = /* @__PURE__ */ new Map();
  constructor(config) {
    this.config = config;
  }
  get(name) {
    let target = this.created.get(name);
    if (!target) {
      const config = this.config.targets[name];
      if (!config)
        throw new OperationError(`unknown target "${name}"`);
      target = createTarget(name, config);
      this.created.set(name, target);
    }
    return target;
  }
};

// dist/app/context.js
function contextFor(config) {
  return { config, catalog: Catalog.open(config.state_dir), targets: new TargetRegistry(config), now: () => Date.now() };
}
function jobOf(ctx, name) {
  const job = ctx.config.jobs[name];
  if (!job) {
    const known = Object.keys(ctx.config.jobs).join(", ") || "none";
    throw new UsageError(`unknown job "${name}" (jobs: ${known})`);
  }
  return job;
}
function assertTarget(ctx, name) {
  if (!(name in ctx.config.targets))
    throw new UsageError(`unknown target "${name}" (targets: ${Object.keys(ctx.config.targets).join(", ")})`);
}

export {
  TargetRegistry,
  contextFor,
  jobOf,
  assertTarget
};
