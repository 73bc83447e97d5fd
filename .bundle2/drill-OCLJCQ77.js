import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  drillFailure,
  runDrill
} from "./chunk-LUE555QW.js";
import "./chunk-SCCCN6II.js";
import "./chunk-3RFSNZYC.js";
import "./chunk-BDXB57VK.js";
import "./chunk-DUCIIMAT.js";
import "./chunk-G2AMMR5O.js";
import "./chunk-VKGJIJQW.js";
import "./chunk-6PXD3LAL.js";
import "./chunk-6XYF5PTU.js";
import "./chunk-TGE2FK6Q.js";
import "./chunk-GGBHMAI3.js";
import "./chunk-6OGFF74X.js";
import "./chunk-LJO7CHKX.js";
import "./chunk-KAQ4J7ZM.js";
import "./chunk-4A5XXJDO.js";
import "./chunk-GBAX6DVE.js";
import "./chunk-RSPIC3EP.js";
import "./chunk-FIZQLTWE.js";
import "./chunk-GBB4INLM.js";
import "./chunk-4KX4PRKL.js";
import "./chunk-CB5SUWAA.js";
export {
  drillFailure,
  runDrill
};
