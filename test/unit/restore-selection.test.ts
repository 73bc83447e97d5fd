import { describe, expect, it } from "vitest";
import { defaultStrip, mapEntry, mappedEntries, resolveMapping } from "../../src/app/restore/selection.js";
import type { FilesDetails } from "../../src/manifest.js";

const parts = (p: string) => p.split("/").filter(Boolean);

describe("which entries a files restore writes, and where", () => {
  it.each([
    [["etc/sysmanage", "etc/sysmanage/app.conf", "etc/sysmanage/conf.d/x"], "etc"],
    [["etc/hostname"], "etc"],
    [["etc/sysmanage", "etc/sysmanage/a", "var/lib/sysmanage", "var/lib/sysmanage/b"], ""],
    [["etc/ssl/sysmanage/a", "etc/ssl/other/b"], "etc/ssl"],
    [["./", "etc/x"], ""],
    [[], ""],
  ])("the default prefix of %j is /%s", (entries, expected) => {
    expect(defaultStrip(entries).join("/")).toBe(expected);
  });

  it.each([
    // entry, select, strip, result
    ["etc/sysmanage/app.conf", [], "etc", "sysmanage/app.conf"],
    ["etc/sysmanage", [], "etc", "sysmanage"],
    ["etc", [], "etc", "skip"],
    ["var/lib/x", [], "etc", "outside"],
    ["etc/sysmanage/app.conf", ["etc/sysmanage/app.conf"], "etc", "sysmanage/app.conf"],
    ["etc/sysmanage/other.conf", ["etc/sysmanage/app.conf"], "etc", "skip"],
    ["etc/sysmanage/app.conf.bak", ["etc/sysmanage/app.conf"], "etc", "skip"],
    ["etc/sysmanage/conf.d/a", ["etc/sysmanage/conf.d"], "", "etc/sysmanage/conf.d/a"],
    ["etc/sysmanage", ["etc"], "etc/sysmanage", "skip"],
    ["", [], "", ""],
  ])("%s with --path %j and prefix /%s: %s", (entry, select, strip, expected) => {
    const mapped = mapEntry(parts(entry), { select: select.map(parts), strip: parts(strip) });
    expect(Array.isArray(mapped) ? mapped.join("/") : mapped).toBe(expected);
  });

  const files: FilesDetails = {
    paths: ["/etc/sysmanage"],
    entry_count: 3,
    entries: [
      { path: "etc/sysmanage", type: "directory", mode: 0o755, size: 0 },
      { path: "etc/sysmanage/app.conf", type: "file", mode: 0o640, size: 3, sha256: "x" },
      { path: "etc/sysmanage/conf.d", type: "directory", mode: 0o755, size: 0 },
    ],
    skipped: [],
  };

  it("resolves the flags against the manifest: defaults, --path, --full-paths, and the entries as restored", () => {
    expect(resolveMapping(files, {})).toEqual({ select: [], strip: ["etc"] });
    expect(resolveMapping(files, { fullPaths: true })).toEqual({ select: [], strip: [] });
    const one = resolveMapping(files, { paths: ["/etc/sysmanage/app.conf"] });
    expect(mappedEntries(files.entries, one).map((e) => e.path)).toEqual(["sysmanage/app.conf"]);
    expect(mappedEntries(files.entries, resolveMapping(files, { stripPrefix: "/etc/sysmanage" })).map((e) => e.path)).toEqual(["app.conf", "conf.d"]);
    expect(() => resolveMapping(files, { paths: ["/etc/other"] })).toThrow("--path /etc/other matches nothing in this backup (it holds /etc/sysmanage)");
    expect(() => resolveMapping(files, { stripPrefix: "/etc/sysmanage/conf.d" })).toThrow("--strip-prefix /etc/sysmanage/conf.d would leave out /etc/sysmanage/app.conf");
  });
});
