// s3rver ships no types; drd uses this much of it (the demo's and the tests' S3 server).
declare module "s3rver" {
  export default class S3rver {
    constructor(options: { port?: number; address?: string; silent?: boolean; directory: string; configureBuckets?: { name: string; configs: string[] }[] });
    run(): Promise<{ port: number }>;
    close(): Promise<void>;
  }
}
