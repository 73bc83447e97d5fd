import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy on 127.0.0.1 in front of a server, that can be cut mid-transfer (every
 * connection dropped, new ones refused) and brought back on the same port. It keeps the
 * request bytes' text so a test can see what was really sent.
 */
export class CutProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  bytesUp = 0;
  /** Latin-1 text of the first 4 KiB of every chunk sent upstream (headers live there). */
  sent = "";
  private cutAt = Infinity;
  onCut: (() => void) | undefined;

  constructor(private readonly upstreamPort: number) {}

  async listen(port = 0): Promise<this> {
    this.server = createServer((client) => {
      const upstream = createConnection({ host: "127.0.0.1", port: this.upstreamPort });
      this.sockets.add(client).add(upstream);
      client.on("data", (chunk: Buffer) => {
        this.bytesUp += chunk.length;
        this.sent += chunk.subarray(0, 4096).toString("latin1");
        if (this.bytesUp >= this.cutAt) void this.cut();
      });
      client.pipe(upstream).pipe(client);
      for (const s of [client, upstream]) {
        s.on("error", () => undefined);
        s.on("close", () => this.sockets.delete(s));
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(port, "127.0.0.1", resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /** Cut once `bytes` more request bytes have gone through. */
  cutAfter(bytes: number): void {
    this.cutAt = this.bytesUp + bytes;
  }

  async cut(): Promise<void> {
    this.cutAt = Infinity;
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.onCut?.();
  }

  async resume(): Promise<void> {
    await this.listen(this.port);
  }
}
