// The JSON Schema of each command's --json output, generated from the types in
// src/cli/json-output.ts (ts-json-schema-generator), one file per command in docs/json/.
// `node scripts/json-output-schemas.mjs` rewrites them; a test fails when one is stale.
import { mkdirSync, writeFileSync } from "node:fs";
import { createGenerator } from "ts-json-schema-generator";

const repo = new URL("..", import.meta.url).pathname;
const OUTPUTS = {
  backup: "BackupOutput",
  list: "ListOutput",
  status: "StatusOutput",
  verify: "VerifyOutput",
  prune: "PruneOutput",
  replicate: "ReplicateOutput",
  events: "EventsOutput",
  drill: "DrillOutput",
  restore: "RestoreOutput",
  "config-check": "ConfigCheckOutput",
  "audit-verify": "AuditVerifyOutput",
  "alerts-test": "AlertsTestOutput",
  init: "InitOutput",
  "wal-setup": "WalSetupOutput",
  report: "ReportOutput",
  error: "ErrorOutput",
};

/** Command -> schema text, as committed. */
export function jsonOutputSchemas() {
  const generator = createGenerator({
    path: `${repo}src/cli/json-output.ts`,
    tsconfig: `${repo}tsconfig.json`,
    skipTypeCheck: true,
    additionalProperties: false,
    expose: "none",
    topRef: false,
  });
  return Object.fromEntries(
    Object.entries(OUTPUTS).map(([command, type]) => {
      const schema = { $id: `https://drd.invalid/json/${command}.schema.json`, title: `drctl ${command.replace("-", " ")} --json`, ...generator.createSchema(type) };
      return [command, `${JSON.stringify(schema, null, 2)}\n`];
    }),
  );
}

export { OUTPUTS };

if (import.meta.url === `file://${process.argv[1]}`) {
  mkdirSync(`${repo}docs/json`, { recursive: true });
  for (const [command, text] of Object.entries(jsonOutputSchemas())) writeFileSync(`${repo}docs/json/${command}.schema.json`, text);
  console.log(`wrote docs/json/*.schema.json (${Object.keys(OUTPUTS).length} commands)`);
}
