import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{GENESIS,actingAsDaemon,appendAudit,currentActor,verifyAudit}from"./chunk-XZ5L2MEL.js";import"./chunk-RNQQKIBZ.js";export{GENESIS,actingAsDaemon,appendAudit,currentActor,verifyAudit};
