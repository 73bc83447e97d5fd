import { describe, expect, it } from "vitest";
import { archiveCommandMatches, parseKeepSize, setupChecks } from "../../src/app/wal-setup.js";

type Facts = Parameters<typeof setupChecks>[0];
const stock: Facts = {
  role: "drd",
  replication: true,
  superuser: false,
  walLevel: "replica",
  maxWalSenders: 10,
  maxSlots: 10,
  keepSize: "-1",
  keepSizeMb: -1,
  slot: { restartLsn: "0/3000000", walStatus: "reserved" },
  pending: {},
  archive: { mode: "off", command: "", timeoutS: 0, failing: null },
};
const allowed = { ok: true } as const;
const byCheck = (facts: Facts, wants = {}, replication: Parameters<typeof setupChecks>[2] = allowed) =>
  Object.fromEntries(setupChecks(facts, "drd_slot", replication, wants).map((c) => [c.check.replace("drd_slot", "SLOT"), c]));

describe("wal setup: what a cluster job needs, and what --apply does about it", () => {
  it("a server that has it all needs nothing and applies nothing (the bound on a slot is advice until one is given)", () => {
    const checks = byCheck(stock);
    expect(Object.values(checks).filter((c) => !c.ok).map((c) => [c.check, c.required, c.apply])).toEqual([["a slot cannot fill the disk", false, null]]);
  });

  it.each([
    ["a role without REPLICATION: ALTER ROLE", { replication: false }, "the role may stream WAL", { kind: "sql", statements: ["ALTER ROLE drd REPLICATION"] }, false],
    ["a role whose name needs quoting", { replication: false, role: "Drd Backup" }, "the role may stream WAL", { kind: "sql", statements: ['ALTER ROLE "Drd Backup" REPLICATION'] }, false],
    ["wal_level minimal: ALTER SYSTEM, with a restart", { walLevel: "minimal", maxWalSenders: 0 }, "wal_level is replica or logical", { kind: "sql", statements: ["ALTER SYSTEM SET wal_level = 'replica'"] }, true],
    ["no senders: ALTER SYSTEM, with a restart", { maxWalSenders: 0 }, "WAL senders and replication slots are allowed", { kind: "sql", statements: ["ALTER SYSTEM SET max_wal_senders = '10'"] }, true],
    ["no slots either", { maxWalSenders: 1, maxSlots: 0 }, "WAL senders and replication slots are allowed", { kind: "sql", statements: ["ALTER SYSTEM SET max_wal_senders = '10'", "ALTER SYSTEM SET max_replication_slots = '10'"] }, true],
    ["no slot yet: made as the daemon makes it", { slot: undefined }, "the slot SLOT", { kind: "slot" }, false],
  ] as const)("%s", (_name, change, check, apply, restart) => {
    const c = byCheck({ ...stock, ...change })[check]!;
    expect([c.ok, c.apply, c.restart]).toEqual([false, apply, restart]);
  });

  it("wal_level set and waiting for the restart: not set again, the fix is the restart, still required (exit 1)", () => {
    const c = byCheck({ ...stock, walLevel: "minimal", maxWalSenders: 0, pending: { wal_level: "replica", max_wal_senders: "10" } });
    expect(c["wal_level is replica or logical"]).toMatchObject({ ok: false, required: true, restart: true, apply: null, detail: "wal_level = minimal; replica is set and waits for a restart" });
    expect(c["wal_level is replica or logical"]!.fix).toMatch(/^restart PostgreSQL/);
    expect(c["WAL senders and replication slots are allowed"]).toMatchObject({ ok: false, apply: null, detail: expect.stringContaining("wait for a restart") });
  });

  it("a value waiting for a restart that still falls short is set again", () => {
    const c = byCheck({ ...stock, walLevel: "minimal", pending: { wal_level: "minimal" } })["wal_level is replica or logical"]!;
    expect(c.apply).toEqual({ kind: "sql", statements: ["ALTER SYSTEM SET wal_level = 'replica'"] });
  });

  it("the slot waits for wal_level and max_replication_slots: the server refuses one before", () => {
    for (const change of [{ walLevel: "minimal" }, { maxSlots: 0 }]) {
      const c = byCheck({ ...stock, slot: undefined, ...change })["the slot SLOT"]!;
      expect([c.ok, c.apply, c.required]).toEqual([false, null, false]);
      expect(c.detail).toContain("after the restart");
    }
  });

  it("a slot that lost WAL is required and left to the operator (dropping it throws away what it holds)", () => {
    const c = byCheck({ ...stock, slot: { restartLsn: null, walStatus: "lost" } })["the slot SLOT"]!;
    expect([c.ok, c.required, c.apply]).toEqual([false, true, null]);
  });

  it("pg_hba.conf is never applied: its line is the operator's step", () => {
    const c = byCheck(stock, {}, { ok: false, reason: 'FATAL:  no pg_hba.conf entry for replication connection from host "10.0.0.5", user "drd"' })["pg_hba.conf allows the replication connection"]!;
    expect([c.ok, c.required, c.apply]).toEqual([false, true, null]);
    expect(c.fix).toMatch(/^host replication drd /);
  });

  it.each([
    ["no bound and none asked: advice, nothing applied", -1, undefined, false, null],
    ["no bound, 10 GB asked: set, with a reload", -1, 10240, false, { kind: "sql", statements: ["ALTER SYSTEM SET max_slot_wal_keep_size = '10240MB'"] }],
    ["a bound and none asked: ok", 2048, undefined, true, null],
    ["the bound asked: ok, nothing to do again", 10240, 10240, true, null],
    ["another bound than asked: set to the one asked", 2048, 10240, false, { kind: "sql", statements: ["ALTER SYSTEM SET max_slot_wal_keep_size = '10240MB'"] }],
  ] as const)("max_slot_wal_keep_size: %s", (_name, current, wanted, ok, apply) => {
    const c = byCheck({ ...stock, keepSizeMb: current, keepSize: current === -1 ? "-1" : `${current}MB` }, { maxSlotWalKeepSizeMb: wanted })["a slot cannot fill the disk"]!;
    expect([c.ok, c.apply, c.required, c.restart]).toEqual([ok, apply, false, false]);
  });

  it.each([
    ["10GB", 10240],
    ["512MB", 512],
    ["1TB", 1048576],
  ])("--max-slot-wal-keep-size %s is %d MB", (text, mb) => expect(parseKeepSize(text)).toBe(mb));
  it.each(["10", "0GB", "ten GB", "10gb", "-1"])("--max-slot-wal-keep-size %s is refused", (text) => expect(() => parseKeepSize(text)).toThrow(/give a size such as 10GB/));
});

