import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** What the receiver kept of one alert. */
export interface ReceivedAlert {
  event: string;
  job: string | null;
  message: string;
  at: number;
}

/** The demo's alert channel: a webhook endpoint on loopback that hands every alert to `onAlert`. */
export class AlertReceiver {
  private server: Server | undefined;
  readonly received: ReceivedAlert[] = [];
  private waiters: { test: (a: ReceivedAlert) => boolean; resolve: (a: ReceivedAlert) => void }[] = [];

  constructor(private readonly onAlert: (alert: ReceivedAlert) => void) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => {
        body += chunk;
        if (body.length > 1 << 20) req.destroy();
      });
      req.on("end", () => {
        res.writeHead(200).end("ok");
        try {
          const json = JSON.parse(body) as { event?: unknown; job?: unknown; message?: unknown };
          const alert: ReceivedAlert = {
            event: String(json.event),
            job: typeof json.job === "string" ? json.job : null,
            message: typeof json.message === "string" ? json.message : "",
            at: Date.now(),
          };
          this.received.push(alert);
          this.onAlert(alert);
          this.waiters = this.waiters.filter((w) => !(w.test(alert) && (w.resolve(alert), true)));
        } catch {
          // Not an alert (a probe of the port): nothing to show.
        }
      });
    });
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/alerts`;
  }

  /** The first alert, received before or after this call, for which `test` holds; undefined after `ms`. */
  waitFor(test: (a: ReceivedAlert) => boolean, ms: number): Promise<ReceivedAlert | undefined> {
    const seen = this.received.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const waiter = { test, resolve: (a: ReceivedAlert | undefined) => (clearTimeout(timer), resolve(a)) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(undefined);
      }, ms);
      this.waiters.push(waiter);
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await closeServer(server);
  }
}

/** Closes an HTTP server now, its open connections with it. */
export async function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
