import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigningKeys, signingKeyFiles, signManifestFile } from "../helpers/signing.js";
import { problems, Workspace } from "../helpers/workspace.js";

/**
 * Deletions and rollbacks on a target are seen: each job's signed head names its newest
 * backup and excuses only what drd itself pruned, with a sequence number that only grows.
 */
describe("the job's signed head", () => {
  const ws = new Workspace();
  const ids: string[] = [];
  const dirOf = (id: string) => join(ws.backupDir, "config", id);
  const head = () => join(ws.backupDir, "config", "head.json");
  const catalog = () => join(ws.stateDir, "catalog.sqlite");
  let savedCatalog: Buffer;

  beforeAll(async () => {
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
    ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    for (let i = 0; i < 4; i++) ids.push(JSON.parse((await ws.drctl(["backup", "config", "--json"])).stdout).id);
    savedCatalog = readFileSync(catalog());
  });
  afterAll(() => ws.remove());

  /** Runs `body` on a bare machine (no catalog) with the backup directories as they are, restoring both after. */
  async function bare(body: () => Promise<void>) {
    const saved = new Map(ids.map((id) => [id, existsSync(dirOf(id))]));
    const backupCopy = ws.path("backup-copy");
    cpSync(ws.backupDir, backupCopy, { recursive: true });
    rmSync(catalog());
    try {
      await body();
    } finally {
      rmSync(ws.backupDir, { recursive: true, force: true });
      cpSync(backupCopy, ws.backupDir, { recursive: true });
      rmSync(backupCopy, { recursive: true, force: true });
      writeFileSync(catalog(), savedCatalog);
      void saved;
    }
  }

  it("is written beside the backups, signed, naming the newest; a whole chain gives no warning", async () => {
    const wrapper = JSON.parse(readFileSync(head(), "utf8"));
    const h = JSON.parse(wrapper.text);
    expect(h).toMatchObject({ format: "drd-head/1", job: "config", target: "local", sequence: 4, newest: ids[3], absent: [] });
    expect(wrapper.signature).toMatch(/BEGIN PGP SIGNATURE/);
    await bare(async () => {
      const list = await ws.drctl(["list", "config", "--from", "local"]);
      expect(list.exitCode).toBe(0);
      expect(list.stderr).toBe("");
    });
  });

  it("the newest backup deleted: list --from says so, and a bare restore says so before it restores the one before", async () => {
    await bare(async () => {
      rmSync(dirOf(ids[3]!), { recursive: true });
      const list = await ws.drctl(["list", "config", "--from", "local"]);
      expect(list.stderr).toContain(`warning: config on local: the newest backup the job's signed head names, ${ids[3]}, is not there (deleted, or rolled back)`);
      const restore = await ws.drctl(["restore", "config", "--to-dir", ws.path("out-newest")]);
      expect(restore.exitCode).toBe(0);
      const lines = restore.stderr.split("\n");
      const warned = lines.findIndex((l) => l.includes(`names ${ids[3]} as the newest backup, which is not among the trusted backups there: it was deleted or damaged, and ${ids[2]} is restored instead`));
      expect(warned).toBeGreaterThanOrEqual(0);
      expect(warned).toBeLessThan(lines.findIndex((l) => l.includes("downloading")));
    });
  });

  it("a backup deleted from the middle, and the newest manifest truncated, are reported, never silently absent", async () => {
    await bare(async () => {
      rmSync(dirOf(ids[1]!), { recursive: true });
      truncateSync(join(dirOf(ids[3]!), "manifest.json"), 100);
      const list = await ws.drctl(["list", "config", "--from", "local"]);
      expect(list.stderr).toContain(`warning: config on local: backup ${ids[1]}, which ${ids[2]} names as the one before it, is not there and no prune removed it`);
      expect(list.stderr).toContain(`invalid: config/${ids[3]} on local: its manifest is invalid: it is not JSON`);
      // The head's newest is there, only unusable: reported once, as invalid.
      expect(list.stderr).not.toContain("is not there (deleted, or rolled back)");
    });
  });

  it("a head that is not what drd wrote (a symlink to an endless file, a file past its bound) is never read whole", async () => {
    await bare(async () => {
      rmSync(head());
      // A regular file to stat (size 0) and endless to read: not followed, so no head at all.
      symlinkSync("/proc/self/pagemap", head());
      const list = await ws.drctl(["list", "config", "--from", "local"]);
      expect(list.exitCode).toBe(0);
      expect(list.stderr).toContain("warning: job config has no signed head on local: deletions there cannot be seen until its next backup writes one");
      rmSync(head());
      writeFileSync(head(), Buffer.alloc(5 * 1024 * 1024, 0x20));
      const big = await ws.drctl(["list", "config", "--from", "local"]);
      expect(big.exitCode).toBe(0);
      expect(big.stderr).toContain("warning: the signed head of config on local is invalid: it is 5242880 bytes, more than the 4194304 allowed");
    });
  });

  it("a restore whose newest trusted backup is older than the RPO says so, with its age", async () => {
    await bare(async () => {
      const restore = await ws.drctl(["restore", "config", "--to-dir", ws.path("out-old")], { env: { DRD_TEST_CLOCK_OFFSET: "3h" } });
      expect(restore.exitCode).toBe(0);
      expect(problems(restore.stderr)).toMatch(new RegExp(`warning: the newest trusted backup of config on local, ${ids[3]}, is 3\\.0 h old, older than the job's RPO \\(60 min\\)`));
    });
  });

  it("a replayed older head is seen by its sequence number; verify reports it (exit 3)", async () => {
    const old = readFileSync(head());
    ids.push(JSON.parse((await ws.drctl(["backup", "config", "--json"])).stdout).id);
    savedCatalog = readFileSync(catalog());
    writeFileSync(head(), old);
    const verify = await ws.drctl(["verify", "--job", "config", "--target", "local", "--json"]);
    expect(verify.exitCode).toBe(3);
    const broken = (JSON.parse(verify.stdout) as { backup_id: string; state: string; problem: string }[]).filter((r) => r.state === "chain_broken").map((r) => r.problem);
    expect(broken).toContain("the head of config on local has sequence 4, older than the 5 this server last wrote: an older head replayed, or not rewritten since");
    expect(broken).toHaveLength(1);
  });

  it("what prune removed is excused: the chain's gaps after a prune are drd's own", async () => {
    // The next backup rewrites the head (and mends the replay above).
    ids.push(JSON.parse((await ws.drctl(["backup", "config", "--json"])).stdout).id);
    const config = ws.path("keep-two.yaml");
    writeFileSync(config, readFileSync(ws.configPath, "utf8").replace(`path: ${ws.backupDir}`, `path: ${ws.backupDir}\n    retention:\n      keep_last: 2`));
    expect((await ws.drctl(["prune", "--job", "config"], { config })).exitCode).toBe(0);
    savedCatalog = readFileSync(catalog());
    const h = JSON.parse(JSON.parse(readFileSync(head(), "utf8")).text);
    expect(h.absent).toEqual([ids[ids.length - 3]]);
    await bare(async () => {
      const list = await ws.drctl(["list", "config", "--from", "local"]);
      expect(list.stderr).toBe("");
      expect(list.stdout).toContain(ids[ids.length - 1]);
    });
  });
});

