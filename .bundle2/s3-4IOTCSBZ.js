import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  S3Target,
  partSizeFor
} from "./chunk-4A5XXJDO.js";
import "./chunk-GBAX6DVE.js";
import "./chunk-RSPIC3EP.js";
import "./chunk-CB5SUWAA.js";
export {
  S3Target,
  partSizeFor
};
