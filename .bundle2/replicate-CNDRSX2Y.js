import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  COPY_ALERT_ATTEMPTS,
  commitCopy,
  replicatePending
} from "./chunk-3KINAKSH.js";
import "./chunk-TGE2FK6Q.js";
import "./chunk-GGBHMAI3.js";
import "./chunk-6OGFF74X.js";
import "./chunk-KAQ4J7ZM.js";
import "./chunk-GBAX6DVE.js";
import "./chunk-RSPIC3EP.js";
import "./chunk-CB5SUWAA.js";
export {
  COPY_ALERT_ATTEMPTS,
  commitCopy,
  replicatePending
};
