import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderConfigDoc, type JsonSchema } from "../../src/config/config-doc.js";
import { configJsonSchema } from "../../src/config/json-schema.js";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
const SCHEMA = JSON.parse(configJsonSchema()) as JsonSchema;

/** Every key that holds a value rather than more keys, by its documented path (`jobs.<name>.wal.mode`). */
function leafPaths(n: JsonSchema, path: string, out = new Set<string>()): Set<string> {
  for (const [key, p] of Object.entries(n.properties ?? {})) {
    const at = path ? `${path}.${key}` : key;
    if (leafPaths(p, at).size === 0) out.add(at);
    leafPaths(p, at, out);
  }
  if (typeof n.additionalProperties === "object") leafPaths(n.additionalProperties, `${path}.<name>`, out);
  if (n.items) leafPaths(n.items, `${path}[]`, out);
  for (const o of [...(n.oneOf ?? []), ...(n.anyOf ?? [])]) leafPaths(o, path, out);
  return out;
}

describe("docs/configuration.md", () => {
  const doc = renderConfigDoc(SCHEMA, read("config/drd.example.yaml"));

  it("is what the schema and the example config generate", () => {
    const committed = read("docs/configuration.md");
    if (committed !== doc) expect.fail("docs/configuration.md is stale: run `npm run gen:schema` (after `npm run build`) and commit the result");
  });

  it("documents every option of the schema, with a description", () => {
    const leaves = [...leafPaths(SCHEMA, "")];
    expect(leaves.length).toBeGreaterThan(80);
    const headings = new Set([...doc.matchAll(/^#+ `([^`]+)`$/gm)].map((m) => m[1]));
    expect(leaves.filter((p) => !headings.has(p))).toEqual([]);
    const undescribed = doc.split(/\n(?=#+ )/).filter((section) => /^#+ `[^`]+`\n\n- Type:/.test(section));
    expect(undescribed.map((s) => s.split("\n")[0])).toEqual([]);
  });
});

describe("renderConfigDoc", () => {
  const schema: JsonSchema = {
    type: "object",
    required: ["things"],
    properties: {
      things: {
        type: "object",
        description: "Things by name.",
        additionalProperties: {
          oneOf: [
            {
              type: "object",
              description: "A small thing.",
              required: ["type", "size"],
              properties: { type: { type: "string", const: "small" }, size: { type: "integer", minimum: 1, maximum: 9, description: "How small." } },
            },
            {
              type: "object",
              description: "A big thing.",
              required: ["type"],
              properties: {
                type: { type: "string", const: "big" },
                color: { type: "string", enum: ["red", "blue"], default: "red", description: "Its color." },
                mode: {
                  description: "How it moves.",
                  oneOf: [
                    { type: "object", required: ["kind"], properties: { kind: { type: "string", const: "walk", description: "walk: slowly." } } },
                    { type: "object", required: ["kind"], properties: { kind: { type: "string", const: "run", description: "run: fast." }, speed: { type: "integer", description: "How fast." } } },
                  ],
                },
              },
            },
          ],
        },
      },
    },
  };
  const doc = renderConfigDoc(schema, "things:\n  a: { type: small, size: 3 }\n  b:\n    type: big\n    # color: blue\n");

  it("renders each variant of a discriminated union, nested ones as conditions", () => {
    expect(doc).toContain("### `things.<name>` with `type: small`\n\nA small thing.\n");
    expect(doc).toContain("#### `things.<name>.size`\n\nHow small.\n\n- Type: integer, 1 to 9\n- Required: yes\n- Example: `size: 3`\n");
    expect(doc).toContain("### `things.<name>` with `type: big`\n\nA big thing.\n");
    expect(doc).toContain("#### `things.<name>.mode.kind`\n\nwalk: slowly. run: fast.\n\n- Type: one of `walk`, `run`\n- Required: yes\n");
    expect(doc).toContain("#### `things.<name>.mode.speed`\n\nHow fast.\n\n- Type: integer\n- Required: no\n- Only when `things.<name>.mode.kind` is `run`\n- Example: `speed: 1`\n");
  });

  it("takes examples from the example config, its commented-out lines too, and gives defaults", () => {
    expect(doc).toContain("#### `things.<name>.color`\n\nIts color.\n\n- Type: one of `red`, `blue`\n- Required: no\n- Default: `red`\n- Example: `color: blue`\n");
  });
});
