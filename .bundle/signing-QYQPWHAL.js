import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{TrustStore,generateEncryptionKey,generateSigningKey,loadSigner}from"./chunk-X55PCTXF.js";import"./chunk-AJCN2VOP.js";import"./chunk-AEGWD7ST.js";import"./chunk-RNQQKIBZ.js";export{TrustStore,generateEncryptionKey,generateSigningKey,loadSigner};
