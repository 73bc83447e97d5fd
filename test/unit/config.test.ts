import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { configJsonSchema } from "../../src/config/json-schema.js";
import { parseConfig } from "../../src/config/load.js";
import { ConfigError } from "../../src/errors.js";

const EXAMPLE = readFileSync(new URL("../../config/drd.example.yaml", import.meta.url), "utf8");

const base = () => ({
  state_dir: "/var/lib/drd",
  targets: { local: { type: "local", path: "/var/backups/drd" } },
  jobs: {
    database: { type: "postgres", connection: "postgresql://drd@localhost/app", schedule: "*/15 * * * *", rpo: "15m", targets: ["local"] },
  },
});

function problems(mutate: (c: ReturnType<typeof base> & Record<string, any>) => void): string[] {
  const config = base() as ReturnType<typeof base> & Record<string, any>;
  mutate(config);
  try {
    parseConfig(stringify(config));
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe("a value of the wrong type", () => {
  it.each([
    ["rpo: 15", (c: any) => (c.jobs.database.rpo = 15), "jobs.database.rpo: expected a duration like 15m, got the number 15"],
    ["copies: two", (c: any) => (c.policy = { copies: "two" }), 'policy.copies: expected a whole number, got the text "two"'],
    ["paths as a string", (c: any) => (c.jobs.files = { type: "files", paths: "/etc/app", schedule: "0 * * * *", rpo: "1h", targets: ["local"] }), 'jobs.files.paths: expected a list, got the text "/etc/app"'],
    ["keep_last: '5'", (c: any) => (c.targets.local.retention = { keep_last: "5" }), 'targets.local.retention.keep_last: expected a whole number, got the text "5"'],
    ["listen: 26464", (c: any) => (c.metrics = { listen: 26464 }), "metrics.listen: expected host:port, like 127.0.0.1:9464, got the number 26464"],
  ])("%s says what was expected and what was found, never 'is required'", (_name, mutate, message) => {
    expect(problems(mutate)).toEqual([message]);
  });
  it("a missing key is still 'is required'", () => {
    expect(problems((c) => delete (c.jobs.database as Record<string, unknown>).rpo)).toEqual(["jobs.database.rpo: is required"]);
  });
});

describe("config validation", () => {
  it("accepts the example config", () => {
    const config = parseConfig(EXAMPLE);
    expect(Object.keys(config.jobs)).toEqual(["database", "config", "certificates"]);
    expect(config.jobs.database!.rpo).toBe(900);
    expect(config.targets.offsite).toMatchObject({ type: "s3", media: "cloud", offsite: true });
  });

  it("fills defaults", () => {
    const config = parseConfig(stringify(base()));
    expect(config.policy).toEqual({ copies: 2, media: 2, offsite: 1 });
    expect(config.jobs.database).toMatchObject({ globals: true, compression: { algorithm: "zstd" } });
    expect(config.targets.local).toMatchObject({ media: "disk", offsite: false });
  });

  it.each([
    ["a cron step beyond the field", (c: any) => (c.jobs.database.schedule = "*/61 * * * *"),
      'jobs.database.schedule: invalid cron expression "*/61 * * * *": step 61 is out of range for the minute field (0-59)'],
    ["a seven-field cron", (c: any) => (c.jobs.database.schedule = "0 0 * * * * *"),
      'jobs.database.schedule: invalid cron expression "0 0 * * * * *": expected 5 fields (minute hour day month weekday) or 6 with a leading seconds field, got 7'],
    ["@reboot", (c: any) => (c.jobs.database.schedule = "@reboot"),
      'jobs.database.schedule: invalid cron expression "@reboot": unknown alias @reboot (use @hourly, @daily, @weekly, @monthly or @yearly)'],
    ["a seconds step beyond the field", (c: any) => (c.jobs.database.schedule = "*/60 * * * * *"),
      'jobs.database.schedule: invalid cron expression "*/60 * * * * *": step 60 is out of range for the second field (0-59)'],
    ["an hour out of range", (c: any) => (c.jobs.database.schedule = "0 24 * * *"),
      'jobs.database.schedule: invalid cron expression "0 24 * * *": Constraint error, got value 24 expected range 0-23'],
    ["a duration without unit", (c: any) => (c.jobs.database.rpo = "15"), 'jobs.database.rpo: invalid duration "15" (write e.g. 90s, 15m, 1h, 30d)'],
    ["a zero duration", (c: any) => (c.jobs.database.rpo = "0m"), 'jobs.database.rpo: invalid duration "0m" (write e.g. 90s, 15m, 1h, 30d)'],
    ["an unknown key", (c: any) => (c.jobs.database.shedule = "x"), "jobs.database.shedule: unknown key"],
    ["an unknown top-level key", (c: any) => (c.target = {}), "target: unknown key"],
    ["an unknown target", (c: any) => (c.jobs.database.targets = ["local", "offsite"]), 'jobs.database.targets[1]: unknown target "offsite"'],
    ["an unknown job type", (c: any) => (c.jobs.database.type = "mysql"), "jobs.database.type: must be one of postgres, files, postgres_cluster"],
    ["an unknown target type", (c: any) => (c.targets.local.type = "ftp"), "targets.local.type: must be one of local, s3"],
    ["a password in the connection", (c: any) => (c.jobs.database.connection = "postgresql://drd:pw@localhost/app"),
      "jobs.database.connection: must not contain a password; use password_file or .pgpass"],
    ["a relative path", (c: any) => (c.targets.local.path = "backups"), "targets.local.path: must be an absolute path"],
    ["a missing required key", (c: any) => delete c.jobs.database.rpo, "jobs.database.rpo: is required"],
    ["a gzip level above 9", (c: any) => (c.jobs.database.compression = { algorithm: "gzip", level: 12 }), "jobs.database.compression.level: gzip levels are 1 to 9"],
    ["an unknown compression", (c: any) => (c.jobs.database.compression = "lz4"), expect.stringMatching(/^jobs\.database\.compression: /)],
    ["a drill from a target the job does not use", (c: any) => (c.jobs.database.drill = { from: "elsewhere" }),
      'jobs.database.drill.from: "elsewhere" is not one of this job\'s targets'],
    ["drill sessions for a files job", (c: any) => (c.jobs.files = { type: "files", paths: ["/etc/app"], schedule: "0 * * * *", rpo: "1h", targets: ["local"], drill: { jobs: 2 } }), "jobs.files.drill.jobs: is for postgres jobs: a files drill extracts one stream"],
    ["no drill sessions", (c: any) => (c.jobs.database.drill = { jobs: 0 }), expect.stringMatching(/^jobs\.database\.drill\.jobs: /)],
    ["a job name with a slash", (c: any) => (c.jobs["a/b"] = c.jobs.database), expect.stringMatching(/^jobs\.a\/b: job names use letters/)],
    ["an unknown time zone", (c: any) => (c.timezone = "Mars/Olympus"), "timezone: unknown time zone"],
  ])("reports %s at its path", (_what, mutate, expected) => {
    expect(problems(mutate)).toEqual([expected]);
  });

  it("reports every problem at once", () => {
    const found = problems((c) => {
      c.jobs.database.schedule = "*/61 * * * *";
      c.jobs.database.rpo = "soon";
      c.targets.local.colour = "red";
    });
    expect(found).toHaveLength(3);
  });

  it("reports YAML syntax errors with line and column", () => {
    expect(() => parseConfig("jobs:\n  a: [1, 2\n", "drd.yaml")).toThrow(/^drd\.yaml:\d+:\d+: /);
    try {
      parseConfig("targets: {}\ntargets: {}\n", "drd.yaml");
    } catch (err) {
      expect((err as ConfigError).problems[0]).toMatch(/^drd\.yaml:2:1: Map keys must be unique/);
    }
  });
});

describe("the config's documentation", () => {
  it("config/drd.schema.json is what the schema generates (run `npm run gen:schema`)", () => {
    expect(readFileSync(new URL("../../config/drd.schema.json", import.meta.url), "utf8")).toBe(configJsonSchema());
  });

  it("the example config mentions every option of the schema", () => {
    const names = new Set<string>();
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === "object") {
        for (const [k, v] of Object.entries(node)) {
          if (k === "properties") Object.keys(v as object).forEach((n) => names.add(n));
          walk(v);
        }
      }
    };
    walk(JSON.parse(configJsonSchema()));
    const undocumented = [...names].filter((n) => !new RegExp(`\\b${n}:`).test(EXAMPLE));
    expect(undocumented).toEqual([]);
    expect(parse(EXAMPLE)).toBeTruthy();
  });
});

describe("a usage error", () => {
  it("is said as every error is, 'drctl: ...', with where to look", async () => {
    const { execa } = await import("execa");
    const bin = new URL("../../bin/drctl.js", import.meta.url).pathname;
    const run = await execa("node", [bin, "list", "--bogus"], { reject: false });
    expect(run.stderr).toBe("drctl: unknown option '--bogus' (drctl --help lists the commands; drctl COMMAND --help its options)");
    expect(run.exitCode).toBe(2);
  });
});
