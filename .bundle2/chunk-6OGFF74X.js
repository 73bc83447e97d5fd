import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);

// dist/alerts/message.js
import { hostname } from "node:os";
var SEVERITY = {
  rpo_breach: "critical",
  rto_breach: "critical",
  backup_failed: "warning",
  copy_failed: "warning",
  policy_violation: "warning",
  verify_failed: "critical",
  drill_failed: "critical",
  rpo_recovered: "info",
  rto_recovered: "info",
  test: "info"
};
function alertMessage(event, job, message, details, at) {
  return { event, job, severity: SEVERITY[event], message, details, timestamp: new Date(at).toISOString(), host: hostname() };
}
function channelName(alert, index) {
  return alert.name ?? `${alert.type}-${index + 1}`;
}
function wants(alert, m) {
  if (m.event === "test")
    return true;
  if (alert.events && !alert.events.includes(m.event))
    return false;
  if (alert.jobs && (m.job === null || !alert.jobs.includes(m.job)))
    return false;
  return true;
}

export {
  alertMessage,
  channelName,
  wants
};
