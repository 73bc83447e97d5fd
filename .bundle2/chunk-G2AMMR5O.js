import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  OperationError
} from "./chunk-RSPIC3EP.js";

// dist/secret-file.js
import { readFile } from "node:fs/promises";
async function readSecretFile(path, what) {
  try {
    const text = (await readFile(path, "utf8")).replace(/\r?\n$/, "");
    if (!text)
      throw new OperationError(`${what} file ${path} is empty`);
    return text;
  } catch (err) {
    if (err instanceof OperationError)
      throw err;
    throw new OperationError(`cannot read ${what} file ${path}: ${err.code ?? err}`);
  }
}

export {
  readSecretFile
};
