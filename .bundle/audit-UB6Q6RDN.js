import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{audit,auditPath}from"./chunk-UFDBP6NE.js";import"./chunk-XZ5L2MEL.js";import"./chunk-RNQQKIBZ.js";export{audit,auditPath};
