import * as fs from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { configSchema, type S3TargetConfig } from "../../src/config/schema.js";
import { endpoint } from "../../src/demo/s3.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

export { endpoint, S3Server } from "../../src/demo/s3.js";

export function testClient(port: number): S3Client {
  return new S3Client({
    endpoint: endpoint(port),
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

let buckets = 0;
/** A fresh bucket per test file: names are unique within one run. */
export async function createBucket(port: number, hint = "t"): Promise<string> {
  const name = `drd-${hint}-${process.pid}-${++buckets}`.toLowerCase().slice(0, 63);
  await testClient(port).send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

/** An s3 target config as drd reads it (the schema's defaults filled in), for a target built in a test. */
export function parsedS3Target(raw: ReturnType<typeof s3TargetConfig>): S3TargetConfig {
  return configSchema.parse({ targets: { t: raw }, jobs: {} }).targets.t as S3TargetConfig;
}

/** An s3 target config for the test server, with credentials from files as production would. */
export function s3TargetConfig(dir: string, port: number, bucket: string, extra: Record<string, unknown> = {}) {
  const { writeFileSync } = fs;
  const idFile = join(dir, "s3-access-key-id");
  const secretFile = join(dir, "s3-secret-access-key");
  writeFileSync(idFile, "S3RVER\n", { mode: 0o600 });
  writeFileSync(secretFile, "S3RVER\n", { mode: 0o600 });
  return {
    type: "s3" as const,
    bucket,
    prefix: "drd/",
    region: "us-east-1",
    endpoint: endpoint(port),
    force_path_style: true,
    checksums: "when_required" as const,
    media: "cloud",
    offsite: true,
    access_key_id_file: idFile,
    secret_access_key_file: secretFile,
    ...extra,
  };
}

/** The usual 3-2-1 set-up: a local target and an s3 one (a fresh bucket, returned), policy 2/2/1. */
export async function writeLocalAndS3Config(
  ws: { dir: string; stateDir: string; backupDir: string; writeConfig(c: Record<string, unknown>): string },
  port: number,
  bucketHint: string,
  jobs: Record<string, Record<string, unknown>>,
): Promise<string> {
  const bucket = await createBucket(port, bucketHint);
  ws.writeConfig({
    state_dir: ws.stateDir,
    targets: { local: { type: "local", path: ws.backupDir }, offsite: s3TargetConfig(ws.dir, port, bucket) },
    policy: { copies: 2, media: 2, offsite: 1 },
    jobs,
  });
  return bucket;
}

/** Schedule, RPO and both targets, for jobs written to local and s3. */
export const BOTH_TARGETS = { schedule: "0 * * * *", rpo: "1h", targets: ["local", "offsite"] };
