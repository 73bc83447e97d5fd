import { Document, isScalar, parse, stringify, visit } from "yaml";

/*
 * docs/configuration.md: every option of drd.yaml, rendered from the config's JSON Schema
 * (the one config/drd.schema.json holds) and the example config. Pure: `npm run gen:schema`
 * writes the result (write-config-doc.ts), a test compares it with the committed file.
 */

/** The parts of a JSON Schema (as z.toJSONSchema writes the config's) that the document uses. */
export interface JsonSchema {
  type?: string;
  const?: unknown;
  enum?: unknown[];
  description?: string;
  default?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  examples?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
}

type Block =
  | { kind: "variant"; path: string; discriminator: string; value: unknown; description?: string }
  | { kind: "key"; path: string; node: JsonSchema; required: boolean; when: string[]; examples: Examples; description?: string; default?: unknown };

/**
 * Example values for the key being rendered, best first: what the example config sets in this
 * variant, then in any variant, then what its commented-out lines set, in this variant and any.
 */
type Examples = [unknown[], unknown[], unknown[], unknown[]];

const code = (s: string) => (s.includes("`") ? `\`\` ${s} \`\`` : `\`${s}\``);
const yamlValue = (v: unknown) => stringify(v, { collectionStyle: "flow", lineWidth: 0 }).trim();
/** Markdown for a description: `<` outside code spans would start an HTML tag. */
const prose = (s: string) => s.split(/(`[^`]*`)/).map((part, i) => (i % 2 === 1 ? part : part.replaceAll("<", "&lt;"))).join("");

/** A multi-line example as YAML, lists of plain values kept on one line. */
function yamlBlock(key: string, value: unknown): string[] {
  const doc = new Document({ [key]: value });
  visit(doc, { Seq: (_, seq) => void (seq.flow = seq.items.every(isScalar)) });
  return doc.toString({ lineWidth: 0 }).trimEnd().split("\n");
}
const options = (n: JsonSchema) => (n.oneOf ?? n.anyOf)?.filter((o) => Object.keys(o).length > 0);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The property every option of a union fixes with a const (`type`, `mode`), if there is one. */
function discriminator(variants: JsonSchema[] | undefined): string | undefined {
  const first = variants?.[0]?.properties;
  if (!variants || variants.length < 2 || !first) return undefined;
  return Object.keys(first).find((k) => variants.every((v) => v.properties?.[k]?.const !== undefined));
}

export function typeText(n: JsonSchema): string {
  if (n.const !== undefined) return `${code(yamlValue(n.const))} (that value exactly)`;
  if (n.enum) return `one of ${n.enum.map((e) => code(yamlValue(e))).join(", ")}`;
  const union = options(n);
  if (union) {
    const d = discriminator(union);
    if (d) return `object, one of the \`${d}\` variants below`;
    return [...new Set(union.map(typeText))].join(" or ");
  }
  switch (n.type) {
    case "string":
      return n.pattern ? `string matching ${code(n.pattern)}` : "string";
    case "integer":
    case "number": {
      const max = n.maximum !== undefined && n.maximum < Number.MAX_SAFE_INTEGER ? n.maximum : undefined;
      if (n.minimum !== undefined && max !== undefined) return `${n.type}, ${n.minimum} to ${max}`;
      if (n.minimum !== undefined) return `${n.type}, at least ${n.minimum}`;
      return n.type;
    }
    case "array": {
      const item = n.items ? typeText(n.items) : "anything";
      return `list of ${/ or |, /.test(item) ? `(${item})` : item}${n.minItems ? `, at least ${n.minItems}` : ""}`;
    }
    case "object":
      if (n.properties) return `object with ${Object.keys(n.properties).map((k) => code(k)).join(", ")}`;
      if (isObject(n.additionalProperties)) return `map from names to ${typeText(n.additionalProperties)}`;
      return "object";
    default:
      return n.type ?? "anything";
  }
}

