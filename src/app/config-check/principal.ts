import { statSync } from "node:fs";
import { userInfo } from "node:os";
import { execa } from "execa";
import type { Principal } from "../../config/access.js";

/**
 * The user a config check judges access for: the user running it, except for root, which
 * can read everything and would hide every problem: then the owner of the state dir (the
 * user drd runs as), judged from modes and owners.
 */
export async function checkingAs(stateDir: string): Promise<{ who: Principal; name: string; asRoot: boolean }> {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) return { who: { kind: "self" }, name: userInfo().username, asRoot: false };
  const owner = statSync(stateDir, { throwIfNoEntry: false })?.uid;
  if (owner === undefined || owner === 0) return { who: { kind: "self" }, name: "root", asRoot: true };
  const [name, groups] = await Promise.all([execa("id", ["-nu", String(owner)], { reject: false }), execa("id", ["-G", String(owner)], { reject: false })]);
  const gids = groups.exitCode === 0 ? groups.stdout.trim().split(/\s+/).map(Number) : [statSync(stateDir).gid];
  const label = name.exitCode === 0 ? name.stdout.trim() : `uid ${owner}`;
  return { who: { kind: "user", name: label, uid: owner, gids }, name: label, asRoot: false };
}
