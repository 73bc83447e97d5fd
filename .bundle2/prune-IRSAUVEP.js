import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  PRUNE_CHUNK,
  prune
} from "./chunk-S5M7RAYS.js";
import "./chunk-6PXD3LAL.js";
import "./chunk-6XYF5PTU.js";
import "./chunk-LJO7CHKX.js";
import "./chunk-KAQ4J7ZM.js";
import "./chunk-4A5XXJDO.js";
import "./chunk-GBAX6DVE.js";
import "./chunk-RSPIC3EP.js";
import "./chunk-FIZQLTWE.js";
import "./chunk-GBB4INLM.js";
import "./chunk-CB5SUWAA.js";
export {
  PRUNE_CHUNK,
  prune
};
