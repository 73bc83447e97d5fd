import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { SMTPServer } from "smtp-server";
import { closeServer } from "../../src/demo/receiver.js";

/** A webhook receiver on 127.0.0.1 that records every POST; it can go down and come back on the same port. */
export class WebhookReceiver {
  private server: Server | undefined;
  port = 0;
  readonly received: { path: string; headers: IncomingHttpHeaders; body: string; json: { event: string; job: string | null } }[] = [];
  /** Heartbeat pings (bodies that are not JSON), by path. */
  readonly pings: string[] = [];

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        if (body.startsWith("{")) this.received.push({ path: req.url!, headers: req.headers, body, json: JSON.parse(body) });
        else this.pings.push(req.url!);
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await closeServer(server);
  }

  events(): string[] {
    return this.received.map((r) => r.json.event);
  }
}

/** An SMTP server on 127.0.0.1 (smtp-server) that records each message's envelope and text. */
export class MailReceiver {
  private server: SMTPServer | undefined;
  port = 0;
  readonly messages: { to: string[]; data: string }[] = [];

  async start(): Promise<this> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      onData: (stream, session, callback) => {
        let data = "";
        stream.on("data", (c: Buffer) => (data += c.toString()));
        stream.on("end", () => {
          this.messages.push({ to: session.envelope.rcptTo.map((r) => r.address), data });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The event of each message, read from its subject. */
  events(): string[] {
    return this.messages.map((m) => /^Subject: \[drd \w+\] (\w+)/m.exec(m.data)?.[1] ?? "?");
  }
}

/**
 * A peer that hangs: accepts every connection on 127.0.0.1, reads what is sent and never
 * answers. As a webhook, an SMTP server, a heartbeat or an S3 endpoint it is what a dead
 * proxy or a wedged server looks like from drd's side.
 */
export class Blackhole {
  private server: NetServer | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  connections = 0;

  async start(): Promise<this> {
    this.server = createNetServer((socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on("data", () => undefined);
      socket.on("error", () => undefined);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
