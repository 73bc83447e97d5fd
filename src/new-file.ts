import { chmod, writeFile } from "node:fs/promises";
import { OperationError, UsageError } from "./errors.js";

/**
 * Creates a file that must not exist yet (a key, a starting config), with exactly `mode`
 * whatever the umask (a public key is for others to read). An existing file is a usage
 * error saying `refusal`: drd never replaces one.
 */
export async function createNewFile(path: string, text: string, mode: number, refusal: string): Promise<void> {
  try {
    await writeFile(path, text, { mode, flag: "wx" });
    await chmod(path, mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new UsageError(`${path} exists: ${refusal}`);
    throw new OperationError(`cannot write ${path}: ${code ?? (err as Error).message}`);
  }
}
