import { readFileSync } from "node:fs";

export const VERSION: string = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/**
 * Which build of VERSION this is: a hash of the bundle (scripts/bundle.mjs writes it beside
 * the code), so two installs of the same version number are told apart; "dev" when run
 * from the compiled sources.
 */
export const BUILD: string = readBuild();

function readBuild(): string {
  try {
    return readFileSync(new URL("./BUILD", import.meta.url), "utf8").trim() || "dev";
  } catch {
    return "dev";
  }
}
