import { execa } from "execa";
import { describeError } from "../errors.js";
import type { Logger } from "./logger.js";

const SEND_TIMEOUT_MS = 10_000;

/**
 * Tells systemd how drd is doing (Type=notify): READY=1 once the daemon serves, STATUS=
 * lines naming what runs next, WATCHDOG=1 pings, STOPPING=1 on the way out.
 *
 * Node cannot send on a Unix datagram socket (its dgram module is UDP only), so each
 * message goes through systemd's own `systemd-notify`, which waits by default until the
 * service manager has read it (a barrier): the message is never lost to the race in which
 * a short-lived sender exits before PID 1 can tell which unit it came from. The unit
 * therefore sets NotifyAccess=all. Messages are sent one at a time, in order.
 *
 * The watchdog pings come from the event loop's own timer, so a loop that hangs (a stuck
 * synchronous call) stops them and systemd restarts the service.
 */
export class SystemdNotifier {
  private queue: Promise<void> = Promise.resolve();
  private watchdog: NodeJS.Timeout | undefined;
  private lastStatus = "";
  private warned = false;

  private constructor(
    private readonly log: Logger,
    /** Watchdog interval systemd expects, or undefined when none is set for this process. */
    private readonly watchdogUsec: number | undefined,
  ) {}

  /** A notifier when systemd started drd with a notify socket; undefined otherwise (a terminal, a test). */
  static fromEnv(env: NodeJS.ProcessEnv, log: Logger): SystemdNotifier | undefined {
    if (!env.NOTIFY_SOCKET) return undefined;
    const usec = Number(env.WATCHDOG_USEC);
    // WATCHDOG_PID names the process the watchdog is for; when it is another, drd is not watched.
    const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid;
    return new SystemdNotifier(log, Number.isFinite(usec) && usec > 0 && forUs ? usec : undefined);
  }

  /** READY=1 with a first status; starts the watchdog pings when systemd asked for them. */
  ready(status: string): Promise<void> {
    this.lastStatus = status;
    if (this.watchdogUsec !== undefined) {
      // Half the interval, as sd_watchdog_enabled(3) recommends: one late ping is not a restart.
      const everyMs = Math.max(100, Math.floor(this.watchdogUsec / 2000));
      this.watchdog = setInterval(() => void this.send(["WATCHDOG=1"]), everyMs);
      this.log.info({ every_ms: everyMs }, "systemd watchdog pings started");
    }
    return this.send(["READY=1", `STATUS=${status}`]);
  }

  /** STATUS= when it changed since the last one sent. */
  status(status: string): Promise<void> {
    if (status === this.lastStatus) return this.queue;
    this.lastStatus = status;
    return this.send([`STATUS=${status}`]);
  }

  reloading(): Promise<void> {
    return this.send(["RELOADING=1", "STATUS=reloading the config"]);
  }

  /** After a reload: READY=1 again with the new status. */
  reloaded(status: string): Promise<void> {
    this.lastStatus = status;
    return this.send(["READY=1", `STATUS=${status}`]);
  }

  /** STOPPING=1; the watchdog stops (a graceful stop may take longer than its interval). */
  stopping(status: string): Promise<void> {
    clearInterval(this.watchdog);
    this.watchdog = undefined;
    return this.send(["STOPPING=1", `STATUS=${status}`]);
  }

  /** Waits for what was queued. */
  async close(): Promise<void> {
    clearInterval(this.watchdog);
    await this.queue;
  }

  private send(fields: string[]): Promise<void> {
    this.queue = this.queue.then(async () => {
      try {
        await execa("systemd-notify", fields, { timeout: SEND_TIMEOUT_MS, stdin: "ignore" });
      } catch (err) {
        // Logged once: a failing notifier fails every ping the same way.
        if (!this.warned) this.log.warn({ error: describeError(err), fields: fields.map((f) => f.split("=")[0]) }, "could not notify systemd");
        this.warned = true;
      }
    });
    return this.queue;
  }
}
