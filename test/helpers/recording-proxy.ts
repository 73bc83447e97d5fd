import { createHash } from "node:crypto";
import { createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** base64 MD5 of the request body as it arrived. */
  bodyMd5: string;
  bodyBytes: number;
  /** When the request arrived and when its answer was sent (ms since the epoch). */
  arrivedAt: number;
  answeredAt: number;
}

/**
 * An HTTP proxy on 127.0.0.1 in front of the S3 server that records every request as the
 * SDK built it (method, URL, headers, the body's MD5) and can answer uploads as a
 * versioned bucket does (an x-amz-version-id header), which s3rver does not.
 */
export class RecordingProxy {
  private server: Server | undefined;
  readonly requests: Recorded[] = [];
  port = 0;
  private versions = 0;
  versioned = false;
  /** Holds every answer this long: requests then overlap, as on a slow link. */
  answerDelayMs = 0;
  /** Answers a request with this HTTP status instead of passing it on, when it returns one. */
  refuse: ((method: string, url: string) => number | undefined) | undefined;
  /**
   * Answers a request with this XML body instead of passing it on, when it returns one: what a
   * versioned bucket answers that s3rver cannot (ListObjectVersions with delete markers).
   */
  answer: ((method: string, url: string) => string | undefined) | undefined;

  constructor(private readonly upstreamPort: number) {}

  async listen(): Promise<this> {
    this.server = createServer((req, res) => {
      const md5 = createHash("md5");
      let bytes = 0;
      const record: Recorded = { method: req.method!, url: req.url!, headers: req.headers, bodyMd5: "", bodyBytes: 0, arrivedAt: Date.now(), answeredAt: 0 };
      // Recorded on arrival (in arrival order), completed as the body and the answer go by.
      this.requests.push(record);
      res.once("finish", () => (record.answeredAt = Date.now()));
      // Counted as the body arrives (a test can watch a streamed request), refused or not.
      req.on("data", (chunk: Buffer) => {
        md5.update(chunk);
        record.bodyBytes = bytes += chunk.length;
      });
      req.on("end", () => {
        record.bodyMd5 = md5.digest("base64");
        record.bodyBytes = bytes;
      });
      const answered = this.answer?.(req.method!, req.url!);
      if (answered !== undefined) {
        req.resume();
        req.on("end", () => res.writeHead(200, { "content-type": "application/xml" }).end(answered));
        return;
      }
      const refused = this.refuse?.(req.method!, req.url!);
      if (refused !== undefined) {
        req.resume();
        req.on("end", () => {
          res.writeHead(refused, { "content-type": "application/xml" }).end("<Error><Code>InternalError</Code><Message>refused by the test</Message></Error>");
        });
        return;
      }
      const upstream = request({ host: "127.0.0.1", port: this.upstreamPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        const headers = { ...answer.headers };
        const upload = req.method === "PUT" || (req.method === "POST" && req.url!.includes("uploadId="));
        if (this.versioned && upload && answer.statusCode === 200) headers["x-amz-version-id"] = `v${++this.versions}`;
        setTimeout(() => {
          res.writeHead(answer.statusCode!, headers);
          answer.pipe(res);
        }, this.answerDelayMs);
      });
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }
}
