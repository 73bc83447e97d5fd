import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{deliver}from"./chunk-BGAYKIE7.js";import"./chunk-RBLXVHCW.js";import"./chunk-I4V6ZVHV.js";import"./chunk-AJCN2VOP.js";import"./chunk-RNQQKIBZ.js";export{deliver};
