import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  readSecretFile
} from "./chunk-G2AMMR5O.js";
import {
  execa
} from "./chunk-VKGJIJQW.js";

// dist/alerts/channels.js
import { createHmac } from "node:crypto";
import { readFile } from "node:fs/promises";
async function deliver(channel, m) {
  switch (channel.type) {
    case "webhook":
      return webhook(channel, m);
    case "command":
      return command(channel, m);
    case "email":
      return email(channel, m);
  }
}
async function webhook(c, m) {
  const body = JSON.stringify(m);
  const headers = { "content-type": "application/json", "user-agent": "drd" };
  if (c.headers_file)
    Object.assign(headers, parseHeaders(await readFile(c.headers_file, "utf8")));
  if (c.secret_file)
    headers["x-drd-signature"] = `sha256=${createHmac("sha256", await readSecretFile(c.secret_file, "webhook secret")).update(body).digest("hex")}`;
  let res;
  try {
    res = await fetch(c.url, { method: "POST", headers, body, signal: AbortSignal.timeout(c.timeout * 1e3) });
  } catch (err) {
    const e = err;
    throw new Error(e.name === "TimeoutError" ? `no answer within ${c.timeout} s` : e.cause?.code ?? e.message);
  }
  await res.body?.cancel();
  if (!res.ok)
    throw new Error(`HTTP ${res.status}`);
}
function parseHeaders(text) {
  const out = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (line.trim() && i > 0)
      out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}
async function command(c, m) {
  const env = { DRD_EVENT: m.event, DRD_JOB: m.job ?? "", DRD_SEVERITY: m.severity, DRD_MESSAGE: m.message, DRD_TIMESTAMP: m.timestamp, DRD_HOST: m.host };
  const result = await execa(c.command[0], c.command.slice(1), { input: JSON.stringify(m), env, reject: false, timeout: c.timeout * 1e3, forceKillAfterDelay: 2e3 });
  if (result.timedOut)
    throw new Error(`no exit within ${c.timeout} s`);
  if (result.exitCode !== 0)
    throw new Error(`${c.command[0]} exited ${result.exitCode ?? result.signal}${result.stderr ? `: ${String(result.stderr).trim().split("\n").pop()}` : ""}`);
}
async function email(c, m) {
  const { createTransport } = await import("./nodemailer-755RNRTR.js");
  const secure = c.smtp.secure ?? c.smtp.port === 465;
  const auth = c.smtp.user ? { user: c.smtp.user, pass: c.smtp.password_file ? await readSecretFile(c.smtp.password_file, "SMTP password") : "" } : void 0;
  const transport = createTransport({
    host: c.smtp.host,
    port: c.smtp.port,
    secure,
    requireTLS: !secure && c.smtp.require_tls,
    ...auth ? { auth } : {},
    connectionTimeout: c.timeout * 1e3,
    greetingTimeout: c.timeout * 1e3,
    socketTimeout: c.timeout * 1e3
  });
  try {
    await transport.sendMail({
      from: c.from,
      to: c.to,
      subject: `[drd ${m.severity}] ${m.event}${m.job ? ` ${m.job}` : ""} on ${m.host}`,
      text: `${m.message}

event: ${m.event}
job: ${m.job ?? "-"}
severity: ${m.severity}
host: ${m.host}
time: ${m.timestamp}

${JSON.stringify(m.details, null, 2)}
`
    });
  } catch (err) {
    throw new Error(err.message.split("\n")[0]);
  } finally {
    transport.close();
  }
}

export {
  deliver
};
