import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);

// dist/audit/trail.js
import { createHash } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, readSync, fstatSync, writeSync } from "node:fs";
import { userInfo } from "node:os";
var GENESIS = "0".repeat(64);
var via = "command";
function actingAsDaemon() {
  via = "daemon";
}
function currentActor() {
  let user = null;
  try {
    user = userInfo().username;
  } catch {
    user = null;
  }
  return { uid: process.getuid?.() ?? null, user, sudo_user: process.env.SUDO_USER ?? null, via };
}
var sha256 = (text) => createHash("sha256").update(text).digest("hex");
function lastLine(fd) {
  const size = fstatSync(fd).size;
  if (size === 0)
    return void 0;
  for (let span = 4096; ; span *= 4) {
    const start = Math.max(0, size - span);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    const text = buf.toString("utf8").replace(/\n$/, "");
    const nl = text.lastIndexOf("\n");
    if (nl >= 0 || start === 0)
      return text.slice(nl + 1);
  }
}
function appendAudit(path, entry, at, actor = currentActor()) {
  const fd = openSync(path, "a+", 384);
  try {
    const before = lastLine(fd);
    const line = JSON.stringify({ time: new Date(at).toISOString(), ...entry, actor, prev: before === void 0 ? GENESIS : sha256(before) });
    writeSync(fd, `${line}
`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
function verifyAudit(path) {
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (err.code === "ENOENT")
      return { ok: true, lines: 0 };
    throw err;
  }
  if (text && !text.endsWith("\n"))
    return { ok: false, line: text.split("\n").length, problem: "the last line is cut short" };
  const lines = text.split("\n").slice(0, -1);
  let prev = GENESIS;
  for (const [i, line] of lines.entries()) {
    let parsed;
    try {
      parsed = JSON.parse(line);
    } catch {
      return { ok: false, line: i + 1, problem: "not a JSON object" };
    }
    if (parsed.prev !== prev)
      return { ok: false, line: i + 1, problem: i === 0 ? "the first line does not start the chain (lines before it were removed)" : "it does not carry the sha256 of the line before it (that line was edited or removed)" };
    prev = sha256(line);
  }
  return { ok: true, lines: lines.length };
}

export {
  GENESIS,
  actingAsDaemon,
  currentActor,
  appendAudit,
  verifyAudit
};
