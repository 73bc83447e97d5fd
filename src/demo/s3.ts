import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";

/** A real S3-protocol server (s3rver) on 127.0.0.1, storing into a directory of its own. */
export class S3Server {
  private server: S3rver | undefined;
  port = 0;
  constructor(readonly directory = mkdtempSync(join(tmpdir(), "drd-s3-"))) {}

  /** Starts on `port` (0: a free one), with `buckets` made. */
  async start(port = 0, buckets: string[] = []): Promise<this> {
    this.server = new S3rver({ port, address: "127.0.0.1", silent: true, directory: this.directory, configureBuckets: buckets.map((name) => ({ name, configs: [] })) });
    this.port = (await this.server.run()).port;
    return this;
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }

  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.directory, { recursive: true, force: true });
  }
}

export function endpoint(port: number): string {
  return `http://127.0.0.1:${port}`;
}
