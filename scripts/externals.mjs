// The packages the bundle leaves out and loads from node_modules at run time: a native addon,
// a logger whose transports load modules by path, and CommonJS-only packages imported on demand
// (the metrics page, e-mail alerts). bundle.mjs marks them external; install.sh ships them and
// what they depend on, nothing else.
export const EXTERNALS = ["better-sqlite3", "pino", "pino-pretty", "prom-client", "nodemailer"];
