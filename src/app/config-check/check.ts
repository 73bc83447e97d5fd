import type { Config } from "../../config/schema.js";
import { checkLocal } from "./local.js";
import { checkOnline } from "./online.js";
import { checkingAs } from "./principal.js";
import { Findings } from "./findings.js";

export interface ConfigCheckReport {
  /** The user whose access was judged. */
  checkedAs: string;
  findings: Findings;
}

/** Everything `drctl config check` checks of a config that validated; `online` also connects to servers and buckets. */
export async function checkConfig(config: Config, opts: { online: boolean }): Promise<ConfigCheckReport> {
  const findings = new Findings();
  const { who, name, asRoot } = await checkingAs(config.state_dir);
  if (asRoot) findings.warning("state_dir", `checked as root, which can read everything: run the check as the user drd runs as (sudo -u drd drctl config check), or create state_dir owned by that user`);
  await checkLocal(config, who, findings);
  if (opts.online) await checkOnline(config, findings);
  return { checkedAs: name, findings };
}