describe("wal setup in archive mode", () => {
  const command = "drctl wal push main %p --socket /run/drd/wal/main.sock";
  const archiving: Facts = { ...stock, slot: undefined, archive: { mode: "on", command, timeoutS: 60, failing: null } };
  const inArchive = (facts: Facts) => Object.fromEntries(setupChecks(facts, "drd_slot", allowed, { archiveCommand: command }).map((c) => [c.check.replace("drd_slot", "SLOT"), c]));

  it("a server archiving to drd needs nothing; the stream's slot checks are not asked", () => {
    const checks = inArchive(archiving);
    expect(Object.values(checks).filter((c) => !c.ok)).toEqual([]);
    expect(Object.keys(checks)).not.toContain("the slot SLOT");
    expect(Object.keys(checks)).not.toContain("a slot cannot fill the disk");
  });

  it.each([
    ["archive_mode off: set, with a restart", { archive: { ...archiving.archive, mode: "off" } }, "archive_mode is on", { kind: "sql", statements: ["ALTER SYSTEM SET archive_mode = 'on'"] }, true, true],
    ["another archive_command: replaced", { archive: { ...archiving.archive, command: "cp %p /mnt/archive/%f" } }, "archive_command hands each WAL file to drd", { kind: "sql", statements: [`ALTER SYSTEM SET archive_command = '${command}'`] }, false, true],
    ["drd's, for another job", { archive: { ...archiving.archive, command: "drctl wal push other %p" } }, "archive_command hands each WAL file to drd", { kind: "sql", statements: [`ALTER SYSTEM SET archive_command = '${command}'`] }, false, true],
    ["unreadable: nothing applied blind", { archive: { ...archiving.archive, command: null } }, "archive_command hands each WAL file to drd", null, false, true],
    ["archiving failing now: said, nothing to apply", { archive: { ...archiving.archive, failing: { wal: "000000010000000000000007", at: "2026-12-06 10:00:00+00" } } }, "the server's archiving works", null, false, true],
    ["a slot left from stream mode: dropped", { slot: { restartLsn: "0/3000000", walStatus: "reserved" } }, "no slot SLOT left from stream mode", { kind: "sql", statements: ["SELECT pg_drop_replication_slot('drd_slot')"] }, false, false],
    ["no archive_timeout: advice only", { archive: { ...archiving.archive, timeoutS: 0 } }, "a quiet server's writes are archived within a bound", null, false, false],
    ["no WAL sender for base backups", { maxWalSenders: 0 }, "a WAL sender for base backups", { kind: "sql", statements: ["ALTER SYSTEM SET max_wal_senders = '10'"] }, true, true],
  ] as const)("%s", (_name, change, check, apply, restart, required) => {
    const c = inArchive({ ...archiving, ...change } as Facts)[check]!;
    expect([c.ok, c.apply, c.restart, c.required]).toEqual([false, apply, restart, required]);
  });

  it("archive_mode set and waiting for the restart is not set again", () => {
    const c = inArchive({ ...archiving, archive: { ...archiving.archive, mode: "off" }, pending: { archive_mode: "on" } })["archive_mode is on"]!;
    expect([c.ok, c.apply, c.fix]).toEqual([false, null, "restart PostgreSQL  -- set; takes effect when PostgreSQL restarts"]);
  });

  it.each([
    ["drctl wal push main %p --socket /run/drd/wal/main.sock", true],
    ["/usr/bin/drctl wal push main %p --socket /run/drd/wal/main.sock", true],
    ["/usr/bin/node /opt/drd/current/bin/drctl.js wal push main %p --socket /run/drd/wal/main.sock", true],
    ["drctl wal push main %p", false],
    ["drctl wal push main %p --socket /tmp/x.sock", false],
    ["notdrctl wal push main %p --socket /run/drd/wal/main.sock", false],
    ["wal push main %p --socket /run/drd/wal/main.sock", false],
  ])("%s is drd's archive_command for the job: %s", (actual, ok) => expect(archiveCommandMatches(actual, command)).toBe(ok));
});
