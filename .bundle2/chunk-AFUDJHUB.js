import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  OperationError,
  UsageError
} from "./chunk-RSPIC3EP.js";

// dist/new-file.js
import { chmod, writeFile } from "node:fs/promises";
async function createNewFile(path, text, mode, refusal) {
  try {
    await writeFile(path, text, { mode, flag: "wx" });
    await chmod(path, mode);
  } catch (err) {
    const code = err.code;
    if (code === "EEXIST")
      throw new UsageError(`${path} exists: ${refusal}`);
    throw new OperationError(`cannot write ${path}: ${code ?? err.message}`);
  }
}

export {
  createNewFile
};
