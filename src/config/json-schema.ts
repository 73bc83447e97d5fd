import { z } from "zod";
import { configSchema } from "./schema.js";

/** The JSON Schema editors use for drd.yaml, generated from the same schema that validates it. */
export function configJsonSchema(): string {
  const schema = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" });
  return `${JSON.stringify({ ...schema, title: "drd configuration" }, null, 2)}\n`;
}
