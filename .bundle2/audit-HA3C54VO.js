import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  audit,
  auditPath
} from "./chunk-FIZQLTWE.js";
import "./chunk-GBB4INLM.js";
import "./chunk-CB5SUWAA.js";
export {
  audit,
  auditPath
};
