import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { GpgHome } from "../helpers/gpg.js";
import { freshDatabase, psql } from "../helpers/postgres-cluster.js";
import { createBucket, s3TargetConfig } from "../helpers/s3.js";
import { signingKeyFiles } from "../helpers/signing.js";
import { pgUrl, REPO, Workspace } from "../helpers/workspace.js";

const NOBODY = 65534;

describe("drctl config check checks what the config names", () => {
  const ws = new Workspace();
  let gpg: GpgHome;
  let other: GpgHome;
  beforeAll(async () => {
    [gpg, other] = await Promise.all([GpgHome.create(), GpgHome.create()]);
    await gpg.exportPublic(ws.path("public.asc"));
    await gpg.exportSecret(ws.path("secret.asc"));
    await other.exportSecret(ws.path("other-secret.asc"));
    chmodSync(ws.path("secret.asc"), 0o600);
    chmodSync(ws.path("other-secret.asc"), 0o600);
    writeFileSync(ws.path("garbage.asc"), "not a key\n");
    mkdirSync(ws.path("src"));
    writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
  });
  afterAll(async () => {
    await Promise.all([gpg?.remove(), other?.remove()]);
    ws.remove();
  });

  it("a config whose schema is valid but whose files are wrong: every problem on its own line with its path, exit 2", async () => {
    writeFileSync(ws.path("pg-password"), "secret\n", { mode: 0o644 });
    chmodSync(ws.path("pg-password"), 0o644);
    writeFileSync(ws.path("ok-password"), "secret\n", { mode: 0o640 });
    ws.withJobs({
      db: {
        type: "postgres",
        connection: pgUrl("app"),
        password_file: ws.path("pg-password"),
        schedule: "0 * * * *",
        rpo: "1h",
        targets: ["local"],
        encrypt: { recipients: [ws.path("public.asc")] },
        drill: { key_file: ws.path("other-secret.asc") },
      },
      files: {
        type: "files",
        paths: [ws.path("src"), ws.path("missing")],
        schedule: "0 * * * *",
        rpo: "1h",
        targets: ["local"],
        encrypt: { recipients: [ws.path("secret.asc"), ws.path("garbage.asc"), signingKeyFiles().public] },
      },
      other: { type: "postgres", connection: pgUrl("app"), password_file: ws.path("ok-password"), schedule: "0 * * * *", rpo: "1h", targets: ["local"] },
    });
    const run = await ws.drctl(["config", "check"]);
    expect(run.exitCode).toBe(2);
    const lines = run.stderr.split("\n");
    expect(lines).toEqual([
      `jobs.db.password_file: ${ws.path("pg-password")} is mode 0644: it holds a secret others can read (chmod 0600 ${ws.path("pg-password")}, or 0640 for a group that needs it)`,
      expect.stringMatching(new RegExp(`^jobs\\.db\\.drill\\.key_file: the key in ${ws.path("other-secret.asc")} \\([0-9A-F]{40}\\) cannot decrypt this job's backups: they are encrypted to ${gpg.fingerprint}$`)),
      `jobs.files.paths[1]: cannot read ${ws.path("missing")}: ENOENT`,
      `jobs.files.encrypt.recipients[0]: ${ws.path("secret.asc")} holds a private key; give the public key only (gpg --export), and keep the private key off this server`,
      expect.stringMatching(new RegExp(`^jobs\\.files\\.encrypt\\.recipients\\[1\\]: ${ws.path("garbage.asc")} holds no public key that can encrypt: `)),
      expect.stringMatching(new RegExp(`^jobs\\.files\\.encrypt\\.recipients\\[2\\]: ${signingKeyFiles().public} holds no public key that can encrypt: Could not find valid encryption key packet`)),
      expect.stringMatching(/^state_dir: warning: checked as root, which can read everything/),
    ]);
    // The same, as JSON: each problem with its path.
    const asJson = JSON.parse((await ws.drctl(["config", "check", "--json"])).stdout);
    expect(asJson.ok).toBe(false);
    expect(asJson.problems[0]).toEqual({ path: "jobs.db.password_file", message: expect.stringContaining("is mode 0644") });
    expect(asJson.problems).toHaveLength(6);
  });

  it("a private key drd cannot read is one problem, not one per check", async () => {
    ws.withJobs({ files: { type: "files", paths: [ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } }, { signing: { key_file: ws.path("nonexistent-signing.asc") } });
    const run = await ws.drctl(["config", "check", "--json"]);
    expect(run.exitCode).toBe(2);
    expect(JSON.parse(run.stdout).problems).toEqual([{ path: "signing.key_file", message: `cannot read ${ws.path("nonexistent-signing.asc")}: ENOENT` }]);
  });

  it("run by root, judges access as the state dir's owner: a source only root can read, a target directory only root can write", async () => {
    mkdirSync(ws.path("state-nobody"), { mode: 0o700 });
    chownSync(ws.path("state-nobody"), NOBODY, NOBODY);
    // Directories above must be enterable by nobody for the state dir itself to be usable.
    chmodSync(ws.dir, 0o755);
    chmodSync(ws.path("src"), 0o755);
    chmodSync(ws.path("src", "app.conf"), 0o644);
    mkdirSync(ws.path("root-only"));
    chmodSync(ws.path("root-only"), 0o755);
    writeFileSync(ws.path("root-only", "secret.conf"), "x\n", { mode: 0o600 });
    ws.writeConfig({
      state_dir: ws.path("state-nobody"),
      targets: { local: { type: "local", path: ws.path("root-only", "backups") } },
      policy: { copies: 1, media: 1, offsite: 0 },
      jobs: { files: { type: "files", paths: [ws.path("root-only", "secret.conf"), ws.path("src")], schedule: "0 * * * *", rpo: "1h", targets: ["local"] } },
      signing: null,
    });
    const run = await ws.drctl(["--allow-root", "config", "check"]);
    expect(run.stderr.split("\n")).toEqual([
      `jobs.files.paths[0]: cannot read ${ws.path("root-only", "secret.conf")}: EACCES`,
      `targets.local.path: cannot create ${ws.path("root-only", "backups")}: ${ws.path("root-only")} is not writable (EACCES)`,
    ]);
    expect(run.exitCode).toBe(2);
    // Once nobody may write there and read the file, the check passes, naming whom it checked for.
    chownSync(ws.path("root-only"), NOBODY, NOBODY);
    chownSync(ws.path("root-only", "secret.conf"), NOBODY, NOBODY);
    const ok = await ws.drctl(["--allow-root", "config", "check"]);
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toBe(`${ws.configPath}: ok (1 job, 1 target; checked as nobody)`);
    expect(ok.exitCode).toBe(0);
  });

  it("walks each source tree as the daemon's user: files deep inside that it cannot read are named, as the backup would fail on them", async () => {
    const tree = ws.path("tree");
    mkdirSync(join(tree, "a", "b"), { recursive: true, mode: 0o755 });
    chmodSync(tree, 0o755);
    writeFileSync(join(tree, "a", "ok.conf"), "x\n", { mode: 0o644 });
    writeFileSync(join(tree, "a", "b", "key.pem"), "x\n", { mode: 0o600 });
    mkdirSync(join(tree, "private"), { mode: 0o700 });
    const job = { type: "files", paths: [tree], schedule: "0 * * * *", rpo: "1h", targets: ["local"] };
    const config = (extra: Record<string, unknown>) =>
      ws.writeConfig({
        state_dir: ws.path("state-nobody"),
        targets: { local: { type: "local", path: ws.path("root-only", "backups") } },
        policy: { copies: 1, media: 1, offsite: 0 },
        jobs: { files: { ...job, ...extra } },
        signing: null,
      });
    config({});
    const run = await ws.drctl(["--allow-root", "config", "check"]);
    expect([run.exitCode, run.stderr]).toEqual([
      2,
      `jobs.files.paths: 2 path(s) below cannot be read by nobody, and the backup would fail: ${join(tree, "a", "b", "key.pem")}, ${join(tree, "private")} (give nobody read access, e.g. through a group, exclude them, or set skip_unreadable: true)`,
    ]);
    // The same two stop the backup itself, run as that user.
    const backup = await execa("runuser", ["-u", "nobody", "--", join(REPO, "bin", "drctl.js"), "--config", ws.configPath, "backup", "files"], { reject: false });
    expect(backup.exitCode).toBe(1);
    expect(backup.stderr).toContain(`cannot read 2 path(s): ${join(tree, "a", "b", "key.pem")}, ${join(tree, "private")}`);

    // Excluded, they are not the backup's: the check passes.
    config({ exclude: ["*.pem", "private"] });
    const excluded = await ws.drctl(["--allow-root", "config", "check"]);
    expect([excluded.exitCode, excluded.stderr]).toEqual([0, ""]);
    // With skip_unreadable they are a warning.
    config({ skip_unreadable: true });
    const skipped = await ws.drctl(["--allow-root", "config", "check"]);
    expect(skipped.exitCode).toBe(0);
    expect(skipped.stderr).toBe(`jobs.files.paths: warning: 2 path(s) below cannot be read by nobody and will be skipped (skip_unreadable): ${join(tree, "a", "b", "key.pem")}, ${join(tree, "private")}`);
    // Many: the first five are named, and the count says it stopped looking.
    for (let i = 0; i < 9; i++) writeFileSync(join(tree, `z${i}.key`), "x\n", { mode: 0o600 });
    config({});
    const many = await ws.drctl(["--allow-root", "config", "check"]);
    expect(many.stderr).toMatch(/^jobs\.files\.paths: at least 6 path\(s\) below cannot be read by nobody, and the backup would fail: (\S+, ){4}\S+ \(give/);
  });

  it("--online reaches PostgreSQL (version, privileges, superuser for globals, CREATEDB for drills) and S3 (a probe written, read, deleted)", async () => {
    await freshDatabase({ url: pgUrl }, "checked", "CREATE TABLE open_t (id int); CREATE TABLE closed_t (id int); CREATE SEQUENCE s;");
    await psql({ url: pgUrl }, "postgres", "DROP ROLE IF EXISTS drd_reader; CREATE ROLE drd_reader LOGIN");
    await psql({ url: pgUrl }, "checked", "GRANT SELECT ON open_t TO drd_reader");
    const port = inject("s3Port");
    const bucket = await createBucket(port, "check");
    ws.writeConfig({
      state_dir: ws.stateDir,
      targets: {
        local: { type: "local", path: ws.backupDir },
        offsite: s3TargetConfig(ws.dir, port, bucket),
        nowhere: s3TargetConfig(ws.dir, port, "drd-no-such-bucket"),
      },
      policy: { copies: 1, media: 1, offsite: 0 },
      jobs: {
        good: { type: "postgres", connection: pgUrl("checked"), schedule: "0 * * * *", rpo: "1h", targets: ["local"] },
        limited: {
          type: "postgres",
          connection: pgUrl("checked", "drd_reader"),
          schedule: "0 * * * *",
          rpo: "1h",
          targets: ["local"],
          drill: { connection: pgUrl("postgres", "drd_reader") },
        },
      },
    });
    const run = await ws.drctl(["config", "check", "--online"]);
    expect(run.exitCode).toBe(2);
    expect(run.stdout.split("\n")).toEqual([
      expect.stringMatching(/^jobs\.good\.connection: ok: PostgreSQL 15\.\d+ as postgres; 1 database\(s\), 3 table\(s\) and sequence\(s\); pg_dump 15\.\d+$/),
      expect.stringMatching(new RegExp(`^targets\\.offsite: ok: wrote, read back and deleted s3://${bucket}/drd/\\.drd-probe/\\.\\.\\.; versioning never enabled$`)),
    ]);
    expect(run.stderr.split("\n")).toEqual([
      "jobs.limited.globals: pg_dumpall --globals-only reads every role and needs a superuser; drd_reader is not one (grant it, or set globals: false)",
      "jobs.limited.connection: drd_reader cannot read 2 table(s) of database checked, so pg_dump would fail: public.closed_t, public.s (GRANT SELECT, or pg_read_all_data)",
      "jobs.limited.connection: restoring database checked as drd_reader could not give objects to their owners postgres (drd_reader is not a member): a restore needs --no-owner (everything owned by drd_reader), or GRANT postgres TO drd_reader",
      "jobs.limited.drill.connection: drd_reader cannot create the scratch database a drill restores into (ALTER ROLE drd_reader CREATEDB)",
      expect.stringMatching(/^targets\.nowhere: target nowhere: cannot upload s3:\/\/drd-no-such-bucket\/drd\/\.drd-probe\/\S+: NoSuchBucket/),
      expect.stringMatching(/^state_dir: warning: checked as root/),
    ]);
    // Nothing is left in the bucket.
    const listed = await ws.drctl(["list", "--from", "offsite"]);
    expect(listed.stdout).not.toContain("drd-probe");
  });
});

describe("drctl init and a first run without a config", () => {
  const ws = new Workspace();
  afterAll(() => ws.remove());

  it("writes a starting config that checks clean, its keys with their modes, warns to move the private key away, and never overwrites", async () => {
    const dir = ws.path("etc-drd");
    const run = await ws.drctl(["init", "--dir", dir, "--state-dir", ws.stateDir, "--backup-dir", ws.backupDir], { config: join(dir, "drd.yaml") });
    expect(run.exitCode).toBe(0);
    expect(run.stdout.split("\n")[0]).toBe(`wrote ${dir}/drd.yaml: one files job (/etc, hourly, encrypted, signed) to ${ws.backupDir}`);
    // Run as root: the files are root's, and init says how to hand them to the daemon's user.
    expect(run.stdout).toContain(
      [
        "  2. drd runs as an unprivileged user and refuses root; these files are root's. For the user drd",
        "     (scripts/install.sh creates it; or: useradd --system --user-group drd), run these",
        "     (or move these files away and run init again with --user drd to have it done):",
        `       chgrp drd ${dir} ${dir}/drd.yaml && chmod 0750 ${dir}`,
        `       chown drd:drd ${dir}/keys ${dir}/keys/signing-secret.asc ${dir}/keys/signing-public.asc ${dir}/keys/backup-public.asc`,
        `       install -d -m 0700 -o drd -g drd ${ws.stateDir} ${ws.backupDir}`,
      ].join("\n"),
    );
    expect(run.stdout).toContain(`  4. runuser -u drd -- drctl --config ${dir}/drd.yaml config check --online`);
    expect(run.stderr).toBe(
      `drctl: warning: move ${dir}/keys/backup-secret.asc off this server now: whoever holds it reads every backup, and a server that holds it protects nothing. Keep it with your recovery papers and on the hosts that restore or drill (--key FILE, drill.key_file).`,
    );
    const mode = (p: string) => (statSync(join(dir, p)).mode & 0o777).toString(8);
    expect(["drd.yaml", "keys", "keys/backup-public.asc", "keys/backup-secret.asc", "keys/signing-secret.asc", "keys/signing-public.asc"].map(mode)).toEqual(["640", "700", "644", "600", "600", "644"]);

    const check = await ws.drctl(["config", "check"], { config: join(dir, "drd.yaml") });
    expect(check.exitCode).toBe(0);
    expect(check.stdout).toBe(`${dir}/drd.yaml: ok (1 job, 1 target; checked as root)`);

    // The generated key pair works with stock GnuPG: a backup made with the config decrypts with gpg.
    const config = readFileSync(join(dir, "drd.yaml"), "utf8").replace("paths: [/etc]", `paths: [${dir}/keys/backup-public.asc]`);
    writeFileSync(join(dir, "drd.yaml"), config);
    const backup = await ws.drctl(["backup", "config", "--json"], { config: join(dir, "drd.yaml") });
    expect(backup.exitCode).toBe(0);
    const gpg = await GpgHome.create();
    try {
      await gpg.gpg(["--import", join(dir, "keys/backup-secret.asc")]);
      const id = JSON.parse(backup.stdout).id as string;
      const plain = await gpg.gpg(["--decrypt", join(ws.backupDir, "config", id, "files.tar.zst.gpg")]);
      expect(Buffer.from(plain.stdout.subarray(0, 4)).toString("hex")).toBe("28b52ffd"); // a zstd frame
    } finally {
      await gpg.remove();
    }

    const again = await ws.drctl(["init", "--dir", dir, "--state-dir", ws.stateDir, "--backup-dir", ws.backupDir]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toBe(`drctl: ${dir}/drd.yaml exists: drctl init never replaces a file (move it away, or edit the config you have)`);
  });

  it("init --user (as root) hands the daemon's user what it needs: that user's config check passes and its status reads the state dir", async () => {
    const root = ws.path("as-user");
    chmodSync(ws.dir, 0o755);
    const dir = join(root, "etc", "drd");
    const [state, backups] = [join(root, "var", "lib", "drd"), join(root, "var", "backups", "drd")];
    const run = await ws.drctl(["init", "--dir", dir, "--state-dir", state, "--backup-dir", backups, "--user", "nobody"], { config: join(dir, "drd.yaml") });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain(`gave nobody the keys, ${state} and ${backups} (0700), and read access to the config (root:nogroup 0640)`);
    expect(run.stdout).toContain(`  3. runuser -u nobody -- drctl --config ${dir}/drd.yaml config check --online`);
    const owned = (p: string) => {
      const st = statSync(p);
      return `${st.uid === 0 ? "root" : st.uid === 65534 ? "nobody" : st.uid}:${st.gid === 0 ? "root" : st.gid} ${(st.mode & 0o777).toString(8)}`;
    };
    const nogroup = statSync(join(dir, "keys")).gid;
    expect([dir, join(dir, "drd.yaml"), join(dir, "keys"), join(dir, "keys", "signing-secret.asc"), join(dir, "keys", "backup-secret.asc"), state, backups, join(root, "var", "lib")].map(owned)).toEqual([
      `root:${nogroup} 750`,
      `root:${nogroup} 640`,
      `nobody:${nogroup} 700`,
      `nobody:${nogroup} 600`,
      // The key that decrypts every backup is not the daemon's to read: root's until it leaves the server.
      "root:root 600",
      `nobody:${nogroup} 700`,
      `nobody:${nogroup} 700`,
      "root:root 755",
    ]);
    const config = join(dir, "drd.yaml");
    const check = await execa("runuser", ["-u", "nobody", "--", join(REPO, "bin", "drctl.js"), "--config", config, "config", "check"], { reject: false });
    expect([check.exitCode, check.stdout]).toEqual([0, `${config}: ok (1 job, 1 target; checked as nobody)`]);
    const status = await execa("runuser", ["-u", "nobody", "--", join(REPO, "bin", "drctl.js"), "--config", config, "status", "--json"], { reject: false });
    expect([status.exitCode, status.stderr]).toEqual([0, ""]);
  });

  it("init --user as a user other than root, or naming no such user, is a usage error", async () => {
    const r = await ws.drctl(["init", "--dir", ws.path("nouser"), "--user", "no-such-user-here"]);
    expect([r.exitCode, r.stderr]).toEqual([2, "drctl: --user no-such-user-here: no such user (scripts/install.sh creates drd; or: useradd --system --user-group no-such-user-here)"]);
    const asNobody = await execa("runuser", ["-u", "nobody", "--", join(REPO, "bin", "drctl.js"), "init", "--dir", "/tmp/never-made", "--user", "nobody"], { reject: false });
    expect([asNobody.exitCode, asNobody.stderr]).toEqual([2, "drctl: --user nobody: only root can hand files to another user; run init as that user instead, or as root"]);
  });

  it("every command's help lists --config", async () => {
    for (const command of [["backup"], ["restore"], ["list"], ["status"], ["config", "check"], ["drill"]]) {
      const help = await ws.drctl([...command, "--help"], { config: "/nonexistent" });
      expect(help.stdout, command.join(" ")).toMatch(/--config <path>\s+config file \(default: \$DRD_CONFIG, then\s+\/etc\/drd\/drd\.yaml\)/);
    }
  });
});
