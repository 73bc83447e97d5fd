import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { REPO } from "../helpers/workspace.js";

const drctl = (args: string[]) => execa("node", [`${REPO}/bin/drctl.js`, ...args], { reject: false, env: { DRD_CONFIG: "/nonexistent" } });

/** The commands a help page lists (the word before its arguments), without commander's own `help`. */
function commandsOf(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1] ?? "";
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((c) => c !== "help");
}

/** Every option of a help page with its description, continuation lines joined. */
function optionsOf(help: string): { flag: string; text: string }[] {
  const section = (help.split(/^Options:$/m)[1] ?? "").split(/^(Global Options|Commands):$/m)[0]!;
  return section
    .replace(/\n {8,}/g, " ")
    .split("\n")
    .filter((l) => l.startsWith("  -"))
    .map((l) => {
      const [, flag, text] = /^ {2}(\S.*?) {2,}(.*)$/.exec(l) ?? [l, l.trim(), ""];
      return { flag: flag!, text: text!.replace(/\s+/g, " ") };
    });
}

describe("drctl's help", () => {
  it("every command's help, down to subcommands, gives each option that takes a value its default or says it is required", async () => {
    const queue: string[][] = commandsOf((await drctl(["--help"])).stdout).map((c) => [c]);
    const seen: string[] = [];
    const missing: string[] = [];
    while (queue.length > 0) {
      const command = queue.shift()!;
      const help = await drctl([...command, "--help"]);
      expect(help.exitCode, command.join(" ")).toBe(0);
      seen.push(command.join(" "));
      for (const sub of commandsOf(help.stdout)) queue.push([...command, sub]);
      for (const o of optionsOf(help.stdout))
        if (o.flag.includes("<") && !/default|required/.test(o.text)) missing.push(`${command.join(" ")} ${o.flag}: ${o.text}`);
    }
    expect(seen).toEqual(expect.arrayContaining(["backup", "restore", "drill", "status", "events", "alerts test", "catalog rebuild", "audit verify", "keys init", "config check", "init"]));
    expect(missing).toEqual([]);
  });

  it("names every exit code, one a line, within 80 columns", async () => {
    const text = (await drctl(["--help"])).stdout;
    const help = text.replace(/\s+/g, " ");
    for (const code of ["0 success", "1 the operation failed", "2 bad usage or invalid config", "3 an integrity failure", "130 / 143 interrupted"]) expect(help).toContain(code);
    expect(text.split("\n").filter((l) => l.length > 80)).toEqual([]);
  });
});