/** An example value from the schema alone, for a key the example config does not set. */
function derivedExample(n: JsonSchema, key: string): unknown {
  if (n.examples?.length) return n.examples[0];
  if (n.const !== undefined) return n.const;
  if (n.enum) return n.enum[0];
  if (n.default !== undefined && !(Array.isArray(n.default) && n.default.length === 0) && n.default !== "") return n.default;
  const union = options(n);
  if (union?.[0]) return derivedExample(union[0], key);
  switch (n.type) {
    case "boolean":
      return true;
    case "integer":
    case "number":
      return Math.max(n.minimum ?? 1, 1);
    case "array":
      return n.items && derivedExample(n.items, key) !== undefined ? [derivedExample(n.items, key)] : undefined;
    case "string":
      return key.endsWith("_file") ? `/etc/drd/${key.replace(/_file$/, "")}` : undefined;
    default:
      return undefined;
  }
}

/** The example config's values, its commented-out options included (`# key: value` lines). */
function exampleValues(yaml: string): (section: string) => Examples {
  const set = parse(yaml) as unknown;
  let commented: unknown;
  try {
    commented = parse(yaml.replace(/^(\s*)# (?=\s*(?:- )?[a-z_]+:(?:\s|$)|\s*- [[{])/gm, "$1"));
  } catch {
    commented = set;
  }
  const at = (doc: unknown, section: string) => (isObject(doc) && doc[section] !== undefined ? [doc[section]] : []);
  return (section) => [at(set, section), at(set, section), at(commented, section), at(commented, section)];
}

const child = (examples: Examples, key: string) => examples.map((t) => t.filter(isObject).map((e) => e[key]).filter((v) => v !== undefined)) as Examples;

function walk(n: JsonSchema, path: string, examples: Examples, when: string[], headings: boolean, out: Block[]): void {
  if (n.properties) {
    for (const [key, p] of Object.entries(n.properties)) {
      const at = `${path}.${key}`;
      const values = child(examples, key);
      out.push({ kind: "key", path: at, node: p, required: (n.required ?? []).includes(key) && p.default === undefined, when, examples: values });
      walk(p, at, values, when, headings, out);
    }
  }
  if (isObject(n.additionalProperties)) walk(n.additionalProperties, `${path}.<name>`, examples.map((t) => t.filter(isObject).flatMap((e) => Object.values(e))) as Examples, when, headings, out);
  if (n.type === "array" && n.items) walk(n.items, `${path}[]`, examples.map((t) => t.filter(Array.isArray).flat()) as Examples, when, headings, out);
  const union = options(n);
  if (!union) return;
  const d = discriminator(union);
  if (!d) {
    for (const o of union) walk(o, path, examples, when, headings, out);
    return;
  }
  const values = union.map((o) => o.properties![d]!.const);
  const of = (examples: Examples, value: unknown) => examples.map((t, i) => (i % 2 === 0 ? t.filter((e) => isObject(e) && e[d] === value) : t)) as Examples;
  if (!headings) {
    out.push({
      kind: "key",
      path: `${path}.${d}`,
      node: { enum: values },
      required: union.every((o) => o.required?.includes(d)) && !isObject(n.default),
      when,
      examples: child(examples, d),
      description: union.map((o) => o.properties![d]!.description ?? `${yamlValue(o.properties![d]!.const)}: ${o.description ?? ""}`.trim()).join(" "),
      default: isObject(n.default) ? n.default[d] : undefined,
    });
  }
  for (const o of union) {
    const value = o.properties![d]!.const;
    const rest: JsonSchema = { ...o, properties: Object.fromEntries(Object.entries(o.properties!).filter(([k]) => k !== d)) };
    if (headings) {
      out.push({ kind: "variant", path, discriminator: d, value, description: o.description });
      out.push({ kind: "key", path: `${path}.${d}`, node: o.properties![d]!, required: true, when, examples: child(of(examples, value), d), description: o.properties![d]!.description ?? "Selects this variant." });
      walk(rest, path, of(examples, value), when, false, out);
    } else {
      walk(rest, path, of(examples, value), [...when, `${code(`${path}.${d}`)} is ${code(yamlValue(value))}`], false, out);
    }
  }
}

function keyText(b: Extract<Block, { kind: "key" }>, heading: string): string[] {
  const key = b.path.slice(b.path.lastIndexOf(".") + 1).replace(/\[\]$/, "");
  const found = b.examples.find((t) => t.length > 0);
  const example = found ? found[0] : derivedExample(b.node, key);
  const inline = example !== undefined ? `${key}: ${yamlValue(example)}` : undefined;
  const dflt = b.default ?? b.node.default;
  const description = b.description ?? b.node.description;
  return [
    ...(heading ? [heading, ""] : []),
    ...(description ? [prose(description), ""] : []),
    `- Type: ${typeText(b.node)}`,
    `- Required: ${b.required ? "yes" : "no"}`,
    ...(dflt !== undefined ? [`- Default: ${code(yamlValue(dflt))}`] : []),
    ...(b.when.length > 0 ? [`- Only when ${b.when.join(" and ")}`] : []),
    ...(inline === undefined ? [] : inline.length <= 100 ? [`- Example: ${code(inline)}`] : ["- Example:", "", "  ```yaml", ...yamlBlock(key, example).map((l) => `  ${l}`), "  ```"]),
    "",
  ];
}

/** docs/configuration.md, from the config's JSON Schema and the example config's text. */
export function renderConfigDoc(schema: JsonSchema, exampleYaml: string): string {
  const sections = Object.keys(schema.properties ?? {});
  const examplesOf = exampleValues(exampleYaml);
  const lines = [
    "# drd configuration",
    "",
    "<!-- Generated by `npm run gen:schema` from src/config/schema.ts: do not edit by hand. -->",
    "",
    "Every option of drd's config file (`/etc/drd/drd.yaml`, or `--config`, or `$DRD_CONFIG`). This document is",
    "generated by `npm run gen:schema` from the config schema in `src/config/schema.ts` (the same JSON Schema",
    "editors get in `config/drd.schema.json`); do not edit it by hand: change the schema and run `npm run gen:schema`",
    "(a unit test fails while this file is stale). `config/drd.example.yaml` is a commented example config that",
    "sets every option; the examples below come from it where it sets the option. `drctl config check` validates a config.",
    "",
    "Reading the keys: `<name>` stands for a name you choose (a target's, a job's), `[]` for each entry of a list.",
    "\"Required\" is within the key's parent: `heartbeat.url` is required when there is a `heartbeat`. Unknown keys are",
    "errors. Durations are a whole number and a unit, `s` `m` `h` `d` or `w` (`90s`, `15m`, `30d`); rates a whole number",
    "and `B`, `KiB` or `MiB` per second (`64KiB/s`); schedules are cron expressions in `timezone` (five fields, six with",
    "a leading seconds field, or `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`). Paths are absolute.",
    "",
    `Sections: ${sections.map((s) => `[${code(s)}](#${s})`).join(", ")}.`,
    "",
  ];
  const required = schema.required ?? [];
  for (const section of sections) {
    const node = schema.properties![section]!;
    const examples = examplesOf(section);
    lines.push(`## ${code(section)}`, "");
    lines.push(...keyText({ kind: "key", path: section, node, required: required.includes(section) && node.default === undefined, when: [], examples }, ""));
    const blocks: Block[] = [];
    walk(node, section, examples, [], true, blocks);
    let underVariant = false;
    for (const b of blocks) {
      if (b.kind === "variant") {
        underVariant = true;
        lines.push(`### ${code(b.path)} with ${code(`${b.discriminator}: ${yamlValue(b.value)}`)}`, "");
        if (b.description) lines.push(prose(b.description), "");
      } else lines.push(...keyText(b, `${underVariant ? "####" : "###"} ${code(b.path)}`));
    }
  }
  return `${lines.join("\n").trimEnd()}\n`;
}
