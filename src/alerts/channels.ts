import { createHmac } from "node:crypto";
import { readFile } from "node:fs/promises";
import { execa } from "execa";
import type { AlertConfig } from "../config/schema.js";
import { readSecretFile } from "../secret-file.js";
import { commandEnv } from "../child-env.js";
import { withoutCredentials } from "../config/url.js";
import type { AlertMessage } from "./message.js";

/**
 * Sends one message through one channel (durations in the config are seconds); rejects with a one-line reason when the channel
 * did not take it (an HTTP status other than 2xx, a command's exit code, an SMTP error),
 * so the outbox retries it. Secrets (the webhook secret, the SMTP password) are read from
 * their files at send time and appear in no message.
 */
export async function deliver(channel: AlertConfig, m: AlertMessage, signal?: AbortSignal): Promise<void> {
  // One deadline over the whole delivery, whatever stage hangs (connect, greeting, a reply
  // that never ends), and the caller's stop: the delivery is then abandoned and retried later.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new Error(`no answer within ${channel.timeout} s`)), channel.timeout * 1000);
  const stop = signal ? AbortSignal.any([deadline.signal, signal]) : deadline.signal;
  let fail = () => undefined as void;
  const abandoned = new Promise<never>((_, reject) => {
    fail = () => reject(stop.reason instanceof Error ? stop.reason : new Error(String(stop.reason)));
    if (stop.aborted) fail();
    else stop.addEventListener("abort", fail, { once: true });
  });
  abandoned.catch(() => undefined);
  try {
    await Promise.race([send(channel, m, stop), abandoned]);
  } finally {
    clearTimeout(timer);
    // The caller's signal lives as long as the daemon: a listener left on it would keep every delivery's state.
    stop.removeEventListener("abort", fail);
  }
}

/** The channel refused this message for good: sending it again would get the same answer. */
export class RefusedDelivery extends Error {}

function send(channel: AlertConfig, m: AlertMessage, signal: AbortSignal): Promise<void> {
  switch (channel.type) {
    case "webhook":
      return webhook(channel, m, signal);
    case "command":
      return command(channel, m, signal);
    case "email":
      return email(channel, m, signal);
  }
}

async function webhook(c: Extract<AlertConfig, { type: "webhook" }>, m: AlertMessage, signal: AbortSignal): Promise<void> {
  const body = JSON.stringify(m);
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "drd" };
  if (c.headers_file) Object.assign(headers, parseHeaders(await readFile(c.headers_file, "utf8")));
  if (c.secret_file) headers["x-drd-signature"] = `sha256=${createHmac("sha256", await readSecretFile(c.secret_file, "webhook secret")).update(body).digest("hex")}`;
  // Credentials in the URL go as a header: fetch refuses them in the URL, and its error would print them.
  const { url, authorization } = withoutCredentials(c.url);
  if (authorization && !headers.authorization) headers.authorization = authorization;
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers, body, signal });
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    const e = err as Error & { cause?: { code?: string } };
    throw new Error(e.cause?.code ?? e.message);
  }
  await res.body?.cancel();
  // A request the receiver refuses as such (4xx but a timeout or a rate limit) would be refused again.
  if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) throw new RefusedDelivery(`HTTP ${res.status}`);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}

function parseHeaders(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (line.trim() && i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

async function command(c: Extract<AlertConfig, { type: "command" }>, m: AlertMessage, signal: AbortSignal): Promise<void> {
  const env = { DRD_EVENT: m.event, DRD_JOB: m.job ?? "", DRD_SEVERITY: m.severity, DRD_MESSAGE: m.message, DRD_TIMESTAMP: m.timestamp, DRD_HOST: m.host };
  const result = await execa(c.command[0]!, c.command.slice(1), { input: JSON.stringify(m), env: commandEnv(env), extendEnv: false, reject: false, cancelSignal: signal, forceKillAfterDelay: 2_000 });
  if (result.isCanceled) throw signal.reason;
  if (result.exitCode !== 0) throw new Error(`${c.command[0]} exited ${result.exitCode ?? result.signal}${result.stderr ? `: ${String(result.stderr).trim().split("\n").pop()}` : ""}`);
}

async function email(c: Extract<AlertConfig, { type: "email" }>, m: AlertMessage, signal: AbortSignal): Promise<void> {
  const { createTransport } = await import("nodemailer");
  const secure = c.smtp.secure ?? c.smtp.port === 465;
  const auth = c.smtp.user ? { user: c.smtp.user, pass: c.smtp.password_file ? await readSecretFile(c.smtp.password_file, "SMTP password") : "" } : undefined;
  const transport = createTransport({
    host: c.smtp.host,
    port: c.smtp.port,
    secure,
    requireTLS: !secure && c.smtp.require_tls,
    ...(auth ? { auth } : {}),
    connectionTimeout: c.timeout * 1000,
    greetingTimeout: c.timeout * 1000,
    socketTimeout: c.timeout * 1000,
  });
  // nodemailer takes no signal: closing the transport ends a send in progress.
  const onStop = () => transport.close();
  signal.addEventListener("abort", onStop, { once: true });
  try {
    await transport.sendMail({
      from: c.from,
      to: c.to,
      subject: `[drd ${m.severity}] ${m.event}${m.job ? ` ${m.job}` : ""} on ${m.host}`,
      text: `${m.message}\n\nevent: ${m.event}\njob: ${m.job ?? "-"}\nseverity: ${m.severity}\nhost: ${m.host}\ntime: ${m.timestamp}\n\n${JSON.stringify(m.details, null, 2)}\n`,
    });
  } catch (err) {
    throw new Error((err as Error).message.split("\n")[0]);
  } finally {
    signal.removeEventListener("abort", onStop);
    transport.close();
  }
}
