import { GetObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "vitest";
import { testClient } from "./s3.js";
import type { Workspace } from "./workspace.js";

/** Polls `test` every 250 ms until it holds (a throw counts as not yet); past `ms`, fails naming `what` and what `diagnose` adds. */
export async function waitFor(what: string, test: () => boolean | Promise<boolean>, ms = 60_000, diagnose: () => string = () => ""): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await test()) return;
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) {
      const more = diagnose();
      throw new Error(`timed out waiting for ${what}${more ? `: ${more}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A base backup of `job`, once the one the daemon's first start may run (the schedule's missed run) is done: its id. */
export async function baseBackup(ws: Workspace, job: string, ms = 120_000): Promise<string> {
  let run: Awaited<ReturnType<Workspace["drctl"]>> | undefined;
  await waitFor(
    "a base backup",
    async () => {
      run = await ws.drctl(["backup", job, "--json"]);
      return run.exitCode === 0 || !`${run.stdout}${run.stderr}`.includes("already running");
    },
    ms,
  );
  expect(run!.exitCode, `${run!.stdout}${run!.stderr}`).toBe(0);
  return (JSON.parse(run!.stdout) as { id: string }).id;
}

/**
 * Whether WAL record `name` of `job` reads whole from the test's S3 bucket. Being listed is
 * not enough: s3rver lists an object from the moment its upload begins, and keeps a cut-short
 * one when the upload is aborted (a daemon stopped mid-put), which no S3 does.
 */
export async function s3RecordWhole(port: number, bucket: string, job: string, name: string): Promise<boolean> {
  const got = await testClient(port).send(new GetObjectCommand({ Bucket: bucket, Key: `drd/${job}/wal/${name}.json` }));
  return (JSON.parse(await got.Body!.transformToString()) as { name?: string }).name === name;
}
