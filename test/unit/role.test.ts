import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { parseConfig } from "../../src/config/load.js";
import { configChange } from "../../src/daemon/runtime.js";
import { ConfigError } from "../../src/errors.js";
import { dutiesOf, refusal } from "../../src/policy/role.js";

const config = (extra: Record<string, unknown> = {}) =>
  parseConfig(
    stringify({
      state_dir: "/var/lib/drd",
      targets: { local: { type: "local", path: "/var/backups/drd" } },
      jobs: { database: { type: "postgres", connection: "postgresql://drd@localhost/app", schedule: "*/15 * * * *", rpo: "15m", targets: ["local"] } },
      ...extra,
    }),
  );

describe("what runs in which role", () => {
  it("a server does everything and learns nothing from a target before a drill", () => {
    expect(dutiesOf("server")).toEqual({ backups: true, prune: true, replicate: true, wal: true, drills: true, learnBackupsFromTarget: false, measureRpo: true });
  });

  it("a drill host only drills, from what it reads on the target, and measures no RPO", () => {
    expect(dutiesOf("drills")).toEqual({ backups: false, prune: false, replicate: false, wal: false, drills: true, learnBackupsFromTarget: true, measureRpo: false });
  });

  it("refuses backup, prune and replicate on a drill host only", () => {
    for (const command of ["backup", "prune", "replicate"] as const) {
      expect(refusal("server", command)).toBeUndefined();
      expect(refusal("drills", command)).toBe(`this host is a drill host (role: drills): it never runs drctl ${command}; run it on the server that takes the backups`);
    }
  });
});

describe("role in the config", () => {
  it("is server unless set", () => {
    expect(config().role).toBe("server");
    expect(config({ role: "drills" }).role).toBe("drills");
  });

  it("accepts only server or drills", () => {
    expect(() => config({ role: "replica" })).toThrow(ConfigError);
  });

  it("cannot change on a reload: the daemon is restarted to take another role", () => {
    expect(() => configChange(config(), config({ role: "drills" }))).toThrow("role changed (server -> drills): restart drd to run in another role");
  });
});
