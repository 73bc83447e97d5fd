import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  GENESIS,
  actingAsDaemon,
  appendAudit,
  currentActor,
  verifyAudit
} from "./chunk-GBB4INLM.js";
import "./chunk-CB5SUWAA.js";
export {
  GENESIS,
  actingAsDaemon,
  appendAudit,
  currentActor,
  verifyAudit
};
