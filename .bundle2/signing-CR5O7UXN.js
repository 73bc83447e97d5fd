import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  TrustStore,
  generateEncryptionKey,
  generateSigningKey,
  loadSigner
} from "./chunk-IYRTIMZK.js";
import "./chunk-RSPIC3EP.js";
import "./chunk-4KX4PRKL.js";
import "./chunk-CB5SUWAA.js";
export {
  TrustStore,
  generateEncryptionKey,
  generateSigningKey,
  loadSigner
};
