import { readFile } from "node:fs/promises";
import { OperationError } from "./errors.js";

/**
 * A secret (passphrase, password, webhook secret) read from its file, without the final
 * newline. The message names the file and never its content. A module of its own, so the
 * commands that need a secret do not load the OpenPGP code with it.
 */
export async function readSecretFile(path: string, what: string): Promise<string> {
  try {
    const text = (await readFile(path, "utf8")).replace(/\r?\n$/, "");
    if (!text) throw new OperationError(`${what} file ${path} is empty`);
    return text;
  } catch (err) {
    if (err instanceof OperationError) throw err;
    throw new OperationError(`cannot read ${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}
