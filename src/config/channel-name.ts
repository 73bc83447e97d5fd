import { createHash } from "node:crypto";
import type { AlertConfig } from "./schema.js";

/**
 * The channel's identity, under which its outbox rows wait: its `name`, else its type and a
 * hash of where it delivers (`webhook-3f2a9c1e`). Adding a channel before it changes
 * nothing; editing an unnamed channel's destination makes a new channel.
 */
export function channelName(alert: AlertConfig): string {
  return alert.name ?? `${alert.type}-${createHash("sha256").update(`${alert.type}\n${destinationOf(alert)}`).digest("hex").slice(0, 8)}`;
}

/** Where a channel delivers, as its identity sees it. */
function destinationOf(alert: AlertConfig): string {
  switch (alert.type) {
    case "webhook":
      return alert.url;
    case "command":
      return JSON.stringify(alert.command);
    case "email":
      return JSON.stringify([alert.smtp.host, alert.smtp.port, alert.to]);
  }
}

/** The name the channel at `index` had before names were hashes (`webhook-1`): its waiting rows move to its new name. */
export function positionalName(alert: AlertConfig, index: number): string | undefined {
  return alert.name ? undefined : `${alert.type}-${index + 1}`;
}
