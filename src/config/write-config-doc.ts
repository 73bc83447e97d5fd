import { readFileSync, writeFileSync } from "node:fs";
import { renderConfigDoc } from "./config-doc.js";
import { configJsonSchema } from "./json-schema.js";

// `npm run gen:schema`: rewrites docs/configuration.md (a test fails when it is stale).
const repo = new URL("../../", import.meta.url);
const example = readFileSync(new URL("config/drd.example.yaml", repo), "utf8");
writeFileSync(new URL("docs/configuration.md", repo), renderConfigDoc(JSON.parse(configJsonSchema()), example));
