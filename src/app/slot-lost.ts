import { alertMessage } from "../alerts/message.js";
import type { ClusterJobConfig } from "../config/schema.js";
import type { SlotFound } from "../wal/slot.js";
import type { AppContext } from "./context.js";
import { notify } from "./notify.js";

/**
 * Whether the job's slot was lost: found missing (a failover, a restore promoted elsewhere, a
 * drop) or with lost WAL, though drd archived the job's WAL before (a slot not made yet is no loss).
 */
export function slotWasLost(ctx: AppContext, jobName: string, job: ClusterJobConfig, found: SlotFound): found is Exclude<SlotFound, "kept"> {
  return found !== "kept" && job.targets.some((t) => ctx.catalog.walSegments(jobName, t).length > 0);
}

/**
 * Tells a lost slot (made again by then): WAL written meanwhile may be missing from the
 * archive, so restores past that point are not assured until a new base backup; `healing`
 * says which one (the daemon starts one, or it is the base backup that found it).
 */
export function tellSlotLost(ctx: AppContext, jobName: string, slot: string, found: Exclude<SlotFound, "kept">, healing: string): void {
  const detail = found === "lost" ? `the replication slot ${slot} had lost WAL (wal_status lost)` : `the replication slot ${slot} was gone from the server (a failover or a restore promoted elsewhere?)`;
  ctx.catalog.addEvent({ at: ctx.now(), kind: "wal_slot_lost", job: jobName, detail });
  notify(ctx, alertMessage("wal_slot_lost", jobName, `${detail}: made again; WAL from before may be missing from the archive, so ${healing}`, { slot, found }, ctx.now()));
}