describe("trust per job, per target, and over time", () => {
  const ws = new Workspace();
  let newKeys = "";
  const ids: { old: string[]; fresh: string } = { old: [], fresh: "" };
  let rotation = 0;

  beforeAll(async () => {
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
    newKeys = await createSigningKeys();
    ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } });
    for (let i = 0; i < 2; i++) ids.old.push(JSON.parse((await ws.drctl(["backup", "config", "--json"])).stdout).id);
    await new Promise((r) => setTimeout(r, 1100));
    rotation = Date.now();
    await new Promise((r) => setTimeout(r, 1100));
    // The server's key is rotated: from now on it signs with the new one.
    ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } }, { signing: { key_file: join(newKeys, "signing-secret.asc") } });
    ids.fresh = JSON.parse((await ws.drctl(["backup", "config", "--json"])).stdout).id;
    rmSync(join(ws.stateDir, "catalog.sqlite"));
  });
  afterAll(() => {
    ws.remove();
    rmSync(newKeys, { recursive: true, force: true });
  });

  /** A restore host's config: the same job and target, the given trust, no signing key. */
  function host(trust: unknown[], extraTargets: Record<string, unknown> = {}): string {
    const path = ws.path(`host-${Math.random().toString(16).slice(2)}.yaml`);
    const text = readFileSync(ws.configPath, "utf8");
    writeFileSync(path, text);
    const configPath = ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } }, { signing: null, trust, targets: { local: { type: "local", path: ws.backupDir }, ...extraTargets } });
    writeFileSync(path, readFileSync(configPath));
    writeFileSync(ws.configPath, text);
    return path;
  }

  const states = async (config: string) =>
    Object.fromEntries((JSON.parse((await ws.drctl(["list", "config", "--from", "local", "--json"], { config })).stdout) as { id: string; state: string; untrusted_reason?: string }[]).map((b) => [b.id, b.state === "complete" ? "complete" : b.untrusted_reason]));

  it("an old key stays trusted for what it signed before it was retired, the new one from then on", async () => {
    const iso = new Date(rotation).toISOString();
    const config = host([
      { key: signingKeyFiles().public, until: iso },
      { key: join(newKeys, "signing-public.asc"), from: iso },
    ]);
    expect(await states(config)).toEqual({ [ids.old[0]!]: "complete", [ids.old[1]!]: "complete", [ids.fresh]: "complete" });
    const restore = await ws.drctl(["restore", "config", "--backup", ids.old[0]!, "--to-dir", ws.path("out-rotated")], { config });
    expect(restore.exitCode).toBe(0);
  });

  it("a manifest the retired key signed after it was retired is refused", async () => {
    const iso = new Date(rotation).toISOString();
    const id = `config-20991231T000000Z-0ld0`;
    const dir = join(ws.backupDir, "config", id);
    cpSync(join(ws.backupDir, "config", ids.old[1]!), dir, { recursive: true });
    try {
      const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
      Object.assign(m, { id, snapshot_at: new Date(rotation + 60_000).toISOString() });
      writeFileSync(join(dir, "manifest.json"), `${JSON.stringify(m, null, 2)}\n`);
      await signManifestFile(join(dir, "manifest.json"));
      const config = host([
        { key: signingKeyFiles().public, until: iso },
        { key: join(newKeys, "signing-public.asc"), from: iso },
      ]);
      expect((await states(config))[id]).toMatch(new RegExp(`^it is signed by key [0-9A-F]{40}, which is trusted here only for backups made before ${iso.replace(/\./g, "\\.")}, not for job config on local made at`));
      const restore = await ws.drctl(["restore", "config", "--backup", id, "--to-dir", ws.path("out-retired")], { config });
      expect(restore.exitCode).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a key trusted only for other jobs or other targets vouches for nothing here", async () => {
    const byJob = host([{ key: signingKeyFiles().public, jobs: ["other"] }, { key: join(newKeys, "signing-public.asc") }], {});
    // jobs: names a job the config does not have: refused as a config error.
    expect((await ws.drctl(["list", "config", "--from", "local"], { config: byJob })).exitCode).toBe(2);

    const byTarget = host([{ key: signingKeyFiles().public, targets: ["elsewhere"] }, { key: join(newKeys, "signing-public.asc") }], { elsewhere: { type: "local", path: ws.path("elsewhere") } });
    const s = await states(byTarget);
    expect(s[ids.fresh]).toBe("complete");
    expect(s[ids.old[0]!]).toMatch(/which is trusted here only for targets elsewhere, not for job config on local/);
  });
});

describe("a replayed head on a bare machine", () => {
  const ws = new Workspace();
  afterAll(() => ws.remove());

  it("is seen by the newer head on the job's other target", async () => {
    mkdirSync(ws.path("src"), { recursive: true });
    writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
    ws.withJobs(
      { config: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local", "second"] } },
      { targets: { local: { type: "local", path: ws.backupDir }, second: { type: "local", path: ws.path("second"), media: "disk" } } },
    );
    expect((await ws.drctl(["backup", "config"])).exitCode).toBe(0);
    const old = readFileSync(ws.path("second", "config", "head.json"));
    expect((await ws.drctl(["backup", "config"])).exitCode).toBe(0);
    writeFileSync(ws.path("second", "config", "head.json"), old);
    rmSync(join(ws.stateDir, "catalog.sqlite"));
    const list = await ws.drctl(["list", "config", "--from", "second"]);
    expect(list.stderr).toContain("warning: the head of config on second has sequence 1, older than the 2 on local: an older head replayed, or not rewritten since");
    expect((await ws.drctl(["list", "config", "--from", "local"])).stderr).toBe("");
  });
});
