import { writeFileSync } from "node:fs";
import { configJsonSchema } from "./json-schema.js";

// `npm run gen:schema`: rewrites config/drd.schema.json (a test fails when it is stale).
writeFileSync(new URL("../../config/drd.schema.json", import.meta.url), configJsonSchema());
