import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{S3Target,partSizeFor}from"./chunk-YBDMWUY2.js";import"./chunk-CBZOQL4A.js";import"./chunk-AJCN2VOP.js";import"./chunk-RNQQKIBZ.js";export{S3Target,partSizeFor};
