import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { execa } from "execa";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/files.js";
import { Workspace } from "../helpers/workspace.js";

const openDescriptors = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const setSoftLimit = (pid: number, n: number) => execa("prlimit", [`--pid=${pid}`, `--nofile=${n}:`]);
const softLimit = (pid: number) => Number(/^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"))![1]);

/** The daemon out of file descriptors: a run fails as a run, the process lives on, and the next run works. */
describe("a daemon with no descriptors left", () => {
  const ws = new Workspace();
  mkdirSync(ws.path("src"), { recursive: true });
  writeFileSync(ws.path("src", "app.conf"), "x = 1\n");
  ws.withJobs({ config: { type: "files", paths: [ws.path("src")], schedule: "*/2 * * * * *", rpo: "1d", targets: ["local"] } }, { metrics: { listen: "127.0.0.1:0" } });
  afterAll(() => ws.remove());

  it("an idle flood of the metrics port is capped; a run with no descriptors fails with its reason; the next one works", async () => {
    const { process: daemon, log } = ws.daemon();
    const runs = () => {
      const db = new Database(`${ws.stateDir}/catalog.sqlite`, { readonly: true });
      try {
        return db.prepare<[], { id: number; state: string; error: string | null }>(`SELECT id, state, error FROM runs ORDER BY id`).all();
      } finally {
        db.close();
      }
    };
    const sockets: Socket[] = [];
    try {
      const listen = await waitFor(() => /"listen":"([^"]+)","msg":"metrics served/.exec(log())?.[1], 30_000, "the metrics page");
      await waitFor(() => runs().some((r) => r.state === "succeeded") || undefined, 30_000, "a first backup");
      const pid = daemon.pid!;
      const base = openDescriptors(pid);

      // 300 idle connections to the metrics port hold at most the cap, and are closed soon after.
      const [host, port] = [listen.slice(0, listen.lastIndexOf(":")), Number(listen.slice(listen.lastIndexOf(":") + 1))];
      for (let i = 0; i < 300; i++) {
        const s = connect(port, host);
        s.on("error", () => undefined);
        sockets.push(s);
      }
      await new Promise((r) => setTimeout(r, 1_000));
      expect(openDescriptors(pid)).toBeLessThan(base + 32 + 10);
      await waitFor(() => openDescriptors(pid) <= base + 5 || undefined, 15_000, "the idle connections closed");
      expect((await fetch(`http://${listen}/metrics`)).status).toBe(200);

      // No descriptor left to start zstd with: the run fails, the daemon lives.
      const before = runs().length;
      const limit = softLimit(pid);
      await setSoftLimit(pid, openDescriptors(pid));
      const failed = await waitFor(() => runs().slice(before).find((r) => r.state === "failed"), 20_000, "a run that fails for lack of descriptors");
      expect(failed.error).toMatch(/EMFILE|too many open files/);
      expect(daemon.exitCode).toBeNull();

      await setSoftLimit(pid, limit);
      const after = runs().length;
      await waitFor(() => runs().slice(after).find((r) => r.state === "succeeded"), 20_000, "a run that works again");
      expect(log()).not.toContain("Unhandled");
      daemon.kill("SIGTERM");
      expect((await daemon).exitCode).toBe(0);
    } finally {
      for (const s of sockets) s.destroy();
      daemon.kill("SIGKILL");
    }
  });
});
