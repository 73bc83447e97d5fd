import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  deliver
} from "./chunk-FXXG3BTG.js";
import "./chunk-G2AMMR5O.js";
import "./chunk-VKGJIJQW.js";
import "./chunk-RSPIC3EP.js";
import "./chunk-CB5SUWAA.js";
export {
  deliver
};
