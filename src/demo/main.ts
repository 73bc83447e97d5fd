/**
 * `npm start` without a config: the demo. Brings up a throwaway PostgreSQL with sample data,
 * an S3-protocol server, an alert receiver, keys and a config, runs the daemon on them, waits
 * until every job is green, then shows an RPO breach and its recovery. Ctrl-C stops it all
 * and removes what it made. DRD_DEMO_PACE=quick runs the same story in about a minute.
 */
import { fileURLToPath } from "node:url";
import { describeError } from "../errors.js";
import { PACES } from "./config.js";
import { canRun, daemonUser, Demo, removeAbandoned, sleep } from "./demo.js";
import { TRY_THESE } from "./try.js";

const began = Date.now();
const stamp = () => `[${String(Math.round((Date.now() - began) / 1000)).padStart(4)} s]`;
const say = (line: string) => console.log(`${stamp()} ${line}`);

async function main(): Promise<number> {
  const paceName = process.env.DRD_DEMO_PACE ?? "normal";
  const pace = PACES[paceName as keyof typeof PACES];
  if (!pace) {
    console.error(`demo: DRD_DEMO_PACE must be normal or quick, not ${paceName}`);
    return 2;
  }
  const program = fileURLToPath(new URL("../../bin/drctl.js", import.meta.url));
  const user = await daemonUser();
  if (user && !(await canRun(user, program))) {
    console.error(`demo: drd refuses to run as root, so the demo runs it as ${user.name}, who cannot read ${program}: put the checkout where other users can read it (say /opt or /tmp), or run npm start as an ordinary user`);
    return 1;
  }
  for (const dir of await removeAbandoned()) say(`removed ${dir}, left by a demo that was killed, with its daemon and PostgreSQL`);
  const demo = new Demo(program, user, say);
  let interrupted = false;
  const finished = new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      if (interrupted) return;
      interrupted = true;
      say(`${signal}: stopping the daemon, PostgreSQL and the S3 server, removing ${demo.root}`);
      void demo.stop().then(() => resolve(signal === "SIGINT" ? 130 : 143));
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });

  const story = async (): Promise<void> => {
    say(`setting up in ${demo.root}: PostgreSQL with sample data, an S3 server, an alert receiver, keys, a config`);
    await demo.start(pace, (a) => say(`ALERT received by the demo's webhook: ${a.event}${a.job ? ` (${a.job})` : ""}: ${a.message}`));
    say(`the daemon runs${user ? ` as ${user.name}` : ""} on ${demo.config}; its log: ${demo.log}`);
    say(`PostgreSQL: ${demo.cluster!.url("shop")}; jobs: database (every ${pace.database.every} s, RPO ${pace.database.rpo} s), config and certificates (every ${pace.files.every} s, encrypted certificates), cluster (base backups every ${pace.files.every} s, WAL streamed); drills every ${pace.drillEvery} s`);
    say(`metrics: curl -s http://127.0.0.1:${demo.metricsPort}/metrics | grep ^drd_`);
    const greenWithin = pace.drillEvery * 1000 + 120_000;
    const behind = await demo.waitUntilGreen(greenWithin);
    if (interrupted) return;
    if (behind.length > 0) {
      say(`not every job is green after ${greenWithin / 1000} s: ${behind.join(" | ")}; see ${demo.log}`);
      return;
    }
    say("every job is backed up to both targets, meets the 3-2-1 policy and passed a drill. drctl status says:");
    console.log(indent((await demo.run(["status"])).stdout));

    say(`now the database refuses connections until its RPO (${pace.database.rpo} s) is breached: backups fail, an alert goes out`);
    await demo.closeDatabase();
    const breachWithin = (pace.database.rpo + 2 * pace.database.every + 60) * 1000;
    const breach = await demo.waitForAlert("rpo_breach", "database", breachWithin);
    if (interrupted) return;
    await demo.reopenDatabase();
    if (!breach) {
      say(`no rpo_breach alert within ${breachWithin / 1000} s; see ${demo.log}`);
      return;
    }
    say("the database accepts connections again: the next backup ends the breach");
    const recovery = await demo.waitForAlert("rpo_recovered", "database", (2 * pace.database.every + 60) * 1000);
    if (interrupted) return;
    if (!recovery) {
      say(`no rpo_recovered alert; see ${demo.log}`);
      return;
    }
    console.log(tryThese(demo));
    say(`demo shown: breach alerted ${Math.round((breach.at - began) / 1000)} s and recovery ${Math.round((recovery.at - began) / 1000)} s after start. The daemon goes on; Ctrl-C stops everything and removes ${demo.root}`);
  };

  const failed = story().then(
    () => new Promise<number>(() => undefined),
    (err: unknown) => {
      if (!interrupted) say(`demo: ${describeError(err)}`);
      return demo.stop().then(() => 1);
    },
  );
  return Promise.race([finished, failed]);
}

function tryThese(demo: Demo): string {
  const width = Math.max(...TRY_THESE.map(([c]) => c.length));
  return [
    "",
    "  Try, in another terminal:",
    `    export PATH=${demo.root}:$PATH    # its drctl runs on the demo's config${demo.runsAs ? ` as ${demo.runsAs}` : ""}`,
    ...TRY_THESE.map(([command, what]) => `    ${command.padEnd(width)}  # ${what}`),
    "",
  ].join("\n");
}

const indent = (text: string) => text.replace(/^/gm, "    ");

main().then(
  async (code) => {
    await sleep(0);
    process.exit(code);
  },
  (err: unknown) => {
    console.error(`demo: ${describeError(err)}`);
    process.exit(1);
  },
);
