import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/files.js";
import { freePort } from "../helpers/postgres-cluster.js";
import { REPO, Workspace } from "../helpers/workspace.js";

const UNIT = join(REPO, "systemd/drd.service");

interface Notification {
  at: number;
  fields: string[];
}

/** A stand-in for PID 1's notify socket (test/helpers/notify-socket.py), collecting what drd tells it. */
function notifySocket(path: string) {
  const listener = execa("python3", [join(REPO, "test/helpers/notify-socket.py"), path], { reject: false });
  const received: Notification[] = [];
  let buffered = "";
  let listening = false;
  listener.stdout!.on("data", (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) {
      const message = JSON.parse(line);
      if (message.listening) listening = true;
      // BARRIER=1 is systemd-notify's own synchronisation, not something drd said.
      if (message.fields && !message.fields.includes("BARRIER=1")) received.push({ at: Date.now(), fields: message.fields.filter((f: string) => f) });
    }
  });
  return { listener, received, listening: waitFor(() => listening || undefined, 10_000, "the notify socket") };
}

describe("drd under systemd: Type=notify, status and watchdog", () => {
  const ws = new Workspace();
  mkdirSync(ws.path("src"), { recursive: true });
  writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
  afterAll(() => ws.remove());

  it("READY=1 once the metrics page answers, STATUS= naming the next run, WATCHDOG=1 at half the interval from the daemon itself, RELOADING=1 and STOPPING=1", async () => {
    const port = await freePort();
    ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "0 3 * * *", rpo: "1d", targets: ["local"] } }, { metrics: { listen: `127.0.0.1:${port}` } });
    const socketPath = ws.path("notify.sock");
    const systemd = notifySocket(socketPath);
    await systemd.listening;
    const daemon = ws.drctl(["daemon", "--allow-root"], { env: { NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: "1000000" } });
    try {
      const ready = await waitFor(() => systemd.received.find((n) => n.fields.includes("READY=1")), 30_000, "READY=1");
      // Ready means serving: the metrics page answers as soon as systemd is told.
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
      // No backup yet: the missed slot is caught up at start, and the status says so.
      expect(ready.fields).toEqual(["READY=1", expect.stringMatching(/^STATUS=1 job; running: backup config; next: backup config at \d{4}-\d\d-\d\dT03:00:00Z$/)]);
      expect(systemd.received.indexOf(ready)).toBe(0);
      // Once it is done the status is brought up to date.
      await waitFor(() => systemd.received.find((n) => /^STATUS=1 job; next: backup config at/.test(n.fields[0] ?? "")), 10_000, "the status after the catch-up");

      // WATCHDOG_USEC=1 s: a ping every 0.5 s.
      const pings = () => systemd.received.filter((n) => n.fields.includes("WATCHDOG=1"));
      const before = pings().length;
      await new Promise((r) => setTimeout(r, 2_600));
      expect(pings().length - before).toBeGreaterThanOrEqual(4);
      expect(pings().length - before).toBeLessThanOrEqual(7);

      // The pings come from the daemon's own event loop: a stopped daemon sends none.
      daemon.kill("SIGSTOP");
      await new Promise((r) => setTimeout(r, 300));
      const stoppedAt = pings().length;
      await new Promise((r) => setTimeout(r, 1_500));
      expect(pings().length).toBe(stoppedAt);
      daemon.kill("SIGCONT");
      await waitFor(() => pings().length > stoppedAt || undefined, 5_000, "pings after SIGCONT");

      daemon.kill("SIGHUP");
      const reloaded = await waitFor(() => {
        const i = systemd.received.findIndex((n) => n.fields.includes("RELOADING=1"));
        return i >= 0 ? systemd.received.slice(i).find((n) => n.fields.includes("READY=1")) : undefined;
      }, 10_000, "RELOADING=1 then READY=1");
      expect(reloaded.fields[1]).toMatch(/^STATUS=1 job; next: backup config at/);

      daemon.kill("SIGTERM");
      expect((await daemon).exitCode).toBe(0);
      expect(systemd.received.at(-1)?.fields).toEqual(["STOPPING=1", "STATUS=stopping: waiting for running work to clean up"]);
    } finally {
      daemon.kill("SIGKILL");
      systemd.listener.kill();
    }
  });

  it("without NOTIFY_SOCKET (a terminal, a plain service) the daemon runs and says nothing of systemd", async () => {
    const daemon = ws.drctl(["daemon", "--allow-root"], { env: { WATCHDOG_USEC: "1000000" } });
    let log = "";
    daemon.stdout!.on("data", (d: Buffer) => (log += d.toString()));
    await waitFor(() => log.includes('"msg":"scheduled"') || undefined, 30_000, "the daemon");
    daemon.kill("SIGTERM");
    expect((await daemon).exitCode).toBe(0);
    expect(log).not.toMatch(/systemd|notify/i);
  });
});

describe("the systemd unit", () => {
  it("scores 1.5 or less in systemd-analyze security --offline=true", async () => {
    const { stdout } = await execa("systemd-analyze", ["security", "--offline=true", "--no-pager", UNIT]);
    const score = Number(/Overall exposure level for drd\.service: ([\d.]+)/.exec(stdout)?.[1]);
    expect(score).toBeLessThanOrEqual(1.5);
  });

  it("passes systemd-analyze verify (with ExecStart pointing at this checkout's drctl)", async () => {
    const ws = new Workspace();
    try {
      const unit = readFileSync(UNIT, "utf8");
      expect(unit).toMatch(/^Type=notify$/m);
      expect(unit).toMatch(/^NotifyAccess=all$/m);
      expect(unit).toMatch(/^WatchdogSec=/m);
      // verify checks that ExecStart's program exists; the installed path is /usr/bin/drctl.
      writeFileSync(ws.path("drd.service"), unit.replace("ExecStart=/usr/bin/drctl", `ExecStart=${join(REPO, "bin/drctl.js")}`));
      const result = await execa("systemd-analyze", ["verify", ws.path("drd.service")], { reject: false });
      expect(result.stderr).toBe("");
      expect(result.exitCode).toBe(0);
    } finally {
      ws.remove();
    }
  });
});
