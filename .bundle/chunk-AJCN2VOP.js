import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
var DrdError=class extends Error{constructor(message,options){super(message,options),this.name=new.target.name}},UsageError=class extends DrdError{exitCode=2},ConfigError=class extends DrdError{problems;exitCode=2;constructor(problems){super(problems.length===1?problems[0]:`${problems.length} problems in the config:
${problems.join(`
`)}`),this.problems=problems}},OperationError=class extends DrdError{exitCode=1},IntegrityError=class extends DrdError{exitCode=3};function exitCodeOf(err){return err instanceof DrdError?err.exitCode:1}function describeError(err){return err instanceof Error?err.message:String(err)}export{UsageError,ConfigError,OperationError,IntegrityError,exitCodeOf,describeError};
